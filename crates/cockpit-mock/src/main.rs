//! `cargo run -p cockpit-mock -- [--port N] [--seed FILE]`: the mock CloudCockpit API as
//! a server of its own, for running a real binary (the `cockpit` CLI, an app) against it.
//!
//! It listens on loopback, on the given port or a free one, prints its URL and the
//! environment that points `cockpit` (or `ClientBuilder::from_env`) at it, answers as the
//! seed file says (see `cockpit_mock::Seed`), and stops cleanly on Ctrl-C.

use std::{io::Write, process::ExitCode};

use cockpit_mock::{MockCloudCockpit, Seed};

const USAGE: &str = "usage: cockpit-mock [--port N] [--seed FILE] [--realistic]

Serves a mock CloudCockpit API on 127.0.0.1 until Ctrl-C. It refuses what the spec
forbids, as a strict server: no accepted token is 401, a request that breaks the spec 400.
  --port N     listen on port N (default: a free port)
  --realistic  answer as a .NET service does: unknown properties, explicit nulls, absent
               optional keys, and problem details for a request that breaks the spec
  --seed FILE  answer as FILE says: {\"expectations\": [{\"operation\": \"getCustomerUser\",
               \"params\": {...}, \"status\": 200, \"body\": {...}}], \"tokenLifetimeSecs\": 3600}";

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<(), String> {
    let mut port = 0_u16;
    let mut seed = Seed::default();
    let mut realistic = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let value = args.next().ok_or("--port needs a number")?;
                port = value
                    .parse()
                    .map_err(|_| format!("--port {value:?} is not a port number"))?;
            }
            "--seed" => {
                let path = args.next().ok_or("--seed needs a file")?;
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("reading the seed {path:?}: {e}"))?;
                seed = Seed::from_json(&text).map_err(|e| format!("the seed {path:?}: {e}"))?;
            }
            "--realistic" => realistic = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}\n\n{USAGE}")),
        }
    }
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))
        .map_err(|e| format!("listening on 127.0.0.1:{port}: {e}"))?;
    let mock = MockCloudCockpit::start_on(listener).await;
    if realistic {
        mock.realistic();
    }
    mock.seed(&seed).await;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "cockpit-mock listening on {} ({} customers, {} expectations); Ctrl-C stops it\n\
         COCKPIT_BASE_URL={}\nCOCKPIT_TENANT={}\nCOCKPIT_TOKEN={}\n\
         or, for client credentials:\nCOCKPIT_CLIENT_ID={}\nCOCKPIT_CLIENT_SECRET={}\nCOCKPIT_TOKEN_URL={}",
        mock.uri(),
        seed.customers(),
        seed.len(),
        mock.uri(),
        MockCloudCockpit::TENANT,
        MockCloudCockpit::TOKEN,
        MockCloudCockpit::CLIENT_ID,
        MockCloudCockpit::CLIENT_SECRET,
        mock.token_url(),
    );
    let _ = out.flush();
    drop(out);
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("waiting for Ctrl-C: {e}"))?;
    // Whoever read the banner may be gone: a closed stdout is no reason to fail the stop.
    let _ = writeln!(std::io::stdout(), "cockpit-mock: stopped");
    Ok(())
}
