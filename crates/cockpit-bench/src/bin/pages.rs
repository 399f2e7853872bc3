//! `cargo run --release -p cockpit-bench --bin pages`: the cost of paged lists.
//!
//! 1. **Decode.** A page of 2,000 customer users, decoded as the SDK does (into the
//!    generated, tolerant `CustomerUserPage`, which keeps unknown properties in `extra`)
//!    and with serde into hand-written structs: of plain `String`s that drop unknown
//!    properties, and the same keeping them (`#[serde(flatten)]` into a map); then the
//!    drift walk that the SDK runs on each decoded page. Interleaved rounds, median
//!    ratios.
//! 2. **Walk.** 100 pages of 2,000 users (200,000) from a local server (a child process,
//!    so that its memory is not counted), through `.items()`: items a second, and the
//!    resident memory before and after, and its peak.
//! 3. **CLI.** `cockpit users list --all --json > /dev/null` over 10 and over 100 pages:
//!    its peak resident memory (from /usr/bin/time), which stays flat when the walk holds
//!    one page at a time. Needs `target/release/cockpit` (`cargo build --release -p
//!    cockpit-cli`).

use std::{
    process::{Command, Stdio},
    time::Instant,
};

use anyhow::{Context, Result, bail};

#[path = "../status.rs"]
mod status;
use futures::TryStreamExt;
use status::status_kib;
use tokio::io::AsyncBufReadExt;

const PAGE: usize = 2000;
const CUSTOMER: &str = "3f1c9a52-8a7e-4d7c-9a55-0c1e2b3d4f50";
const PROVIDER_INSTANCE: &str = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d";

/// Page `n` (from 1) of `pages` pages of `size` users, as the API's JSON.
fn page_json(n: usize, size: usize, pages: usize) -> Vec<u8> {
    let start = (n - 1) * size;
    let items: Vec<serde_json::Value> = (start..start + size)
        .map(|i| {
            serde_json::json!({
                "id": format!("00000000-0000-4000-8000-{i:012}"),
                "displayName": format!("User number {i}"),
                "email": format!("user{i}@contoso.example"),
                "firstName": "Ada",
                "lastName": "Lovelace",
                "location": "PT",
                "domain": "contoso.example",
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "items": items,
        "paginationParameters": {"pageNumber": n, "pageSize": size},
        "totalPages": pages,
        "totalCount": pages * size,
        "hasPreviousPage": n > 1,
        "hasNextPage": n < pages,
        "continuationToken": null,
    }))
    .unwrap_or_default()
}

/// The hand-written baseline's page, of plain (`HandUser`) or checked (`CheckedUser`)
/// users.
#[allow(
    dead_code,
    reason = "the fields are decoded, which is what is measured"
)]
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct HandPage<U> {
    items: Option<Vec<U>>,
    total_pages: Option<i32>,
    total_count: Option<i32>,
    has_previous_page: Option<bool>,
    has_next_page: Option<bool>,
    continuation_token: Option<String>,
}

#[allow(
    dead_code,
    reason = "the fields are decoded, which is what is measured"
)]
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct HandUser {
    id: Option<uuid::Uuid>,
    display_name: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    location: Option<String>,
    temporary_password: Option<String>,
    domain: Option<String>,
}

/// The hand-written baseline that keeps unknown properties, as the generated types do:
/// what keeping them costs in plain serde.
#[allow(
    dead_code,
    reason = "the fields are decoded, which is what is measured"
)]
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeepingUser {
    id: Option<uuid::Uuid>,
    display_name: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    location: Option<String>,
    temporary_password: Option<String>,
    domain: Option<String>,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

fn decode(rounds: usize) -> Result<()> {
    let bytes = page_json(1, PAGE, 1);
    println!(
        "decode: a page of {PAGE} users, {} KiB of JSON",
        bytes.len() / 1024
    );
    let reps = 20;
    let mut ratios = Vec::new();
    let (mut sdk_best, mut hand_best, mut checked_best, mut drift_best) =
        (f64::MAX, f64::MAX, f64::MAX, f64::MAX);
    let decoded: cockpit::types::CustomerUserPage = serde_json::from_slice(&bytes)?;
    // Each round times the three decodes in a rotated order, so that no one of them is
    // always first (a position that measured a few per cent slower on this machine).
    for round in 0..rounds {
        let mut times = [0.0_f64; 3];
        for k in 0..3 {
            let which = (round + k) % 3;
            let t = Instant::now();
            for _ in 0..reps {
                match which {
                    0 => {
                        let page: cockpit::types::CustomerUserPage =
                            serde_json::from_slice(&bytes)?;
                        std::hint::black_box(page);
                    }
                    1 => {
                        let page: HandPage<HandUser> = serde_json::from_slice(&bytes)?;
                        std::hint::black_box(page);
                    }
                    _ => {
                        let page: HandPage<KeepingUser> = serde_json::from_slice(&bytes)?;
                        std::hint::black_box(page);
                    }
                }
            }
            times[which] = t.elapsed().as_secs_f64() / reps as f64;
        }
        let [sdk, hand, checked] = times;
        let t = Instant::now();
        for _ in 0..reps {
            std::hint::black_box(cockpit_generated::drift::drift_of(std::hint::black_box(
                &decoded,
            )));
        }
        let drift = t.elapsed().as_secs_f64() / reps as f64;
        ratios.push((sdk / hand, sdk / checked, checked / hand));
        sdk_best = sdk_best.min(sdk);
        hand_best = hand_best.min(hand);
        checked_best = checked_best.min(checked);
        drift_best = drift_best.min(drift);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "  generated CustomerUserPage (tolerant):   {:.2} ms a page (best)\n  hand-written, plain strings:             {:.2} ms a page (best)\n  hand-written, keeping unknown properties: {:.2} ms a page (best)\n  the drift walk of the decoded page:      {:.3} ms a page (best)\n  generated / plain, median of {rounds} interleaved rounds:   {:.3}x\n  generated / keeping, median of {rounds} interleaved rounds: {:.3}x\n  keeping / plain (the cost of keeping unknown properties in serde): {:.3}x",
        sdk_best * 1e3,
        hand_best * 1e3,
        checked_best * 1e3,
        drift_best * 1e3,
        median(ratios.iter().map(|r| r.0).collect()),
        median(ratios.iter().map(|r| r.1).collect()),
        median(ratios.iter().map(|r| r.2).collect()),
    );
    Ok(())
}

/// Serves pages of `PAGE` users, `pages` of them, on a free loopback port, printed first.
fn serve(pages: usize) -> Result<()> {
    use http_body_util::Full;
    use hyper::{Request, Response, body::Incoming, service::service_fn};

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("{}", listener.local_addr()?.port());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| async move {
                        let n = req
                            .uri()
                            .query()
                            .unwrap_or_default()
                            .split('&')
                            .find_map(|kv| kv.strip_prefix("pageNumber="))
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(1)
                            .clamp(1, pages);
                        let body = page_json(n, PAGE, pages);
                        Ok::<_, std::convert::Infallible>(
                            Response::builder()
                                .header("content-type", "application/json")
                                .body(Full::new(bytes::Bytes::from(body)))
                                .unwrap_or_default(),
                        )
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let mut line = String::new();
        let _ = tokio::io::BufReader::new(tokio::io::stdin())
            .read_line(&mut line)
            .await;
        Ok(())
    })
}

