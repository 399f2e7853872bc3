//! `cargo xtask downstream`: the tests of `examples/downstream`, a crate outside the
//! workspace that depends on `cockpit` and `cockpit-mock` by path, as a user's would.
//!
//! It builds the standalone mock first, for the test that runs the crate's own binary
//! against it (`COCKPIT_MOCK_BIN`). The crate builds into `target/isolated`, apart from this
//! workspace's artifacts.

use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::codegen::workspace_root;

/// Runs the job; fails if a build or a test does.
pub(crate) fn run() -> Result<()> {
    let root = workspace_root();
    crate::run(
        "cargo",
        &[
            "build",
            "--quiet",
            "--locked",
            "-p",
            "cockpit-mock",
            "--bin",
            "cockpit-mock",
        ],
        &[],
    )?;
    let manifest = root.join("examples/downstream/Cargo.toml");
    println!("$ cargo test --locked --manifest-path examples/downstream/Cargo.toml");
    let status = Command::new("cargo")
        .args(["test", "--locked", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", root.join("target/isolated"))
        .env("COCKPIT_MOCK_BIN", root.join("target/debug/cockpit-mock"))
        .current_dir(&root)
        .status()
        .context("starting cargo")?;
    ensure!(
        status.success(),
        "the downstream crate's tests failed ({status})"
    );
    Ok(())
}
