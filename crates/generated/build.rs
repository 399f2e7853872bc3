//! Fails the build when the spec changed and the client was not regenerated.
//!
//! Generation itself stays out of every build (it is `cargo xtask codegen`'s job): this
//! script only compares the spec's fingerprint with the one in the generated file's header.
//! `cloudcockpit.yaml` beside this script links to `openapi/cloudcockpit.yaml`, and the
//! packaged crate holds a copy of it, so the check runs there too.

use std::{fs, path::Path};

use sha2::{Digest, Sha256};

fn main() {
    // Read when the script runs, not when it is compiled: cargo may reuse one compiled
    // script for the same package unpacked elsewhere.
    let Ok(manifest) = std::env::var("CARGO_MANIFEST_DIR") else {
        eprintln!("error: cargo did not set CARGO_MANIFEST_DIR for the build script");
        std::process::exit(1);
    };
    let manifest = Path::new(&manifest);
    let spec = manifest.join("cloudcockpit.yaml");
    let generated = manifest.join("src/generated_sdk.rs");
    println!("cargo::rerun-if-changed={}", spec.display());
    println!("cargo::rerun-if-changed={}", generated.display());
    let spec_text = match fs::read_to_string(&spec) {
        Ok(text) => text,
        Err(e) => {
            eprintln!(
                "error: cannot read the spec this client was generated from ({}): {e}",
                spec.display()
            );
            std::process::exit(1);
        }
    };
    // The same fingerprint as xtask's: SHA-256 of the text with `\n` line endings.
    let digest = Sha256::digest(spec_text.replace("\r\n", "\n").as_bytes());
    let fingerprint: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let recorded = fs::read_to_string(&generated).ok().and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("// spec sha256: ").map(str::to_owned))
    });
    if recorded.as_deref() != Some(fingerprint.as_str()) {
        eprintln!(
            "error: openapi/cloudcockpit.yaml changed since crates/generated/src/generated_sdk.rs \
             was generated (spec sha256 {fingerprint}, recorded {}).\n\
             Run `cargo xtask codegen` and commit the result.",
            recorded.as_deref().unwrap_or("none")
        );
        std::process::exit(1);
    }
}
