//! The per-call cost of reset-password, three ways, against one local server:
//!
//! 1. hand-written reqwest (the baseline): one reused `reqwest::Client`, the same headers
//!    and the same JSON body;
//! 2. the generated client, called directly;
//! 3. the cockpit facade with its defaults: correlation id, tracing span, token provider
//!    and retry policy all on.
//!
//! The server is this binary started again as `serve` in a child process, so that the CPU
//! time measured here is the client's alone. Client and server each run on a current-thread
//! runtime pinned to a core of their own (`--threads N` gives the client N workers,
//! unpinned). The variants run in rounds, side by side; each figure is the median of the
//! rounds, and each ratio the median of the ratios within a round.
//!
//! Run: `cargo run --release -p cockpit-bench` (`-- --calls N --rounds R` to change the
//! sizes). It prints a table; BENCHMARKS.md has the method and the latest figures.

use std::{
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant},
};

mod status;

use anyhow::{Context, Result, bail};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use status::status_kib;
use tokio::io::AsyncBufReadExt;

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

const TOKEN: &str = "bench-token";
const TENANT: &str = "portal.cloudcockpit.com";
const CUSTOMER: &str = "3f1c9a52-8a7e-4d7c-9a55-0c1e2b3d4f50";
const USER: &str = "b0e5f7a1-2c3d-4e5f-8a9b-0c1d2e3f4a5b";
const PROVIDER_INSTANCE: &str = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d";
const IN_FLIGHT: usize = 64;

const USAGE: &str = "usage: cockpit-bench [--calls N] [--rounds R] [--only TEXT,..] [--in-flight 1|64] [--threads N]

The per-call cost of reset-password: hand-written reqwest, the generated client, and the
cockpit facade, side by side against a local server, in rounds.

  --calls N        calls per variant, mode and round (default 5000)
  --rounds R       rounds (default 21)
  --only TEXT,..   only the variants whose names contain one of these texts
  --in-flight 1|64 only one mode: sequential calls, or 64 in flight
  --threads N      the client's tokio workers (default 1: a current-thread runtime pinned to CPU 0)";

/// The ids of the call, parsed once, so that every variant gets them as `Uuid`s.
fn ids() -> (uuid::Uuid, uuid::Uuid, uuid::Uuid) {
    static IDS: std::sync::OnceLock<(uuid::Uuid, uuid::Uuid, uuid::Uuid)> =
        std::sync::OnceLock::new();
    *IDS.get_or_init(|| {
        let parse = |s| uuid::Uuid::parse_str(s).expect("a valid id");
        (parse(CUSTOMER), parse(USER), parse(PROVIDER_INSTANCE))
    })
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        pin_to_cpu(1);
        return serve();
    }
    let mut calls = 5_000usize;
    let mut rounds = 21usize;
    let mut only: Option<String> = None;
    let mut mode: Option<usize> = None;
    let mut threads = 1usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            "--calls" => calls = it.next().context("--calls N")?.parse()?,
            "--rounds" => rounds = it.next().context("--rounds R")?.parse()?,
            // Runs only the variants whose names contain one of these comma-separated texts.
            "--only" => only = Some(it.next().context("--only TEXT")?.clone()),
            // Runs only one mode: 1 (sequential) or 64 (in flight).
            "--in-flight" => mode = Some(it.next().context("--in-flight 1|64")?.parse()?),
            // The client's tokio worker threads; 1 (the default) runs it on a current-thread
            // runtime, so that the client and the server's one worker each have a core.
            "--threads" => threads = it.next().context("--threads N")?.parse()?,
            other => bail!("unknown argument {other}\n\n{USAGE}"),
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads <= 1 {
        pin_to_cpu(0);
    }
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    runtime.block_on(bench(calls, rounds, only, mode, threads, cores))
}

/// Keeps this thread, and the threads it starts from now on, on one CPU, when there are at
/// least two: the client on CPU 0 and the server on CPU 1 do not take turns on a core, which
/// is most of the run-to-run spread. A failure only costs that stability, so it is ignored.
fn pin_to_cpu(cpu: usize) {
    if std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2 {
        let mut set = rustix::thread::CpuSet::new();
        set.set(cpu);
        let _ = rustix::thread::sched_setaffinity(None, &set);
    }
}

