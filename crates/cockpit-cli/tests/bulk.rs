//! `--input`: many calls from JSON Lines, against the mock and servers that push back,
//! counted by what the server received.

use std::{
    collections::{BTreeMap, BTreeSet},
    io::BufRead,
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use cockpit::Uuid;
use cockpit_mock::{MockCloudCockpit, Outcome};
use cockpit_test_support::{CUSTOMER, PROVIDER_INSTANCE, TENANT, USER, cli, cli_env, stored_user};
use serde_json::Value;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

const BIN: &str = env!("CARGO_BIN_EXE_cockpit");

/// The environment for the mock with client credentials: one token fetch a process.
fn credentials_env(mock: &MockCloudCockpit) -> Vec<(&'static str, String)> {
    vec![
        ("COCKPIT_BASE_URL", mock.uri()),
        ("COCKPIT_TENANT", TENANT.to_string()),
        ("COCKPIT_CLIENT_ID", MockCloudCockpit::CLIENT_ID.to_string()),
        (
            "COCKPIT_CLIENT_SECRET",
            MockCloudCockpit::CLIENT_SECRET.to_string(),
        ),
        ("COCKPIT_TOKEN_URL", mock.token_url()),
    ]
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

/// Each result line by its line number.
fn by_line(results: &[Value]) -> BTreeMap<u64, &Value> {
    results
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r))
        .collect()
}

/// `n` lines, each with a user id of its own.
fn new_users(n: usize) -> String {
    (0..n)
        .map(|_| format!("{{\"user-id\": \"{}\"}}\n", Uuid::new_v4()))
        .collect()
}

