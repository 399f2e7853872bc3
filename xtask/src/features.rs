//! xtask's dependencies must have the same features when cargo resolves xtask alone (every
//! `cargo xtask`, which is `run --package xtask`) as in the workspace's test build, and the
//! same on the host side (the copies that proc macros and build scripts use) as on xtask's
//! own. Otherwise CI compiles them again for the test build, or twice within it: about 25 s
//! of a 4-minute run. xtask's Cargo.toml asks for the features that make them agree; this
//! check says which crate to add there when a change elsewhere moves them apart.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail, ensure};

/// Each crate (`name vX.Y.Z`) with the feature sets it is built with: two when the host
/// side and the other differ.
type Features = BTreeMap<String, BTreeSet<String>>;

/// Compares the two resolutions with `cargo tree`; fails naming each crate that differs.
pub(crate) fn check() -> Result<()> {
    let (count, differ) = compare()?;
    ensure!(
        differ.is_empty(),
        "xtask's dependencies would be compiled twice in CI:\n{}\nadd those features to the \
         crate's line in xtask/Cargo.toml, under [dependencies] for xtask's own side and under \
         [build-dependencies] for the host side (add the crate if it is not there)",
        differ.join("\n")
    );
    println!(
        "xtask's {count} dependencies: the same features alone, in the workspace, and for proc macros"
    );
    Ok(())
}

/// How many crates xtask depends on, and the [`differences`] of their features.
fn compare() -> Result<(usize, Vec<String>)> {
    let alone = tree(&["--package", "xtask", "--edges", "normal,build"])?;
    let workspace = tree(&["--workspace", "--edges", "normal,build,dev"])?;
    Ok((alone.len(), differences(&alone, &workspace)))
}

/// One line for each of xtask's crates that is built with two feature sets, or with other
/// features than in the workspace.
fn differences(alone: &Features, workspace: &Features) -> Vec<String> {
    let show = |sets: &BTreeSet<String>| {
        sets.iter()
            .map(|s| format!("[{s}]"))
            .collect::<Vec<_>>()
            .join(" and ")
    };
    let mut lines = Vec::new();
    for (krate, sets) in alone {
        if sets.len() > 1 {
            lines.push(format!(
                "  {krate}: built twice, for the host side and for xtask, with {}",
                show(sets)
            ));
        } else if workspace.get(krate) != Some(sets) {
            let theirs = workspace.get(krate).map_or("nothing".to_string(), show);
            lines.push(format!(
                "  {krate}: {} for xtask alone, {theirs} in the workspace",
                show(sets)
            ));
        }
    }
    lines
}

/// `cargo tree` with `args`, read as [`Features`].
fn tree(args: &[&str]) -> Result<Features> {
    let out = crate::command("cargo")
        .args([
            "tree", "--locked", "--prefix", "none", "--format", "{p}|{f}",
        ])
        .args(args)
        .current_dir(crate::codegen::workspace_root())
        .output()
        .context("starting cargo tree")?;
    if !out.status.success() {
        bail!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(parse(&String::from_utf8_lossy(&out.stdout)))
}

/// Reads `cargo tree --prefix none --format "{p}|{f}"`: `name vX.Y.Z`, then ` (proc-macro)`
/// or ` (/path)` if it is one, `|`, the comma-separated features, and ` (*)` at the end of a
/// crate shown before. Workspace members are left out: they are not what is built twice.
fn parse(text: &str) -> Features {
    let mut features = Features::new();
    for line in text.lines() {
        let line = line.strip_suffix(" (*)").unwrap_or(line);
        let Some((package, set)) = line.split_once('|') else {
            continue;
        };
        let mut words = package.split_whitespace();
        let (Some(name), Some(version)) = (words.next(), words.next()) else {
            continue;
        };
        if words.any(|w| w.starts_with("(/")) {
            continue;
        }
        features
            .entry(format!("{name} {version}"))
            .or_default()
            .insert(set.trim().to_string());
    }
    features
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cargo_tree_and_names_each_crate_that_differs() {
        let alone = parse(
            "xtask v0.2.0 (/w/xtask)|\n\
             syn v3.0.10|full,parsing\n\
             serde v1.0.229|alloc,std\n\
             serde_derive v1.0.229 (proc-macro)|default\n\
             serde v1.0.229|alloc,std (*)\n\
             syn v3.0.10|full\n\
             memchr v2.8.3|std\n",
        );
        let workspace = parse(
            "cockpit v0.2.0 (/w/crates/cockpit)|default\n\
             serde v1.0.229|alloc,std\n\
             serde_derive v1.0.229 (proc-macro)|default\n\
             syn v3.0.10|full,parsing\n\
             memchr v2.8.3|alloc,std\n",
        );
        assert!(!alone.contains_key("xtask v0.2.0"), "members are left out");
        assert_eq!(
            differences(&alone, &workspace),
            [
                "  memchr v2.8.3: [std] for xtask alone, [alloc,std] in the workspace",
                "  syn v3.0.10: built twice, for the host side and for xtask, with [full] and [full,parsing]",
            ]
        );
        assert!(differences(&workspace, &workspace).is_empty());
    }

    /// The check on this workspace, as a plain `cargo test` runs it.
    #[test]
    fn xtask_alone_and_the_workspace_agree() {
        let (count, differ) = compare().unwrap();
        assert!(
            count > 50,
            "xtask's dependencies, as cargo tree reads them: {count}"
        );
        assert!(differ.is_empty(), "{}", differ.join("\n"));
    }
}