/// The server: 200 with no body, as fast as hyper answers, until stdin closes.
fn serve() -> Result<()> {
    use http_body_util::{BodyExt, Empty};
    use hyper::{Request, Response, body::Incoming, service::service_fn};

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("{}", listener.local_addr()?.port());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let service = service_fn(|req: Request<Incoming>| async move {
                        let _ = req.into_body().collect().await;
                        Ok::<_, std::convert::Infallible>(Response::new(
                            Empty::<bytes::Bytes>::new(),
                        ))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        // Stop when the parent closes our stdin.
        let mut line = String::new();
        let _ = tokio::io::BufReader::new(tokio::io::stdin())
            .read_line(&mut line)
            .await;
        Ok(())
    })
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    provider_instance_id: uuid::Uuid,
    customer_user: User<'a>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct User<'a> {
    display_name: Option<&'a str>,
    email: Option<&'a str>,
    first_name: Option<&'a str>,
    location: Option<&'a str>,
    domain: Option<&'a str>,
}

/// One way of making the call.
#[derive(Clone)]
enum Variant {
    Reqwest {
        http: reqwest::Client,
        base: Arc<str>,
        name: &'static str,
    },
    Generated {
        client: Arc<cockpit_generated::Client>,
        body: cockpit_generated::types::ResetPasswordRequest,
    },
    Facade {
        client: cockpit::Client,
        user: cockpit::types::CustomerUserInput,
        name: &'static str,
    },
}

impl Variant {
    fn name(&self) -> &'static str {
        match self {
            Variant::Reqwest { name, .. } => name,
            Variant::Generated { .. } => "generated client",
            Variant::Facade { name, .. } => name,
        }
    }

    async fn call(&self) -> Result<()> {
        match self {
            Variant::Reqwest { http, base, .. } => {
                let body = Body {
                    provider_instance_id: ids().2,
                    customer_user: User {
                        display_name: Some("Ada Lovelace"),
                        email: Some("ada@contoso.example"),
                        first_name: Some("Ada"),
                        location: Some("PT"),
                        domain: Some("contoso.example"),
                    },
                };
                let response = http
                    // As a hand-written client would: the path from the ids, each call.
                    .patch(format!(
                        "{base}/v1/Customers/{}/users/{}/reset-password",
                        ids().0,
                        ids().1
                    ))
                    .bearer_auth(TOKEN)
                    .header("X-Tenant", TENANT)
                    .header("X-Correlation-Id", uuid::Uuid::new_v4().to_string())
                    .header("Accept", "application/json")
                    .json(&body)
                    .send()
                    .await?;
                if response.status() != 200 {
                    bail!("status {}", response.status());
                }
                response.bytes().await?;
            }
            Variant::Generated { client, body } => {
                client
                    .reset_customer_user_password()
                    .customer_id(ids().0)
                    .customer_user_id(ids().1)
                    .body(body.clone())
                    .send()
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            Variant::Facade { client, user, .. } => {
                client
                    .reset_customer_user_password()
                    .customer_id(ids().0)
                    .customer_user_id(ids().1)
                    .provider_instance_id(ids().2)
                    .customer_user(user.clone())
                    .send()
                    .await?;
            }
        }
        Ok(())
    }
}

/// What the facade's transport does, for the generated client called directly: the token,
/// the tenant and a fresh correlation id on every request, which the generated client
/// leaves to its transport.
#[derive(Debug)]
struct Headers;

impl cockpit_generated::Transport for Headers {
    fn on_request(&self, request: &mut reqwest::Request) {
        use reqwest::header::HeaderValue;
        let mut buf = uuid::Uuid::encode_buffer();
        let id = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf);
        let headers = request.headers_mut();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            HeaderValue::from_static(concat!("Bearer ", "bench-token")),
        );
        headers.insert("x-tenant", HeaderValue::from_static(TENANT));
        if let Ok(id) = HeaderValue::from_str(id) {
            headers.insert("x-correlation-id", id);
        }
    }

    fn on_response(&self, response: reqwest::Response) -> cockpit_generated::Received<'_> {
        cockpit_generated::Received::Ready(response)
    }
}