/// `cockpit ARGS --input -` with `input` on its stdin, against `base` with a token.
async fn from_stdin(base: &str, args: &[&str], input: &str) -> cli::Run {
    let args = args.iter().chain(&["--input", "-"]);
    cli::run(BIN, args, cli_env(base), input, Stdio::piped()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn users_list_piped_into_reset_password_resets_every_user_once_with_one_token() {
    let mock = MockCloudCockpit::start().await;
    let customer = Uuid::new_v4();
    let ids: Vec<Uuid> = (0..25)
        .map(|n| mock.add_user(customer, stored_user(n)))
        .collect();
    let c = customer.to_string();
    let env = credentials_env(&mock);
    let listed = cli::run(
        BIN,
        [
            "users",
            "list",
            "--all",
            "--json",
            "--page-size",
            "10",
            "--customer-id",
            &c,
            "--provider-instance-id",
            PROVIDER_INSTANCE,
        ],
        env.clone(),
        "",
        Stdio::piped(),
    )
    .await;
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    assert_eq!(listed.stdout.lines().count(), 25);
    let tokens_before = mock.token_requests();

    let run = cli::run(
        BIN,
        [
            "reset-password",
            "--fetch-user",
            "--input",
            "-",
            "--concurrency",
            "4",
            "--customer-id",
            &c,
            "--provider-instance-id",
            PROVIDER_INSTANCE,
            "--json",
        ],
        env,
        &listed.stdout,
        Stdio::piped(),
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(
        mock.token_requests() - tokens_before,
        1,
        "one token for the whole run"
    );
    let results = json_lines(&run.stdout);
    let lines = by_line(&results);
    assert_eq!(
        lines.keys().copied().collect::<Vec<_>>(),
        (1..=25).collect::<Vec<_>>()
    );
    for (n, id) in ids.iter().enumerate() {
        let r = lines[&(n as u64 + 1)];
        assert_eq!(r["outcome"], "done", "{r}");
        assert_eq!(r["status"], 200);
        assert_eq!(r["result"]["customerUserId"], id.to_string());
        assert!(r["correlationId"].as_str().is_some_and(|s| s.len() == 36));
    }
    assert!(run.stderr.contains("\"done\":25"), "{}", run.stderr);

    // What arrived: one reset per user, with the details the API held for it.
    let resets = mock.received_resets().await;
    assert_eq!(resets.len(), 25);
    let mut seen = BTreeSet::new();
    for r in &resets {
        assert_eq!(r.operation, "resetCustomerUserPassword");
        assert_eq!(r.tenant.as_deref(), Some(TENANT));
        assert_eq!(r.param("customerId"), Some(c.as_str()));
        let id: Uuid = r.param("customerUserId").unwrap().parse().unwrap();
        let n = ids.iter().position(|i| *i == id).expect("a listed user");
        assert!(seen.insert(id), "{id} reset twice");
        let body: Value = r.body_as().unwrap();
        assert_eq!(body["providerInstanceId"], PROVIDER_INSTANCE);
        assert_eq!(body["customerUser"]["displayName"], format!("User {n}"));
        assert!(r.has_authorization());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_lines_are_reported_by_number_before_anything_is_sent_and_the_others_run() {
    let mock = cockpit_test_support::mock().await;
    let customer = Uuid::new_v4();
    let a = mock.add_user(customer, stored_user(1));
    let b = mock.add_user(customer, stored_user(2));
    let missing = Uuid::new_v4();
    let input = format!(
        "{{\"user-id\": \"{a}\"}}\n\
         not json\n\
         {{\"user-id\": \"{b}\", \"shoe-size\": 42}}\n\
         {{\"user-id\": \"not-a-uuid\"}}\n\
         \n\
         {{\"customerUserId\": \"{b}\", \"display-name\": \"Grace\"}}\n\
         {{\"user-id\": \"{a}\", \"display-name\": \"{}\"}}\n\
         {{\"user-id\": \"{missing}\"}}\n",
        "x".repeat(300)
    );
    let c = customer.to_string();
    let reset = [
        "reset-password",
        "--fetch-user",
        "--customer-id",
        &c,
        "--provider-instance-id",
        PROVIDER_INSTANCE,
    ];
    let run = from_stdin(&mock.uri(), &[&reset[..], &["--json"]].concat(), &input).await;
    assert_eq!(run.code, Some(8), "{}", run.stderr);
    let results = json_lines(&run.stdout);
    let lines = by_line(&results);
    // Line 5 is blank: not a line to run, and not counted.
    assert_eq!(
        lines.keys().copied().collect::<Vec<_>>(),
        [1, 2, 3, 4, 6, 7, 8]
    );
    let outcome = |n: u64| lines[&n]["outcome"].as_str().unwrap();
    let message = |n: u64| lines[&n]["message"].as_str().unwrap_or_default();
    assert_eq!(outcome(1), "done");
    assert_eq!(outcome(2), "invalid");
    assert!(
        message(2).starts_with("the line is not JSON"),
        "{}",
        message(2)
    );
    assert_eq!(outcome(3), "invalid");
    assert!(
        message(3).contains("unknown key \"shoe-size\""),
        "{}",
        message(3)
    );
    assert_eq!(outcome(4), "invalid");
    assert!(message(4).contains("'not-a-uuid'"), "{}", message(4));
    assert_eq!(outcome(6), "done", "the parameter name and a flag");
    assert_eq!(outcome(7), "invalid");
    assert!(message(7).contains("displayName"), "{}", message(7));
    assert_eq!(outcome(8), "failed");
    assert_eq!(lines[&8]["kind"], "not_found");
    assert_eq!(lines[&8]["mayHaveBeenProcessed"], false);

    // Two resets went out: line 1 as the API held the user, line 6 with its own name.
    let resets = mock.received_resets().await;
    assert_eq!(resets.len(), 2);
    let names: BTreeMap<String, String> = resets
        .iter()
        .map(|r| {
            let body: Value = r.body_as().unwrap();
            (
                r.param("customerUserId").unwrap().to_string(),
                body["customerUser"]["displayName"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(names[&a.to_string()], "User 1");
    assert_eq!(names[&b.to_string()], "Grace");
    let summary: Value = serde_json::from_str(run.stderr.lines().last().unwrap()).unwrap();
    assert_eq!(summary["summary"]["done"], 2);
    assert_eq!(summary["summary"]["invalid"], 4);
    assert_eq!(summary["summary"]["failedByKind"]["not_found"], 1);

    // The text summary names each line that did not succeed, by number.
    let text = from_stdin(&mock.uri(), &reset, &input).await;
    assert_eq!(text.code, Some(8));
    for n in [2, 3, 4, 7, 8] {
        assert!(
            text.stderr.contains(&format!("\n  line {n}: ")),
            "line {n}: {}",
            text.stderr
        );
    }
    assert!(text.stderr.contains("failed: not found"), "{}", text.stderr);
    assert_eq!(text.stdout.lines().count(), 2, "one line per reset done");

    // --fail-fast: nothing after the first failure is started.
    let before = mock.received_resets().await.len();
    // A line done does not stop the run; the first that fails does, and nothing after it
    // is started.
    let first_fails = format!(
        "{{\"user-id\": \"{a}\"}}\n{{\"user-id\": \"{missing}\"}}\n{{\"user-id\": \"{b}\"}}\n"
    );
    let one_at_a_time = ["--fail-fast", "--concurrency", "1"];
    let stopped = from_stdin(
        &mock.uri(),
        &[&reset[..], &one_at_a_time].concat(),
        &first_fails,
    )
    .await;
    assert_eq!(stopped.code, Some(8));
    assert!(stopped.stderr.contains("--fail-fast"), "{}", stopped.stderr);
    let resets = mock.received_resets().await;
    assert_eq!(resets.len(), before + 1, "line 1 only");
    assert_eq!(
        resets[before].param("customerUserId"),
        Some(a.to_string().as_str())
    );
    assert_eq!(stopped.stdout.lines().count(), 1, "line 1's reset, done");

    // With nothing failing, --fail-fast stops nothing and the summary does not say it did.
    let all_done = format!("{{\"user-id\": \"{a}\"}}\n{{\"user-id\": \"{b}\"}}\n");
    let run = from_stdin(
        &mock.uri(),
        &[&reset[..], &one_at_a_time].concat(),
        &all_done,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(!run.stderr.contains("--fail-fast"), "{}", run.stderr);
    assert_eq!(mock.received_resets().await.len(), before + 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_mid_way_resumes_and_sends_no_reset_twice() {
    let mock = cockpit_test_support::mock().await;
    // Slow answers, so that the kill finds resets in flight.
    mock.expect_reset_password()
        .delay(Duration::from_millis(150))
        .respond(Outcome::Ok)
        .await;
    let ids: Vec<Uuid> = (0..40).map(|_| Uuid::new_v4()).collect();
    let input: String = ids
        .iter()
        .map(|id| format!("{{\"user-id\": \"{id}\"}}\n"))
        .collect();
    let dir = std::env::temp_dir().join(format!("cockpit-bulk-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let input_path = dir.join("input.jsonl");
    std::fs::write(&input_path, &input).unwrap();
    let journal = dir.join("journal.jsonl");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "reset-password",
            "--input",
            input_path.to_str().unwrap(),
            "--journal",
            journal.to_str().unwrap(),
            "--concurrency",
            "4",
            "--customer-id",
            CUSTOMER,
            "--provider-instance-id",
            PROVIDER_INSTANCE,
            "--display-name",
            "Ada",
            "--json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };

    // The first run, killed (SIGKILL) once ten resets are journaled as done and at least
    // two more as started (sent, with no answer yet).
    let mut child = std::process::Command::new(BIN)
        .env_clear()
        .envs(cli_env(&mock.uri()))
        .args(args(&[]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(&journal).unwrap_or_default();
        let done = text.matches("\"state\":\"done\"").count();
        let sent = text.matches("\"state\":\"started\"").count();
        if done >= 10 && sent >= done + 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no progress: {text}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "ended by the signal");
    let first_run = mock.received_resets().await.len();
    assert!(first_run < 40, "killed before the end: {first_run}");

    // What the journal says of each line after the kill.
    let mut last: BTreeMap<u64, String> = BTreeMap::new();
    for l in std::fs::read_to_string(&journal).unwrap().lines() {
        let Ok(r) = serde_json::from_str::<Value>(l) else {
            continue; // a torn last record
        };
        if let (Some(n), Some(s)) = (r["line"].as_u64(), r["state"].as_str()) {
            last.insert(n, s.to_string());
        }
    }
    let done_before: BTreeSet<u64> = last
        .iter()
        .filter(|(_, s)| *s == "done")
        .map(|(n, _)| *n)
        .collect();
    let in_doubt: BTreeSet<u64> = last
        .iter()
        .filter(|(_, s)| *s == "started")
        .map(|(n, _)| *n)
        .collect();
    assert!(done_before.len() >= 10);
    assert!(!in_doubt.is_empty(), "the kill found resets in flight");
    eprintln!(
        "killed with {} lines done, {} in doubt, {} resets received",
        done_before.len(),
        in_doubt.len(),
        first_run
    );

    // The rerun: done lines skipped, lines in doubt reported and not sent, the rest done.
    let rerun = cli::run(BIN, args(&[]), cli_env(&mock.uri()), "", Stdio::piped()).await;
    let results = json_lines(&rerun.stdout);
    let lines = by_line(&results);
    assert_eq!(lines.len(), 40);
    for n in 1..=40u64 {
        let want = if done_before.contains(&n) {
            "skipped"
        } else if in_doubt.contains(&n) {
            "in doubt"
        } else {
            "done"
        };
        assert_eq!(lines[&n]["outcome"], want, "line {n}");
    }
    assert_eq!(
        rerun.code,
        Some(if in_doubt.is_empty() { 0 } else { 8 }),
        "{}",
        rerun.stderr
    );
    // The summary counts the same.
    let summary: Value = serde_json::from_str(rerun.stderr.lines().last().unwrap()).unwrap();
    assert_eq!(
        summary["summary"]["skipped"],
        done_before.len(),
        "{summary}"
    );
    assert_eq!(
        summary["summary"]["done"],
        40 - done_before.len() - in_doubt.len()
    );

    // From what the server received: no user reset twice, every line that is not in doubt
    // reset exactly once.
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for r in mock.received_resets().await {
        *count
            .entry(r.param("customerUserId").unwrap().to_string())
            .or_default() += 1;
    }
    for (i, id) in ids.iter().enumerate() {
        let n = i as u64 + 1;
        let got = count.get(&id.to_string()).copied().unwrap_or(0);
        if in_doubt.contains(&n) {
            assert!(got <= 1, "line {n} (in doubt) was sent {got} times");
        } else {
            assert_eq!(got, 1, "line {n}");
        }
    }

    // --resend-in-doubt sends the lines in doubt, and only them.
    let before = mock.received_resets().await.len();
    let resent = cli::run(
        BIN,
        args(&["--resend-in-doubt"]),
        cli_env(&mock.uri()),
        "",
        Stdio::piped(),
    )
    .await;
    assert_eq!(resent.code, Some(0), "{}", resent.stderr);
    assert_eq!(mock.received_resets().await.len(), before + in_doubt.len());

    // A changed input is named, and its changed line is not sent.
    let changed = input.replacen(&ids[0].to_string(), &Uuid::new_v4().to_string(), 1);
    std::fs::write(&input_path, changed).unwrap();
    let before = mock.received_resets().await.len();
    let run = cli::run(BIN, args(&[]), cli_env(&mock.uri()), "", Stdio::piped()).await;
    assert_eq!(run.code, Some(8));
    let results = json_lines(&run.stdout);
    let first = by_line(&results)[&1];
    assert_eq!(first["outcome"], "invalid");
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .contains("the input changed"),
        "{first}"
    );
    assert_eq!(mock.received_resets().await.len(), before);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A server that answers 429 (`Retry-After: 1`) to three requests in ten, and 200 to the
/// others; it counts them.
async fn throttling() -> (MockServer, Arc<AtomicUsize>) {
    let server = MockServer::start().await;
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    Mock::given(any())
        .respond_with(move |_: &wiremock::Request| {
            if matches!(c.fetch_add(1, Ordering::SeqCst) % 10, 2 | 5 | 8) {
                ResponseTemplate::new(429).insert_header("retry-after", "1")
            } else {
                ResponseTemplate::new(200)
            }
        })
        .mount(&server)
        .await;
    (server, count)
}

#[tokio::test(flavor = "multi_thread")]
async fn under_30_percent_429s_every_line_is_done_with_at_most_1_5_requests_a_line() {
    let (server, count) = throttling().await;
    let lines = 20;
    let input = new_users(lines);
    let args = [
        "reset-password",
        "--concurrency",
        "8",
        "--customer-id",
        CUSTOMER,
        "--provider-instance-id",
        PROVIDER_INSTANCE,
        "--display-name",
        "Ada",
        "--json",
    ];
    let run = from_stdin(&server.uri(), &args, &input).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let results = json_lines(&run.stdout);
    assert_eq!(results.len(), lines);
    assert!(results.iter().all(|r| r["outcome"] == "done"));
    let sent = count.load(Ordering::SeqCst);
    assert!(
        sent * 2 <= lines * 3,
        "{sent} requests for {lines} lines: at most 1.5 a line"
    );
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), sent);
    assert!(received.iter().all(|r| r.method.as_str() == "PATCH"));
}

#[tokio::test(flavor = "multi_thread")]
async fn when_every_answer_is_500_the_retry_budget_keeps_requests_under_1_2_a_line() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let lines = 1000;
    let input = new_users(lines);
    let args = [
        "users",
        "get",
        "--concurrency",
        "16",
        "--customer-id",
        CUSTOMER,
        "--json",
    ];
    let run = from_stdin(&server.uri(), &args, &input).await;
    assert_eq!(run.code, Some(8));
    let results = json_lines(&run.stdout);
    assert_eq!(results.len(), lines);
    assert!(
        results
            .iter()
            .all(|r| r["outcome"] == "failed" && r["kind"] == "server")
    );
    let sent = server.received_requests().await.unwrap();
    assert!(
        sent.len() * 10 < lines * 12,
        "{} requests for {lines} lines",
        sent.len()
    );
    assert!(sent.iter().all(|r| r.method.as_str() == "GET"));
    // The budget's 500 tokens pay for 100 retries of a GET, then each line goes once.
    assert_eq!(sent.len(), lines + 100);
    assert!(
        results
            .iter()
            .filter(|r| r["message"]
                .as_str()
                .unwrap()
                .contains("retry budget is spent"))
            .count()
            >= 900
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn users_list_exits_7_when_its_reader_goes_away() {
    let mock = cockpit_test_support::mock().await;
    let customer = Uuid::new_v4();
    for n in 0..3000 {
        mock.add_user(customer, stored_user(n));
    }
    let c = customer.to_string();
    let mut child = std::process::Command::new(BIN)
        .env_clear()
        .envs(cli_env(&mock.uri()))
        .args([
            "users",
            "list",
            "--all",
            "--json",
            "--page-size",
            "1000",
            "--customer-id",
            &c,
            "--provider-instance-id",
            PROVIDER_INSTANCE,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, as `head -1` does, and go away.
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("User 0"), "{first}");
    drop(stdout);
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(7));
}

#[tokio::test(flavor = "multi_thread")]
async fn max_response_body_is_a_flag_and_the_error_names_it() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"id": USER, "displayName": "x".repeat(2000)})),
        )
        .mount(&server)
        .await;
    let args = [
        "users",
        "get",
        "--customer-id",
        CUSTOMER,
        "--user-id",
        USER,
        "--max-response-body",
        "1024",
    ];
    let run = cli::run(BIN, args, cli_env(&server.uri()), "", Stdio::piped()).await;
    assert_eq!(run.code, Some(5), "{}", run.stderr);
    assert!(run.stderr.contains("over 1 KiB"), "{}", run.stderr);
    assert!(run.stderr.contains("--max-response-body"), "{}", run.stderr);
    let mut ok = args.to_vec();
    ok[7] = "4096";
    let run = cli::run(BIN, ok, cli_env(&server.uri()), "", Stdio::piped()).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

/// A generated subcommand with a body takes each line's body as JSON in the line itself;
/// a line cannot read stdin, nor take back a switch given on the command line.
#[tokio::test(flavor = "multi_thread")]
async fn a_generated_operation_takes_each_lines_body_inline() {
    let mock = cockpit_test_support::mock().await;
    mock.expect_reset_password().respond(Outcome::Ok).await;
    let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
    let mut input: String = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            let line = serde_json::json!({
                "customerId": CUSTOMER,
                "customerUserId": id,
                "body-json": {"providerInstanceId": PROVIDER_INSTANCE,
                              "customerUser": {"displayName": format!("Inline {n}"),
                                               "domain": "contoso.example",
                                               "location": "PT", "email": null}},
            });
            format!("{line}\n")
        })
        .collect();
    input.push_str(&format!(
        "{{\"customerId\": \"{CUSTOMER}\", \"customerUserId\": \"{USER}\", \"body-json\": \"-\"}}\n"
    ));
    // A body from a file, named by the line.
    let body_file = std::env::temp_dir().join(format!("cockpit-body-{}.json", Uuid::new_v4()));
    std::fs::write(
        &body_file,
        serde_json::json!({"providerInstanceId": PROVIDER_INSTANCE,
                           "customerUser": {"displayName": "From a file", "domain": "contoso.example",
                                            "location": "PT", "email": null}})
        .to_string(),
    )
    .unwrap();
    let from_file = Uuid::new_v4();
    input.push_str(&format!(
        "{}\n",
        serde_json::json!({"customerId": CUSTOMER, "customerUserId": from_file,
                           "body-json": body_file.to_str().unwrap()})
    ));
    // A body that the spec refuses (an empty customerUser): the SDK's check, before sending.
    input.push_str(&format!(
        "{{\"customerId\": \"{CUSTOMER}\", \"customerUserId\": \"{USER}\", \"body-json\": \
         {{\"providerInstanceId\": \"{PROVIDER_INSTANCE}\", \"customerUser\": {{}}}}}}\n"
    ));
    let run = from_stdin(
        &mock.uri(),
        &["reset-customer-user-password", "--json"],
        &input,
    )
    .await;
    assert_eq!(run.code, Some(8), "{}", run.stderr);
    let results = json_lines(&run.stdout);
    let lines = by_line(&results);
    for n in 1..=3 {
        assert_eq!(lines[&n]["outcome"], "done", "{}", lines[&n]);
    }
    assert_eq!(lines[&4]["outcome"], "invalid");
    assert!(
        lines[&4]["message"]
            .as_str()
            .unwrap()
            .contains("cannot read stdin"),
        "{}",
        lines[&4]
    );
    assert_eq!(
        lines[&5]["outcome"], "done",
        "the body from a file: {}",
        lines[&5]
    );
    assert_eq!(lines[&6]["outcome"], "invalid", "{}", lines[&6]);
    assert!(
        lines[&6]["message"]
            .as_str()
            .unwrap()
            .contains("missing field `displayName`"),
        "{}",
        lines[&6]
    );
    let resets = mock.received_resets().await;
    assert_eq!(resets.len(), 4);
    for r in &resets {
        let id = r.param("customerUserId").unwrap();
        let body: Value = r.body_as().unwrap();
        let name = match ids.iter().position(|i| i.to_string() == id) {
            Some(n) => format!("Inline {n}"),
            None => {
                assert_eq!(id, from_file.to_string());
                "From a file".to_string()
            }
        };
        assert_eq!(body["customerUser"]["displayName"], name);
        assert_eq!(body["providerInstanceId"], PROVIDER_INSTANCE);
    }
    let _ = std::fs::remove_file(body_file);

    // `false` cannot take back a switch of the command line: the line is refused, not run
    // as if it had said nothing.
    let line = format!("{{\"user-id\": \"{USER}\", \"fetch-user\": false}}\n");
    let reset = [
        "reset-password",
        "--fetch-user",
        "--customer-id",
        CUSTOMER,
        "--provider-instance-id",
        PROVIDER_INSTANCE,
        "--json",
    ];
    let run = from_stdin(&mock.uri(), &reset, &line).await;
    assert_eq!(run.code, Some(8), "{}", run.stderr);
    let result = &json_lines(&run.stdout)[0];
    assert_eq!(result["outcome"], "invalid");
    assert!(
        result["message"]
            .as_str()
            .unwrap()
            .contains("false cannot take back --fetch-user"),
        "{result}"
    );
    assert_eq!(
        mock.received_resets().await.len(),
        4,
        "nothing more was sent"
    );

    // A line can turn a switch on, and gives a plain flag no object.
    let stored = mock.add_user(cockpit_test_support::uuid(CUSTOMER), stored_user(7));
    let lines = format!(
        "{{\"user-id\": \"{stored}\", \"fetch-user\": true}}\n\
         {{\"user-id\": \"{stored}\", \"display-name\": {{\"first\": \"Ada\"}}}}\n\
         {{\"user-id\": \"{stored}\", \"fetch-user\": false, \"display-name\": \"Grace\"}}\n"
    );
    let without_fetch: Vec<&str> = reset
        .iter()
        .copied()
        .filter(|a| *a != "--fetch-user")
        .collect();
    let run = from_stdin(&mock.uri(), &without_fetch, &lines).await;
    assert_eq!(run.code, Some(8), "{}", run.stderr);
    let results = json_lines(&run.stdout);
    let lines = by_line(&results);
    assert_eq!(lines[&1]["outcome"], "done", "{}", lines[&1]);
    assert_eq!(lines[&2]["outcome"], "invalid", "{}", lines[&2]);
    assert!(
        lines[&2]["message"]
            .as_str()
            .unwrap()
            .contains("a flag's value is a string, a number or true/false"),
        "{}",
        lines[&2]
    );
    assert_eq!(
        lines[&3]["outcome"], "done",
        "false for a switch not given: off"
    );
    let resets = mock.received_resets().await;
    assert_eq!(resets.len(), 6);
    let names: BTreeSet<String> = resets[4..]
        .iter()
        .map(|r| {
            let body: Value = r.body_as().unwrap();
            body["customerUser"]["displayName"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["User 7".to_string(), "Grace".to_string()]),
        "line 1 fetched the user, as it asked; line 3 did not"
    );
}

/// A line that the API still throttles after the client's own retries was not processed:
/// it runs again, three times at most, and the journal keeps each line's status.
#[tokio::test(flavor = "multi_thread")]
async fn a_line_throttled_past_the_clients_retries_runs_again_three_times_at_most() {
    let (patient, hopeless) = (Uuid::new_v4(), Uuid::new_v4());
    let server = MockServer::start().await;
    let seen: Arc<std::sync::Mutex<BTreeMap<String, usize>>> = Arc::default();
    let counts = seen.clone();
    let hopeless_path = hopeless.to_string();
    Mock::given(any())
        .respond_with(move |r: &wiremock::Request| {
            let path = r.url.path().to_string();
            let mut counts = counts.lock().unwrap();
            let n = counts.entry(path.clone()).or_default();
            *n += 1;
            if path.ends_with(&hopeless_path) {
                // 429 without Retry-After, always.
                ResponseTemplate::new(429)
            } else if *n <= 3 {
                // The first run's three attempts are throttled; the rerun gets through.
                ResponseTemplate::new(429).insert_header("retry-after", "0")
            } else {
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": patient}))
            }
        })
        .mount(&server)
        .await;
    let dir = std::env::temp_dir().join(format!("cockpit-bulk-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let journal = dir.join("journal.jsonl");
    let input = format!("{{\"user-id\": \"{patient}\"}}\n{{\"user-id\": \"{hopeless}\"}}\n");
    let args = [
        "users",
        "get",
        "--customer-id",
        CUSTOMER,
        "--json",
        "--journal",
        journal.to_str().unwrap(),
    ];
    let run = from_stdin(&server.uri(), &args, &input).await;
    assert_eq!(run.code, Some(8), "{}", run.stderr);
    let results = json_lines(&run.stdout);
    let lines = by_line(&results);
    assert_eq!(lines[&1]["outcome"], "done", "{}", lines[&1]);
    assert_eq!(
        lines[&1]["status"], 200,
        "a convenience's line has its status too"
    );
    assert_eq!(lines[&1]["result"]["id"], patient.to_string());
    assert_eq!(lines[&2]["outcome"], "failed", "{}", lines[&2]);
    assert_eq!(lines[&2]["kind"], "too_many_requests");
    assert_eq!(lines[&2]["mayHaveBeenProcessed"], false);
    let seen = seen.lock().unwrap().clone();
    let requests = |id: &Uuid| {
        seen.iter()
            .find(|(path, _)| path.ends_with(&id.to_string()))
            .map(|(_, n)| *n)
    };
    assert_eq!(
        requests(&patient),
        Some(4),
        "three throttled attempts, then one rerun"
    );
    assert_eq!(
        requests(&hopeless),
        Some(12),
        "three attempts in each of the first run and its three reruns"
    );
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 16);
    assert!(received.iter().all(|r| r.method.as_str() == "GET"));

    // The journal keeps each line's end: status and correlation id, or the error's kind.
    let records: Vec<Value> = json_lines(&std::fs::read_to_string(&journal).unwrap());
    let done = records
        .iter()
        .find(|r| r["line"] == 1 && r["state"] == "done")
        .expect("line 1 done");
    assert_eq!(done["status"], 200);
    assert!(
        done["correlationId"]
            .as_str()
            .is_some_and(|c| c.len() == 36)
    );
    let failed = records
        .iter()
        .find(|r| r["line"] == 2 && r["state"] == "failed")
        .expect("line 2 failed");
    assert_eq!(failed["status"], 429);
    assert_eq!(failed["kind"], "too_many_requests");
    assert_eq!(failed["mayHaveBeenProcessed"], false);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Stdin cannot be the input and a flag's JSON at once; an input that cannot be read says
/// so for the line it reached.
#[tokio::test(flavor = "multi_thread")]
async fn stdin_serves_one_reader_and_an_unreadable_input_is_named() {
    let server = MockServer::start().await;
    let args = [
        "users",
        "update",
        "--customer-id",
        CUSTOMER,
        "--provider-instance-id",
        PROVIDER_INSTANCE,
        "--user-json",
        "-",
    ];
    let run = from_stdin(
        &server.uri(),
        &args,
        &format!("{{\"user-id\": \"{USER}\"}}\n"),
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("stdin is the input (--input -): give the other flag a file"),
        "{}",
        run.stderr
    );

    // A directory opens but does not read.
    let dir = std::env::temp_dir().join(format!("cockpit-bulk-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = cli::run(
        BIN,
        [
            "users",
            "get",
            "--customer-id",
            CUSTOMER,
            "--json",
            "--input",
            dir.to_str().unwrap(),
        ],
        cli_env(&server.uri()),
        "",
        Stdio::piped(),
    )
    .await;
    assert_eq!(run.code, Some(8), "{}", run.stderr);
    let result = &json_lines(&run.stdout)[0];
    assert_eq!(result["line"], 1);
    assert_eq!(result["outcome"], "invalid");
    assert!(
        result["message"].as_str().unwrap().starts_with("reading: "),
        "{result}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}
