//! `target/release/bulk`: many resets through the CLI, against the mock on loopback.
//!
//! Side by side, in one run:
//!
//! 1. **one process a call**: `cockpit reset-password …` run once per reset, as a shell
//!    loop would, each process fetching its own token (client credentials);
//! 2. **`--input`**: the same resets as JSON Lines through one `cockpit reset-password
//!    --input FILE --concurrency 16`, at 1,000 and at 10,000 lines, then at 10,000 with
//!    `--journal` (synced to disk as lines end).
//!
//! For each: resets a second, token fetches (from the mock's count), and the peak resident
//! memory of the `cockpit` process (from /usr/bin/time). The mock runs in this process, so
//! its memory is not the CLI's. Needs `target/release/cockpit` (`cargo build --release -p
//! cockpit-cli`).

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context, Result, bail};
use cockpit_mock::{MockCloudCockpit, Outcome};

const CUSTOMER: &str = "3f1c9a52-8a7e-4d7c-9a55-0c1e2b3d4f50";
const PROVIDER_INSTANCE: &str = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d";

fn usage() -> &'static str {
    "usage: bulk [--loop N] [--lines N,..] [--concurrency N]\n\
     defaults: --loop 200 --lines 1000,10000 --concurrency 16"
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut loop_calls = 200usize;
    let mut sizes = vec![1_000usize, 10_000];
    let mut concurrency = 16u16;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--loop" => loop_calls = it.next().context(usage())?.parse()?,
            "--lines" => {
                sizes = it
                    .next()
                    .context(usage())?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
            }
            "--concurrency" => concurrency = it.next().context(usage())?.parse()?,
            _ => bail!("{}", usage()),
        }
    }
    let bin = workspace().join("target/release/cockpit");
    if !bin.exists() {
        bail!("no {bin:?}: cargo build --release -p cockpit-cli");
    }
    let mock = MockCloudCockpit::start().await;
    mock.expect_reset_password().respond(Outcome::Ok).await;
    let env = [
        ("COCKPIT_BASE_URL", mock.uri()),
        ("COCKPIT_TENANT", MockCloudCockpit::TENANT.to_string()),
        ("COCKPIT_CLIENT_ID", MockCloudCockpit::CLIENT_ID.to_string()),
        (
            "COCKPIT_CLIENT_SECRET",
            MockCloudCockpit::CLIENT_SECRET.to_string(),
        ),
        ("COCKPIT_TOKEN_URL", mock.token_url()),
    ];
    let dir = std::env::temp_dir().join(format!("cockpit-bulk-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    println!("| run | resets | resets/s | token fetches | peak RSS of cockpit |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    let looped = one_process_a_call(&bin, &env, loop_calls, &mock).await?;
    let mut fastest = 0.0_f64;
    // Each size without a journal, then the largest with one (synced to disk as lines end).
    let runs = sizes
        .iter()
        .map(|&n| (n, false))
        .chain(sizes.iter().max().map(|&n| (n, true)));
    for (lines, journaled) in runs {
        let input = dir.join(format!("input-{lines}.jsonl"));
        let journal = dir.join(format!("journal-{lines}.jsonl"));
        let text: String = (0..lines)
            .map(|i| format!("{{\"user-id\": \"00000000-0000-4000-8000-{i:012}\"}}\n"))
            .collect();
        std::fs::write(&input, text)?;
        let tokens = mock.token_requests();
        let resets = mock.received_resets().await.len();
        let started = Instant::now();
        let mut cmd = Command::new(&bin);
        if journaled {
            cmd.arg("--journal").arg(&journal);
        }
        let (code, rss) = timed(
            cmd.env_clear()
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                .args([
                    "reset-password",
                    "--input",
                    input.to_str().context("path")?,
                    "--concurrency",
                    &concurrency.to_string(),
                    "--customer-id",
                    CUSTOMER,
                    "--provider-instance-id",
                    PROVIDER_INSTANCE,
                    "--display-name",
                    "Ada",
                    "--json",
                ]),
        )
        .await?;
        let took = started.elapsed().as_secs_f64();
        if code != Some(0) {
            bail!("the --input run ended with {code:?}");
        }
        let sent = mock.received_resets().await.len() - resets;
        if sent != lines {
            bail!("{sent} resets arrived for {lines} lines");
        }
        if journaled {
            let done = std::fs::read_to_string(&journal)?
                .lines()
                .filter(|l| l.contains(r#""state":"done""#))
                .count();
            if done != lines {
                bail!("the journal has {done} lines done of {lines}");
            }
        }
        let rate = lines as f64 / took;
        if !journaled {
            fastest = fastest.max(rate);
        }
        println!(
            "| `--input`, --concurrency {concurrency}{} | {lines} | {rate:.0} | {} | {rss} KiB |",
            if journaled { ", --journal" } else { "" },
            mock.token_requests() - tokens
        );
    }
    let again = one_process_a_call(&bin, &env, loop_calls, &mock).await?;
    println!(
        "\n--input is {:.1}× the one-process loop ({:.0} and {:.0} resets/s before and after)",
        fastest / looped.max(again),
        looped,
        again
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// `calls` resets, one `cockpit` process each; prints its row and returns resets a second.
async fn one_process_a_call(
    bin: &Path,
    env: &[(&str, String)],
    calls: usize,
    mock: &MockCloudCockpit,
) -> Result<f64> {
    let tokens = mock.token_requests();
    let started = Instant::now();
    let mut peak = 0;
    for i in 0..calls {
        let user = format!("00000000-0000-4000-9000-{i:012}");
        let (code, rss) = timed(
            Command::new(bin)
                .env_clear()
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                .args([
                    "reset-password",
                    "--customer-id",
                    CUSTOMER,
                    "--user-id",
                    &user,
                    "--provider-instance-id",
                    PROVIDER_INSTANCE,
                    "--display-name",
                    "Ada",
                ]),
        )
        .await?;
        if code != Some(0) {
            bail!("call {i} ended with {code:?}");
        }
        peak = peak.max(rss);
    }
    let rate = calls as f64 / started.elapsed().as_secs_f64();
    println!(
        "| one process a call | {calls} | {rate:.0} | {} | {peak} KiB |",
        mock.token_requests() - tokens
    );
    Ok(rate)
}

/// Runs `cmd` under /usr/bin/time: its exit code and peak resident memory in KiB.
async fn timed(cmd: &mut Command) -> Result<(Option<i32>, u64)> {
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
    let envs: Vec<_> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
        .collect();
    let mut timed = Command::new("/usr/bin/time");
    timed
        .env_clear()
        .envs(envs)
        .args(["-f", "%M"])
        .arg(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let out = tokio::task::spawn_blocking(move || timed.output()).await??;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rss = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .with_context(|| format!("no peak RSS from /usr/bin/time: {stderr}"))?;
    Ok((out.status.code(), rss))
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
