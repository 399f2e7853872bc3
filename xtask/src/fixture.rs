//! The fixture packages (`crates/fixture`) build the workspace's own sources with the
//! files generated from the fixture's spec; their dependencies must be the originals'.
//! Cargo cannot inherit one package's dependencies in another, so they are written twice
//! and compared here: a dependency added to one and not the other fails `cargo xtask test`.

use std::{collections::BTreeSet, fs};

use anyhow::{Context, Result, bail};

/// Each fixture package, with the package whose sources it builds.
const PAIRS: &[(&str, &str)] = &[
    ("crates/fixture/generated", "crates/generated"),
    ("crates/fixture/cockpit", "crates/cockpit"),
    ("crates/fixture/mock", "crates/cockpit-mock"),
    ("crates/fixture/cli", "crates/cockpit-cli"),
];

pub(crate) fn check() -> Result<()> {
    let root = crate::codegen::workspace_root();
    for (fixture, original) in PAIRS {
        let read = |dir: &str| -> Result<BTreeSet<String>> {
            let path = root.join(dir).join("Cargo.toml");
            let text =
                fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            Ok(dependencies(&text))
        };
        let (ours, theirs) = (read(fixture)?, read(original)?);
        if ours != theirs {
            bail!(
                "{fixture}/Cargo.toml's [dependencies] differ from {original}'s: only in the fixture {:?}, only in the original {:?}; make them the same",
                ours.difference(&theirs).collect::<Vec<_>>(),
                theirs.difference(&ours).collect::<Vec<_>>()
            );
        }
    }
    println!("the fixture packages' dependencies are their originals'");
    Ok(())
}

/// The lines of the `[dependencies]` table, with the fixture's renamed packages written
/// as the originals they stand for.
fn dependencies(manifest: &str) -> BTreeSet<String> {
    manifest
        .lines()
        .skip_while(|l| l.trim() != "[dependencies]")
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once('=').map(|(k, _)| k.trim()) {
            Some(key @ ("cockpit" | "cockpit-generated")) => format!("{key}.workspace = true"),
            _ => l.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_packages_depend_on_what_their_originals_do() {
        check().unwrap();
    }

    #[test]
    fn a_dependency_in_one_manifest_only_is_found() {
        let a = "[package]\n[dependencies]\nserde.workspace = true\ncockpit = { package = \"cockpit-fixture\", path = \"../cockpit\" }\n[lints]\nx = 1\n";
        let b = "[dependencies]\n# why\nserde.workspace = true\ncockpit.workspace = true\n\n[dev-dependencies]\ntokio = \"1\"\n";
        assert_eq!(dependencies(a), dependencies(b));
        let c = "[dependencies]\nserde.workspace = true\nbytes = \"1\"\ncockpit.workspace = true\n";
        assert_ne!(dependencies(a), dependencies(c));
    }
}