/// Starts this binary as the page server; returns it and its base URL.
fn server(pages: usize) -> Result<(std::process::Child, String)> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--serve", &pages.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut port = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().context("server stdout")?),
        &mut port,
    )?;
    Ok((child, format!("http://127.0.0.1:{}", port.trim())))
}

async fn walk(pages: usize) -> Result<()> {
    let (mut child, base) = server(pages)?;
    let client = cockpit::Client::builder()
        .base_url(&base)
        .tenant("portal.cloudcockpit.com")
        .bearer_token(cockpit::SecretString::from("bench-token"))
        .build()?;
    let list = || {
        client
            .list_customer_users()
            .customer_id(uuid::Uuid::parse_str(CUSTOMER).unwrap_or_default())
            .provider_instance_id(uuid::Uuid::parse_str(PROVIDER_INSTANCE).unwrap_or_default())
            .page_size(PAGE as u32)
    };
    // One page first, so that the connection pool, the token and the allocator's
    // first arenas are in place before memory is measured.
    let warm: usize = list()
        .items()
        .try_fold(0, |n, _| async move { Ok(n + 1) })
        .await?;
    let page_bytes = page_json(1, PAGE, pages).len() as u64 / 1024;
    let before = status_kib("VmRSS:");
    let t = Instant::now();
    let count: usize = list()
        .items()
        .try_fold(0, |n, _| async move { Ok(n + 1) })
        .await?;
    let took = t.elapsed();
    let after = status_kib("VmRSS:");
    let peak = status_kib("VmHWM:");
    if count != pages * PAGE || warm != count {
        bail!("walked {count} users, expected {}", pages * PAGE);
    }
    println!(
        "walk: {pages} pages of {PAGE} users ({count} users) through .items(), one page is {page_bytes} KiB of JSON\n  {:.0} users/s ({:.2} s)\n  RSS {before} KiB before, {after} KiB after (+{} KiB), peak {peak} KiB",
        count as f64 / took.as_secs_f64(),
        took.as_secs_f64(),
        after.saturating_sub(before),
    );
    drop(child.stdin.take());
    let _ = child.wait();
    Ok(())
}

fn cli(pages: &[usize]) -> Result<()> {
    let exe = std::env::current_exe()?;
    let cockpit = exe.with_file_name("cockpit");
    if !cockpit.exists() {
        bail!(
            "{} is missing: cargo build --release -p cockpit-cli",
            cockpit.display()
        );
    }
    for &n in pages {
        let (mut child, base) = server(n)?;
        let t = Instant::now();
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%M"])
            .arg(&cockpit)
            .args(["users", "list", "--all", "--json", "--page-size", "2000"])
            .args([
                "--customer-id",
                CUSTOMER,
                "--provider-instance-id",
                PROVIDER_INSTANCE,
            ])
            .env_clear()
            .env("COCKPIT_BASE_URL", &base)
            .env("COCKPIT_TENANT", "portal.cloudcockpit.com")
            .env("COCKPIT_TOKEN", "bench-token")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()?;
        let took = t.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let peak = stderr.lines().last().unwrap_or_default().trim().to_string();
        if !out.status.success() {
            bail!("cockpit failed: {stderr}");
        }
        println!(
            "cli: cockpit users list --all --json > /dev/null over {n} pages ({} users): peak RSS {peak} KiB, {:.0} users/s",
            n * PAGE,
            (n * PAGE) as f64 / took.as_secs_f64()
        );
        drop(child.stdin.take());
        let _ = child.wait();
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["--serve", pages] => return serve(pages.parse()?),
        ["--help" | "-h"] => {
            println!(
                "usage: pages [--rounds R] [--decode-only]   (decode, walk 100 pages, then the CLI over 10 and 100 pages)"
            );
            return Ok(());
        }
        _ => {}
    }
    let decode_only = args.iter().any(|a| a == "--decode-only");
    let rounds = match args.as_slice() {
        [flag, r, ..] if flag == "--rounds" => r.parse()?,
        _ => 21,
    };
    decode(rounds)?;
    if decode_only {
        return Ok(());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(walk(100))?;
    cli(&[10, 100])?;
    Ok(())
}
