//! The standalone server (`cargo run -p cockpit-mock`), with the `cockpit` CLI run against
//! it as an operator would: from the environment it prints.

use std::{
    io::{BufRead, BufReader, Lines},
    path::{Path, PathBuf},
    process::{Child, ChildStdout, Command, Stdio},
};

use cockpit_test_support::{CUSTOMER, PROVIDER_INSTANCE, USER, cli};

/// The `cockpit` binary, built now so that it matches this tree. It is built as
/// `cargo test --workspace` builds it, so that after that there is nothing to do (a
/// `-p cockpit-cli` build would resolve other features and rebuild half the dependency
/// tree); this covers `cargo test -p cockpit-mock`.
fn cockpit_binary() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    // Without the variables cargo set for this test (its package's name and manifest): a
    // build script that reads them (ring's) would otherwise rebuild, here and again in the
    // next plain cargo.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || name.starts_with("CARGO_BIN_EXE_")
            || matches!(
                name.as_str(),
                "CARGO_CRATE_NAME" | "CARGO_PRIMARY_PACKAGE" | "CARGO_TARGET_TMPDIR"
            )
        {
            command.env_remove(name);
        }
    }
    let status = command
        .args(["test", "--workspace", "--quiet", "--no-run"])
        .current_dir(cockpit_test_support::root())
        .status()
        .unwrap();
    assert!(status.success());
    PathBuf::from(env!("CARGO_BIN_EXE_cockpit-mock")).with_file_name("cockpit")
}

/// The standalone server on a free port with `seed` and `args`, once its banner says that
/// it `holds` what the seed has; its other lines, and the environment it printed for
/// client credentials (through its token endpoint; its static `COCKPIT_TOKEN` left out).
fn server(args: &[&str], seed: &Path, holds: &str) -> (Child, Lines<BufReader<ChildStdout>>, Env) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_cockpit-mock"))
        .args(["--port", "0"])
        .args(args)
        .arg("--seed")
        .arg(seed)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The first lines: the URL, then the environment for the CLI.
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let banner = lines.next().unwrap().unwrap();
    assert!(
        banner.starts_with("cockpit-mock listening on http://127.0.0.1:"),
        "{banner}"
    );
    assert!(banner.contains(holds), "{banner}");
    let env: Env = lines
        .by_ref()
        .take(7)
        .filter_map(|line| {
            let line = line.unwrap();
            let (name, value) = line.split_once('=')?;
            (name != "COCKPIT_TOKEN").then(|| (name.to_string(), value.to_string()))
        })
        .collect();
    assert_eq!(env.len(), 5, "{env:?}");
    (server, lines, env)
}

type Env = Vec<(String, String)>;

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_runs_against_the_standalone_server_which_stops_on_ctrl_c() {
    let cockpit = cockpit_binary();
    let seed = std::env::temp_dir().join(format!("cockpit-mock-seed-{}.json", std::process::id()));
    std::fs::write(
        &seed,
        serde_json::json!({"expectations": [{
            "operation": "getCustomerUser",
            "params": {"customerId": CUSTOMER, "customerUserId": USER},
            "body": {"id": USER, "displayName": "Ada Lovelace", "email": "ada@contoso.example",
                     "location": "PT", "domain": "contoso.example"}
        }]})
        .to_string(),
    )
    .unwrap();
    let (mut server, lines, env) = server(&[], &seed, "(0 customers, 1 expectations)");

    let run = cli::run(
        cockpit.to_str().unwrap(),
        [
            "get-customer-user",
            "--customer-id",
            CUSTOMER,
            "--customer-user-id",
            USER,
        ],
        env.clone(),
        "",
        Stdio::piped(),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let printed: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(printed["displayName"], "Ada Lovelace");
    assert_eq!(printed["id"], USER);

    // A user the seed does not know: the mock's 404.
    let run = cli::run(
        cockpit.to_str().unwrap(),
        [
            "get-customer-user",
            "--customer-id",
            USER,
            "--customer-user-id",
            USER,
        ],
        env,
        "",
        Stdio::piped(),
    )
    .await;
    assert_eq!(run.code, Some(4), "{}", run.stderr);

    // Ctrl-C (SIGINT) stops it cleanly.
    let stopped = Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = server.wait().unwrap();
    assert!(status.success(), "{status}");
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    assert_eq!(
        rest.last().map(String::as_str),
        Some("cockpit-mock: stopped"),
        "{rest:?}"
    );
    let _ = std::fs::remove_file(seed);
}

/// Issue 20's pipeline, as the README gives it, against the standalone server in its
/// realistic mode (the users carry properties the spec does not have, and nulls):
/// `users list --all --json | reset-password --fetch-user --input - --journal J`, then the
/// same again, which the journal turns into a run that sends no reset.
#[tokio::test(flavor = "multi_thread")]
async fn users_list_piped_into_reset_password_resets_every_user_of_the_standalone_server() {
    const USERS: usize = 12;
    let cockpit = cockpit_binary();
    let dir = std::env::temp_dir().join(format!("cockpit-mock-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed = dir.join("seed.json");
    let users: Vec<_> = (0..USERS)
        .map(|i| {
            serde_json::json!({"displayName": format!("User {i}"), "email": null,
                               "location": "PT", "domain": "contoso.example"})
        })
        .collect();
    std::fs::write(
        &seed,
        serde_json::json!({"customers": [{"id": CUSTOMER, "users": users}]}).to_string(),
    )
    .unwrap();
    // Its stdout is dropped here: the server must still stop cleanly when it is closed.
    let (mut server, _, env) = server(&["--realistic"], &seed, "(1 customers, 0 expectations)");
    let journal = dir.join("journal.jsonl");
    let pipeline = || {
        let ids = [
            "--customer-id",
            CUSTOMER,
            "--provider-instance-id",
            PROVIDER_INSTANCE,
        ];
        let mut list = Command::new(&cockpit)
            .env_clear()
            .envs(env.iter().cloned())
            .args(["users", "list", "--all", "--json"])
            .args(ids)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let reset = Command::new(&cockpit)
            .env_clear()
            .envs(env.iter().cloned())
            .args([
                "reset-password",
                "--fetch-user",
                "--input",
                "-",
                "--json",
                "--journal",
            ])
            .arg(&journal)
            .args(ids)
            .stdin(list.stdout.take().unwrap())
            .output()
            .unwrap();
        assert!(list.wait().unwrap().success());
        let stdout = String::from_utf8(reset.stdout).unwrap();
        let stderr = String::from_utf8(reset.stderr).unwrap();
        assert_eq!(reset.status.code(), Some(0), "{stdout}\n{stderr}");
        let results: Vec<serde_json::Value> = stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let mut numbers: Vec<u64> = results
            .iter()
            .map(|r| r["line"].as_u64().unwrap())
            .collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=USERS as u64).collect::<Vec<_>>(), "{stdout}");
        results
    };

    let first = pipeline();
    for result in &first {
        assert_eq!(result["outcome"], "done", "{result}");
        assert_eq!(result["status"], 200, "{result}");
        assert!(
            result["correlationId"]
                .as_str()
                .is_some_and(|c| c.len() == 36),
            "{result}"
        );
    }
    let journaled = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(
        journaled.matches(r#""state":"done""#).count(),
        USERS,
        "{journaled}"
    );
    // The same pipeline again: every line is done in the journal, so nothing is sent.
    let second = pipeline();
    for result in &second {
        assert_eq!(result["outcome"], "skipped", "{result}");
    }

    let stopped = Command::new("kill")
        .args(["-INT", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(server.wait().unwrap().success());
    let _ = std::fs::remove_dir_all(dir);
}
