//! `cargo xtask bench-build`: the cold build cost of depending on cockpit.
//!
//! Builds two tiny downstream binaries from scratch, each in a fresh target directory:
//! one that uses cockpit, and one that uses only reqwest (its default features, as a user
//! writing the calls by hand would), serde, uuid and tokio. Both are pinned by this
//! workspace's Cargo.lock. It prints the two wall times and their ratio.

use std::{fs, path::Path, process::Command, time::Instant};

use anyhow::{Context, Result, bail};

const COCKPIT_MAIN: &str = r#"
#[tokio::main]
async fn main() {
    let client = cockpit::Client::builder()
        .tenant("portal.cloudcockpit.com")
        .bearer_token(cockpit::SecretString::from("t"))
        .build()
        .unwrap();
    println!("{client:?}");
}
"#;

const REQWEST_MAIN: &str = r#"
#[derive(serde::Serialize)]
struct Body { id: uuid::Uuid }

#[tokio::main]
async fn main() {
    let client = reqwest::Client::new();
    let request = client.patch("https://api.cloudcockpit.com/v1").json(&Body { id: uuid::Uuid::new_v4() });
    println!("{:?}", request.build().map(|r| r.method().clone()));
}
"#;

pub(crate) fn run() -> Result<()> {
    let root = crate::codegen::workspace_root();
    let dir = std::env::temp_dir().join(format!("cockpit-bench-build-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let cockpit_path = root.join("crates/cockpit");
    let cockpit_deps = format!(
        "cockpit = {{ path = {:?} }}\ntokio = {{ version = \"1\", features = [\"rt-multi-thread\", \"macros\"] }}\n",
        cockpit_path.display().to_string()
    );
    let reqwest_deps = "reqwest = { version = \"0.13\", features = [\"json\"] }\n\
                        serde = { version = \"1\", features = [\"derive\"] }\n\
                        uuid = { version = \"1\", features = [\"v4\", \"serde\"] }\n\
                        tokio = { version = \"1\", features = [\"rt-multi-thread\", \"macros\"] }\n";
    let cockpit_secs = build(
        &root,
        &dir.join("uses-cockpit"),
        &cockpit_deps,
        COCKPIT_MAIN,
    )?;
    let reqwest_secs = build(&root, &dir.join("uses-reqwest"), reqwest_deps, REQWEST_MAIN)?;
    let _ = fs::remove_dir_all(&dir);
    println!("| downstream app | cold `cargo build` |");
    println!("| --- | ---: |");
    println!("| uses cockpit | {cockpit_secs:.1} s |");
    println!("| uses reqwest, serde, uuid, tokio | {reqwest_secs:.1} s |");
    println!("| ratio | {:.2} |", cockpit_secs / reqwest_secs);
    Ok(())
}

fn build(root: &Path, dir: &Path, deps: &str, main: &str) -> Result<f64> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .context("app name")?;
    fs::create_dir_all(dir.join("src"))?;
    fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[dependencies]\n{deps}\n[workspace]\n"
        ),
    )?;
    fs::write(dir.join("src/main.rs"), main)?;
    // The same versions as this workspace; cargo drops what the app does not use.
    fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))?;
    println!("$ cargo build (cold) in {name}");
    let started = Instant::now();
    let status = Command::new("cargo")
        .args(["build", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .status()
        .context("starting cargo")?;
    let secs = started.elapsed().as_secs_f64();
    if !status.success() {
        bail!("building {name} failed ({status})");
    }
    Ok(secs)
}
