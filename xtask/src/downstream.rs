//! `cargo xtask downstream`: the tests of `examples/downstream`, a crate outside the
//! workspace that depends on `cockpit` and `cockpit-mock` by path, as a user's would.
//!
//! The crate is copied to `target/downstream`, with its path dependencies pointing back at
//! this workspace and this workspace's `Cargo.lock` as its starting lock file, so that it
//! builds offline with exactly the versions the workspace pins (cargo only drops what the
//! crate does not use). It builds into this workspace's `target`, reusing what the
//! workspace built: cargo hashes a path dependency by its path relative to the root of the
//! workspace that builds it, so the downstream crate's `cockpit` is kept apart from the
//! workspace's own, and the registry crates are shared. The standalone mock is built first, for the test that runs the crate's own
//! binary against it (`COCKPIT_MOCK_BIN`).

use std::{fs, path::Path};

use anyhow::{Context, Result, ensure};

use crate::codegen::workspace_root;

/// Runs the job; fails if a build or a test does.
pub(crate) fn run() -> Result<()> {
    let root = workspace_root();
    // The standalone mock, built as `cargo test --workspace` builds it (nothing to do
    // after the tests): a `-p cockpit-mock` build would resolve other features and
    // rebuild half the dependency tree.
    crate::standalone_mock()?;
    let copy = root.join("target/downstream");
    if copy.exists() {
        fs::remove_dir_all(&copy).with_context(|| format!("removing {}", copy.display()))?;
    }
    copy_dir(&root.join("examples/downstream"), &copy)?;
    let manifest = copy.join("Cargo.toml");
    let text = fs::read_to_string(&manifest)?;
    let crates = root.join("crates");
    let text = text.replace(
        "path = \"../../crates/",
        &format!("path = \"{}/", crates.display()),
    );
    fs::write(&manifest, text)?;
    fs::copy(root.join("Cargo.lock"), copy.join("Cargo.lock"))?;
    println!("$ cargo test --offline --manifest-path target/downstream/Cargo.toml");
    let status = crate::command("cargo")
        .args(["test", "--offline", "--manifest-path"])
        .arg(&manifest)
        .env("CARGO_TARGET_DIR", root.join("target"))
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

/// Copies a directory tree.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