/// Process CPU time (user + system) in nanoseconds: the time on a CPU of each of this
/// process's threads, from `/proc/self/task/*/schedstat`. (Threads that have ended are not
/// counted; the runtime's threads live as long as the run.)
fn cpu_time() -> Duration {
    let tasks = std::fs::read_dir("/proc/self/task").into_iter().flatten();
    let nanos: u64 = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

struct Figures {
    calls_per_sec: f64,
    cpu_us_per_call: f64,
    allocs_per_call: f64,
    bytes_per_call: f64,
}

async fn measure(variant: &Variant, calls: usize, in_flight: usize) -> Result<Figures> {
    let region = Region::new(GLOBAL);
    let cpu = cpu_time();
    let wall = Instant::now();
    if in_flight == 1 {
        for _ in 0..calls {
            variant.call().await?;
        }
    } else {
        let per_worker = calls / in_flight;
        let workers: Vec<_> = (0..in_flight)
            .map(|_| {
                let v = variant.clone();
                tokio::spawn(async move {
                    for _ in 0..per_worker {
                        v.call().await?;
                    }
                    anyhow::Ok(())
                })
            })
            .collect();
        for w in workers {
            w.await??;
        }
    }
    let elapsed = wall.elapsed().as_secs_f64();
    let cpu = (cpu_time() - cpu).as_secs_f64();
    let stats = region.change();
    let n = calls as f64;
    Ok(Figures {
        calls_per_sec: n / elapsed,
        cpu_us_per_call: cpu * 1e6 / n,
        allocs_per_call: stats.allocations as f64 / n,
        bytes_per_call: stats.bytes_allocated as f64 / n,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

async fn bench(
    calls: usize,
    rounds: usize,
    only: Option<String>,
    mode: Option<usize>,
    threads: usize,
    cores: usize,
) -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut server = tokio::process::Command::new(std::env::current_exe()?)
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut port = String::new();
    tokio::io::BufReader::new(server.stdout.take().context("server stdout")?)
        .read_line(&mut port)
        .await?;
    let base = format!("http://127.0.0.1:{}", port.trim());

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()?;
    let body: cockpit_generated::types::ResetPasswordRequest =
        serde_json::from_value(serde_json::json!({
            "providerInstanceId": PROVIDER_INSTANCE,
            "customerUser": {"displayName": "Ada Lovelace", "email": "ada@contoso.example",
                              "firstName": "Ada", "location": "PT", "domain": "contoso.example"}
        }))?;
    let user = cockpit::types::CustomerUserInput {
        id: None,
        display_name: Some("Ada Lovelace".parse()?),
        email: Some("ada@contoso.example".parse()?),
        first_name: Some("Ada".parse()?),
        last_name: None,
        location: Some("PT".into()),
        temporary_password: None,
        domain: Some("contoso.example".into()),
    };
    let facade = cockpit::Client::builder()
        .base_url(&base)
        .tenant(TENANT)
        .bearer_token(cockpit::SecretString::from(TOKEN))
        .build()?;
    // The same timeouts as cockpit's defaults, for a baseline that is as careful.
    let http_with_timeouts = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .connect_timeout(cockpit::DEFAULT_CONNECT_TIMEOUT)
        .timeout(cockpit::DEFAULT_TIMEOUT)
        .build()?;
    let base_arc: Arc<str> = base.as_str().into();
    let facade_on_plain_client = cockpit::Client::builder()
        .base_url(&base)
        .tenant(TENANT)
        .bearer_token(cockpit::SecretString::from(TOKEN))
        .http_client(http.clone())
        .build()?;
    let variants = [
        Variant::Reqwest {
            http: http.clone(),
            base: base_arc.clone(),
            name: "hand-written reqwest (baseline)",
        },
        Variant::Reqwest {
            http: http_with_timeouts,
            base: base_arc,
            name: "hand-written reqwest with timeouts",
        },
        Variant::Generated {
            client: Arc::new(cockpit_generated::Client::new_with_client(
                &base,
                http.clone(),
                Some(Arc::new(Headers)),
            )),
            body,
        },
        Variant::Facade {
            client: facade.clone(),
            user: user.clone(),
            name: "cockpit facade (defaults)",
        },
        Variant::Facade {
            client: facade_on_plain_client,
            user: user.clone(),
            name: "cockpit facade on the baseline's client",
        },
    ];

    let variants: Vec<Variant> = variants
        .into_iter()
        .filter(|v| {
            only.as_deref()
                .is_none_or(|o| o.split(',').any(|o| v.name().contains(o)))
        })
        .collect();
    if variants.is_empty() {
        bail!("--only matches no variant");
    }
    if !matches!(variants[0], Variant::Reqwest { name, .. } if name.contains("baseline")) {
        println!("(--only left the baseline out: the ratios are to the first row)");
    }
    println!(
        "cockpit-bench: {calls} calls a run, {rounds} rounds, medians; {cores} cores; client on {}",
        if threads <= 1 {
            "a current-thread runtime on CPU 0, the server on CPU 1".to_string()
        } else {
            format!("{threads} worker threads")
        }
    );
    for v in &variants {
        measure(v, 2_000, IN_FLIGHT).await?; // warm the pools and the allocator
    }
    let modes = [("sequential", 1usize), ("64 in flight", IN_FLIGHT)];
    for (label, in_flight) in modes
        .into_iter()
        .filter(|(_, n)| mode.is_none_or(|m| m == *n))
    {
        let mut all: Vec<Vec<Figures>> = variants.iter().map(|_| Vec::new()).collect();
        for round in 0..rounds {
            // Each round starts with another variant, so that none always runs first.
            for k in 0..variants.len() {
                let i = (round + k) % variants.len();
                all[i].push(measure(&variants[i], calls, in_flight).await?);
            }
        }
        // Ratios to the baseline are taken within each round, where the variants ran side
        // by side, and then the median and the range over the rounds are reported.
        let ratios = |i: usize, f: fn(&Figures) -> f64| -> Vec<f64> {
            all[i]
                .iter()
                .zip(&all[0])
                .map(|(x, b)| f(x) / f(b))
                .collect()
        };
        println!();
        println!("{label}");
        println!(
            "| variant | calls/s | vs baseline | CPU µs/call | vs baseline (range) | allocs/call | bytes/call |"
        );
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (i, v) in variants.iter().enumerate() {
            let f = &all[i];
            let cpu_ratios = ratios(i, |x| x.cpu_us_per_call);
            let (lo, hi) = cpu_ratios
                .iter()
                .fold((f64::MAX, f64::MIN), |(lo, hi), &r| (lo.min(r), hi.max(r)));
            println!(
                "| {} | {:.0} | {:.3} | {:.1} | {:.3} ({:.3}–{:.3}) | {:.1} | {:.0} |",
                v.name(),
                median(f.iter().map(|x| x.calls_per_sec).collect()),
                median(ratios(i, |x| x.calls_per_sec)),
                median(f.iter().map(|x| x.cpu_us_per_call).collect()),
                median(cpu_ratios),
                lo,
                hi,
                median(f.iter().map(|x| x.allocs_per_call).collect()),
                median(f.iter().map(|x| x.bytes_per_call).collect()),
            );
        }
    }

    if only.is_some() {
        return Ok(());
    }
    // Memory: no per-call growth. RSS after 1k facade calls, then after 100k.
    let facade_variant = Variant::Facade {
        client: facade,
        user,
        name: "cockpit facade (defaults)",
    };
    measure(&facade_variant, 1_000, IN_FLIGHT).await?;
    let rss_1k = status_kib("VmRSS:");
    measure(&facade_variant, 99_000, IN_FLIGHT).await?;
    let rss_100k = status_kib("VmRSS:");
    println!();
    println!("memory (cockpit facade, 64 in flight)");
    println!("| RSS after 1k calls | RSS after 100k calls | growth | peak RSS |");
    println!("| ---: | ---: | ---: | ---: |");
    println!(
        "| {rss_1k} KiB | {rss_100k} KiB | {:+} KiB | {} KiB |",
        rss_100k as i64 - rss_1k as i64,
        status_kib("VmHWM:")
    );
    drop(server.stdin.take());
    let _ = tokio::time::timeout(Duration::from_secs(2), server.wait()).await;
    Ok(())
}
