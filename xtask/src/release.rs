//! Releases: what a change means for the crates' users.
//!
//! - `release-check [--baseline REV]`: the level of the change since the baseline (the
//!   last `v*` tag, else the commit of CHANGELOG.md's last release entry, else the merge
//!   base with `main`), from the spec's diff and from cargo-semver-checks over the
//!   published crates; fails when the version in `Cargo.toml` is lower than the change
//!   needs.
//! - `changelog [--baseline REV]`: the spec part of the next CHANGELOG.md entry, per
//!   operation and schema, breaking changes first.
//! - `man`: writes the CLI's manual page to `target/man/cockpit.1`.
//!
//! The spec diff is a small walk over the parsed documents: the OpenAPI diff tools that
//! would do it (oasdiff, `@pb33f/openapi-changes`) are Go binaries, and the npm package
//! fetches its binary from outside the registry at install time.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    path::Path,
};

use anyhow::{Context, Result, bail};
use openapiv3::{
    OpenAPI, Parameter, ParameterSchemaOrContent, ReferenceOr, Schema, SchemaKind, Type,
};
use semver::Version;

use crate::{codegen, command};

/// The published crates, whose public API the semver check compares.
const PUBLISHED: [&str; 4] = [
    "cockpit-generated",
    "cockpit",
    "cockpit-mock",
    "cockpit-cli",
];

/// How much a change asks of the version: what a user must do to take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// Nothing a caller sees.
    Patch,
    /// Something added: every caller still compiles and works.
    Minor,
    /// Something a caller relies on changed or went away.
    Major,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Patch => "patch",
            Level::Minor => "minor",
            Level::Major => "major",
        })
    }
}

/// One change between two specs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Change {
    pub(crate) level: Level,
    pub(crate) text: String,
}

fn change(level: Level, text: String) -> Change {
    Change { level, text }
}

/// The changes from `old` to `new`, breaking first, then in the order of their text.
pub(crate) fn spec_changes(old: &OpenAPI, new: &OpenAPI) -> Vec<Change> {
    let mut out = Vec::new();
    let (old_ops, new_ops) = (operations(old), operations(new));
    for (id, (method, path, _)) in &old_ops {
        if !new_ops.contains_key(id) {
            out.push(change(
                Level::Major,
                format!("operation `{id}` ({method} {path}) removed"),
            ));
        }
    }
    for (id, (method, path, op)) in &new_ops {
        let Some((old_method, old_path, old_op)) = old_ops.get(id) else {
            out.push(change(
                Level::Minor,
                format!("operation `{id}` ({method} {path}) added"),
            ));
            continue;
        };
        if (old_method, old_path) != (method, path) {
            out.push(change(
                Level::Major,
                format!("`{id}` moved from {old_method} {old_path} to {method} {path}"),
            ));
        }
        parameter_changes(id, old, old_op, new, op, &mut out);
        let (old_body, new_body) = (body(old, old_op), body(new, op));
        match (old_body, new_body) {
            (None, Some((required, shape))) => out.push(change(
                if required { Level::Major } else { Level::Minor },
                format!("`{id}`: a request body ({shape}) added"),
            )),
            (Some(_), None) => out.push(change(
                Level::Major,
                format!("`{id}`: the request body removed"),
            )),
            (Some((was, old_shape)), Some((now, shape))) => {
                if !was && now {
                    out.push(change(
                        Level::Major,
                        format!("`{id}`: the request body is now required"),
                    ));
                }
                if old_shape != shape {
                    out.push(change(
                        Level::Major,
                        format!("`{id}`: the request body is now {shape} (was {old_shape})"),
                    ));
                }
            }
            (None, None) => {}
        }
        let (old_codes, codes) = (statuses(old_op), statuses(op));
        for code in old_codes.difference(&codes) {
            out.push(change(
                Level::Major,
                format!("`{id}`: the {code} answer is no longer documented"),
            ));
        }
        for code in codes.difference(&old_codes) {
            out.push(change(
                Level::Minor,
                format!("`{id}`: a {code} answer is documented"),
            ));
        }
    }
    schema_changes(old, new, &mut out);
    out.sort_by(|a, b| b.level.cmp(&a.level).then_with(|| a.text.cmp(&b.text)));
    out
}

/// The operations by id: method (upper case), path, operation.
fn operations(spec: &OpenAPI) -> BTreeMap<String, (String, String, &openapiv3::Operation)> {
    spec.operations()
        .filter_map(|(path, method, op)| {
            Some((
                op.operation_id.clone()?,
                (method.to_uppercase(), path.to_string(), op),
            ))
        })
        .collect()
}

fn parameter_changes(
    id: &str,
    old_spec: &OpenAPI,
    old: &openapiv3::Operation,
    new_spec: &OpenAPI,
    new: &openapiv3::Operation,
    out: &mut Vec<Change>,
) {
    let (was, now) = (parameters(old_spec, old), parameters(new_spec, new));
    for (key, _) in was.iter().filter(|(k, _)| !now.contains_key(*k)) {
        out.push(change(
            Level::Major,
            format!("`{id}`: parameter `{}` ({}) removed", key.1, key.0),
        ));
    }
    for (key, (required, shape)) in &now {
        let (place, name) = key;
        match was.get(key) {
            None if *required => out.push(change(
                Level::Major,
                format!("`{id}`: required parameter `{name}` ({place}, {shape}) added"),
            )),
            None => out.push(change(
                Level::Minor,
                format!("`{id}`: optional parameter `{name}` ({place}, {shape}) added"),
            )),
            Some((old_required, old_shape)) => {
                if !old_required && *required {
                    out.push(change(
                        Level::Major,
                        format!("`{id}`: parameter `{name}` is now required"),
                    ));
                }
                if *old_required && !required {
                    out.push(change(
                        Level::Minor,
                        format!("`{id}`: parameter `{name}` is now optional"),
                    ));
                }
                if old_shape != shape {
                    out.push(change(
                        Level::Major,
                        format!("`{id}`: parameter `{name}` is now {shape} (was {old_shape})"),
                    ));
                }
            }
        }
    }
}

/// The parameters of an operation by (location, name): whether required, and their shape.
fn parameters(
    spec: &OpenAPI,
    op: &openapiv3::Operation,
) -> BTreeMap<(&'static str, String), (bool, String)> {
    op.parameters
        .iter()
        .filter_map(|p| codegen::resolve_parameter(p, spec.components.as_ref()))
        .map(|p| {
            let place = match p {
                Parameter::Query { .. } => "query",
                Parameter::Header { .. } => "header",
                Parameter::Path { .. } => "path",
                Parameter::Cookie { .. } => "cookie",
            };
            let data = p.parameter_data_ref();
            let shape = match &data.format {
                ParameterSchemaOrContent::Schema(s) => shape(s),
                ParameterSchemaOrContent::Content(_) => "content".to_string(),
            };
            ((place, data.name.clone()), (data.required, shape))
        })
        .collect()
}

/// Whether the request body is required, and its JSON schema's shape.
fn body(spec: &OpenAPI, op: &openapiv3::Operation) -> Option<(bool, String)> {
    let body = match op.request_body.as_ref()? {
        ReferenceOr::Item(b) => b,
        ReferenceOr::Reference { reference } => spec
            .components
            .as_ref()?
            .request_bodies
            .get(reference.rsplit('/').next()?)?
            .as_item()?,
    };
    let shape = body
        .content
        .get("application/json")
        .and_then(|m| m.schema.as_ref())
        .map_or_else(|| "not JSON".to_string(), shape);
    Some((body.required, shape))
}

fn statuses(op: &openapiv3::Operation) -> BTreeSet<String> {
    op.responses
        .responses
        .keys()
        .map(ToString::to_string)
        .collect()
}

/// A schema's shape in a few words: `CustomerUser`, `string (uuid)`, `array of CustomerUser`,
/// `string (up to 50)`, `integer (1..=2000)`. Two shapes that differ are a change.
fn shape(schema: &ReferenceOr<Schema>) -> String {
    match schema {
        ReferenceOr::Reference { reference } => reference_name(reference),
        ReferenceOr::Item(s) => item_shape(s),
    }
}

fn boxed_shape(schema: &ReferenceOr<Box<Schema>>) -> String {
    match schema {
        ReferenceOr::Reference { reference } => reference_name(reference),
        ReferenceOr::Item(s) => item_shape(s),
    }
}

fn reference_name(reference: &str) -> String {
    reference
        .rsplit('/')
        .next()
        .unwrap_or(reference)
        .to_string()
}

fn item_shape(s: &Schema) -> String {
    let nullable = if s.schema_data.nullable {
        ", nullable"
    } else {
        ""
    };
    let base = match &s.schema_kind {
        SchemaKind::Type(Type::String(t)) => {
            let mut parts = Vec::new();
            if let openapiv3::VariantOrUnknownOrEmpty::Item(f) = &t.format {
                parts.push(format!("{f:?}").to_lowercase());
            }
            if let openapiv3::VariantOrUnknownOrEmpty::Unknown(f) = &t.format {
                parts.push(f.clone());
            }
            if let Some(n) = t.max_length {
                parts.push(format!("up to {n}"));
            }
            if !t.enumeration.is_empty() {
                let values: Vec<_> = t.enumeration.iter().flatten().cloned().collect();
                parts.push(format!("one of {}", values.join("|")));
            }
            if parts.is_empty() {
                "string".to_string()
            } else {
                format!("string ({})", parts.join(", "))
            }
        }
        SchemaKind::Type(Type::Integer(t)) => {
            let range = match (t.minimum, t.maximum) {
                (None, None) => String::new(),
                (min, max) => format!(
                    " ({}..={})",
                    min.map(|m| m.to_string()).unwrap_or_default(),
                    max.map(|m| m.to_string()).unwrap_or_default()
                ),
            };
            format!("integer{range}")
        }
        SchemaKind::Type(Type::Number(_)) => "number".to_string(),
        SchemaKind::Type(Type::Boolean(_)) => "boolean".to_string(),
        SchemaKind::Type(Type::Array(a)) => match &a.items {
            Some(items) => format!("array of {}", boxed_shape(items)),
            None => "array".to_string(),
        },
        SchemaKind::Type(Type::Object(_)) => "object".to_string(),
        _ => "a composed schema".to_string(),
    };
    format!("{base}{nullable}")
}

/// The changes to the component schemas: schemas and properties added or removed, shapes
/// changed, properties now required.
fn schema_changes(old: &OpenAPI, new: &OpenAPI, out: &mut Vec<Change>) {
    let (was, now) = (schemas(old), schemas(new));
    for name in was.keys().filter(|n| !now.contains_key(*n)) {
        out.push(change(Level::Major, format!("schema `{name}` removed")));
    }
    for (name, schema) in &now {
        let Some(old_schema) = was.get(name) else {
            out.push(change(Level::Minor, format!("schema `{name}` added")));
            continue;
        };
        let (old_props, props) = (properties(old_schema), properties(schema));
        if old_props.is_empty() && props.is_empty() {
            let (a, b) = (item_shape(old_schema), item_shape(schema));
            if a != b {
                out.push(change(
                    Level::Major,
                    format!("schema `{name}` is now {b} (was {a})"),
                ));
            }
            continue;
        }
        for prop in old_props.keys().filter(|p| !props.contains_key(*p)) {
            out.push(change(Level::Major, format!("`{name}.{prop}` removed")));
        }
        for (prop, (required, shape)) in &props {
            match old_props.get(prop) {
                None => out.push(change(
                    if *required {
                        Level::Major
                    } else {
                        Level::Minor
                    },
                    format!(
                        "`{name}.{prop}` ({shape}{}) added",
                        if *required { ", required" } else { "" }
                    ),
                )),
                Some((old_required, old_shape)) => {
                    if old_shape != shape {
                        out.push(change(
                            Level::Major,
                            format!("`{name}.{prop}` is now {shape} (was {old_shape})"),
                        ));
                    }
                    if !old_required && *required {
                        out.push(change(
                            Level::Major,
                            format!("`{name}.{prop}` is now required"),
                        ));
                    }
                    if *old_required && !required {
                        out.push(change(
                            Level::Minor,
                            format!("`{name}.{prop}` is now optional"),
                        ));
                    }
                }
            }
        }
    }
}

fn schemas(spec: &OpenAPI) -> BTreeMap<String, &Schema> {
    spec.components
        .iter()
        .flat_map(|c| c.schemas.iter())
        .filter_map(|(name, s)| Some((name.clone(), s.as_item()?)))
        .collect()
}

/// An object schema's properties: whether required, and their shape.
fn properties(schema: &Schema) -> BTreeMap<String, (bool, String)> {
    let SchemaKind::Type(Type::Object(object)) = &schema.schema_kind else {
        return BTreeMap::new();
    };
    object
        .properties
        .iter()
        .map(|(name, s)| {
            (
                name.clone(),
                (object.required.contains(name), boxed_shape(s)),
            )
        })
        .collect()
}

/// The spec part of a CHANGELOG.md entry.
pub(crate) fn changelog_section(
    baseline: &str,
    old: &OpenAPI,
    new: &OpenAPI,
    changes: &[Change],
) -> String {
    let mut out = format!(
        "### API (openapi/cloudcockpit.yaml, `info.version` {} → {}, since {baseline})\n",
        old.info.version, new.info.version
    );
    if changes.is_empty() {
        out.push_str("\nNo change to the spec.\n");
        return out;
    }
    for (level, title) in [
        (Level::Major, "Breaking: callers must change"),
        (Level::Minor, "Added: callers keep working"),
    ] {
        let lines: Vec<_> = changes.iter().filter(|c| c.level == level).collect();
        if lines.is_empty() {
            continue;
        }
        out.push_str(&format!("\n#### {title}\n\n"));
        for c in lines {
            out.push_str(&format!("- {}\n", c.text));
        }
    }
    out
}

/// The baseline to compare with: `--baseline REV`, else the last `v*` tag, else the commit
/// that gave CHANGELOG.md's released entries their present text (a clone without tags:
/// the entry is the record of a release that every clone has), else the merge base of
/// `HEAD` and `main`.
fn baseline(args: &[&str]) -> Result<String> {
    match args {
        ["--baseline", rev] => return Ok((*rev).to_string()),
        [] => {}
        _ => bail!("usage: cargo xtask release-check|changelog [--baseline REV]"),
    }
    if let Ok(tag) = git(&["describe", "--tags", "--abbrev=0", "--match", "v*"]) {
        return Ok(tag);
    }
    if let Some(rev) = last_changelog_release()? {
        return Ok(rev);
    }
    for main in ["origin/main", "main"] {
        if let Ok(base) = git(&["merge-base", "HEAD", main]) {
            return Ok(base);
        }
    }
    bail!(
        "no baseline: no v* tag, and no main branch to find a merge base with; give --baseline REV"
    )
}

/// The oldest of the newest run of commits to CHANGELOG.md whose released entries (from
/// the first `## [x.y.z]` heading on) read as they do in `HEAD`: the release's commit.
/// None when the changelog has no released entry.
fn last_changelog_release() -> Result<Option<String>> {
    let Ok(now) = git(&["show", "HEAD:CHANGELOG.md"]) else {
        return Ok(None);
    };
    let Some(released) = released_entries(&now) else {
        return Ok(None);
    };
    let mut found = None;
    for rev in git(&["log", "--format=%H", "HEAD", "--", "CHANGELOG.md"])?.lines() {
        let text = git(&["show", &format!("{rev}:CHANGELOG.md")])?;
        if released_entries(&text) != Some(released) {
            break;
        }
        found = Some(rev.to_string());
    }
    Ok(found)
}

/// CHANGELOG.md from its first released entry (`## [0.2.0] - …`, not `## [Unreleased]`)
/// to its end.
fn released_entries(changelog: &str) -> Option<&str> {
    let mut rest = changelog;
    loop {
        if rest.starts_with("## [") && !rest.starts_with("## [Unreleased]") {
            return Some(rest);
        }
        rest = rest.split_once('\n')?.1;
    }
}

fn git(args: &[&str]) -> Result<String> {
    let out = command("git")
        .args(args)
        .current_dir(codegen::workspace_root())
        .output()
        .context("starting git")?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn spec_at(rev: &str) -> Result<OpenAPI> {
    let text = git(&["show", &format!("{rev}:{}", codegen::SPEC)])?;
    serde_yaml_ng::from_str(&text).with_context(|| format!("parsing {} at {rev}", codegen::SPEC))
}

fn current_spec() -> Result<OpenAPI> {
    let text = std::fs::read_to_string(codegen::workspace_root().join(codegen::SPEC))
        .context("reading the spec")?;
    serde_yaml_ng::from_str(&text).context("parsing the spec")
}

/// `cargo xtask changelog [--baseline REV]`.
pub(crate) fn changelog(args: &[&str]) -> Result<()> {
    let rev = baseline(args)?;
    let (old, new) = (spec_at(&rev)?, current_spec()?);
    print!(
        "{}",
        changelog_section(&rev, &old, &new, &spec_changes(&old, &new))
    );
    Ok(())
}

/// The `[workspace.package]` version of a root `Cargo.toml`.
fn version_at(manifest: &str) -> Result<Version> {
    let v = manifest_field(manifest, "version")
        .context("the root Cargo.toml names no [workspace.package] version")?;
    Version::parse(&v).with_context(|| format!("reading the version {v:?}"))
}

/// What a version step allows, as Cargo reads versions: in `0.y.z`, `y` is the breaking
/// part, and `z` the additive one.
pub(crate) fn allowed(old: &Version, new: &Version) -> Option<Level> {
    use std::cmp::Ordering::*;
    match new.cmp(old) {
        Less => None,
        Equal => Some(Level::Patch),
        Greater if new.major != old.major => Some(Level::Major),
        Greater if new.major == 0 && new.minor != old.minor => Some(Level::Major),
        Greater if new.major == 0 => Some(Level::Minor),
        Greater if new.minor != old.minor => Some(Level::Minor),
        Greater => Some(Level::Patch),
    }
}

/// `cargo xtask release-check [--baseline REV]`.
pub(crate) fn check(args: &[&str]) -> Result<()> {
    let rev = baseline(args)?;
    let root = codegen::workspace_root();
    let old_version = version_at(&git(&["show", &format!("{rev}:Cargo.toml")])?)?;
    let new_version = version_at(
        &std::fs::read_to_string(root.join("Cargo.toml")).context("reading Cargo.toml")?,
    )?;
    let Some(allowed) = allowed(&old_version, &new_version) else {
        bail!("the version went down: {old_version} at {rev}, {new_version} now");
    };
    let (old, new) = (spec_at(&rev)?, current_spec()?);
    let changes = spec_changes(&old, &new);
    let spec_level = changes
        .iter()
        .map(|c| c.level)
        .max()
        .unwrap_or(Level::Patch);
    println!("baseline {rev} ({old_version}); now {new_version}, which allows a {allowed} change");
    print!("{}", changelog_section(&rev, &old, &new, &changes));
    let crates_changed = !git(&[
        "diff",
        "--name-only",
        &rev,
        "--",
        "crates",
        "Cargo.toml",
        "Cargo.lock",
        "openapi",
    ])?
    .is_empty();
    let rust_level = if crates_changed {
        semver_checks(&root, &rev)?
    } else {
        println!("no published crate changed since {rev}: the Rust API is the same");
        Level::Patch
    };
    let needed = spec_level.max(rust_level);
    println!(
        "the spec asks for a {spec_level} change, the Rust API for a {rust_level} one: {needed}"
    );
    if needed > allowed {
        bail!(
            "this change is {needed}, and {old_version} → {new_version} allows only {allowed}: \
             raise the version in Cargo.toml ([workspace.package] and [workspace.dependencies]) \
             and add a CHANGELOG.md entry (`cargo xtask changelog` drafts its API part)"
        );
    }
    Ok(())
}

/// Runs cargo-semver-checks over the published crates against `rev`, installing it once
/// per machine, and reads the level it asks for.
fn semver_checks(root: &Path, rev: &str) -> Result<Level> {
    let installed = command("cargo")
        .args(["semver-checks", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        println!("$ cargo install --locked cargo-semver-checks (once per machine)");
        crate::run(
            "cargo",
            &["install", "--locked", "cargo-semver-checks"],
            &[],
        )?;
    }
    // Checked as if it were a patch release, the strictest: the summary then says what
    // the change needs. (Left to infer it from the versions, a major step passes anything.)
    let mut args = vec![
        "semver-checks",
        "check-release",
        "--baseline-rev",
        rev,
        "--release-type",
        "patch",
    ];
    for name in PUBLISHED {
        args.extend(["--package", name]);
    }
    // Its builds go outside the clone, beside the other tools: the baseline's rustdoc and
    // every registry dependency are then built once per machine, not once per clone. (It
    // puts them under the target directory that `cargo metadata` reports.)
    let target = crate::tools_dir(root).join("semver-checks-target");
    println!(
        "$ CARGO_TARGET_DIR=<tools>/semver-checks-target cargo {}",
        args.join(" ")
    );
    let out = command("cargo")
        .args(&args)
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(root)
        .output()
        .context("starting cargo-semver-checks")?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let level = semver_level(&text);
    if !out.status.success() && level.is_none() {
        eprint!("{text}");
        bail!("cargo-semver-checks failed without saying what the change needs");
    }
    // Its whole report: each failure names the item and where it was.
    print!("{text}");
    Ok(level.unwrap_or(Level::Patch))
}

/// The level that cargo-semver-checks' summaries ask for: the highest of them.
pub(crate) fn semver_level(output: &str) -> Option<Level> {
    output
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Summary"))
        .map(|s| {
            if s.contains("requires new major version") {
                Level::Major
            } else if s.contains("requires new minor version") {
                Level::Minor
            } else {
                Level::Patch
            }
        })
        .max()
}

/// The workspace's `rust-version` holds for the lock file: no locked package declares a
/// newer one. (Resolver 3 picks such versions when the lock is made; this keeps a later
/// `cargo update` honest. Clippy's `incompatible_msrv` checks our own code against it in
/// the linted test build.)
pub(crate) fn msrv() -> Result<()> {
    let root = codegen::workspace_root();
    let manifest =
        std::fs::read_to_string(root.join("Cargo.toml")).context("reading Cargo.toml")?;
    let declared = manifest_field(&manifest, "rust-version")
        .context("the root Cargo.toml names no [workspace.package] rust-version")?;
    let msrv = rust_version(&declared)?;
    let out = command("cargo")
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(&root)
        .output()
        .context("starting cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading cargo metadata")?;
    let mut newer = Vec::new();
    let mut count = 0;
    for package in metadata["packages"].as_array().into_iter().flatten() {
        count += 1;
        if let Some(v) = package["rust_version"].as_str()
            && rust_version(v)? > msrv
        {
            newer.push(format!(
                "{} {} needs Rust {v}",
                package["name"], package["version"]
            ));
        }
    }
    if !newer.is_empty() {
        bail!(
            "the workspace declares rust-version {declared}, and the lock file holds:\n  {}\n\
             Raise rust-version in Cargo.toml and say why, or pin an older version.",
            newer.join("\n  ")
        );
    }
    println!("rust-version {declared}: all {count} locked packages support it");
    Ok(())
}

/// A `[workspace.package]` field of a root `Cargo.toml`.
fn manifest_field(manifest: &str, field: &str) -> Option<String> {
    let mut in_section = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if in_section
            && let Some((key, value)) = line.split_once('=')
            && key.trim() == field
        {
            return Some(value.trim().trim_matches('"').to_string());
        }
    }
    None
}

/// A `rust-version` (`1.88` or `1.88.0`) as a version.
fn rust_version(v: &str) -> Result<Version> {
    let full = if v.matches('.').count() == 1 {
        format!("{v}.0")
    } else {
        v.to_string()
    };
    Version::parse(&full).with_context(|| format!("reading the rust-version {v:?}"))
}

/// `cargo publish --workspace --dry-run` of the four published crates (manifests, files,
/// and the order among them), then the packaged client's own build.
///
/// `full` (`cargo xtask package`, before a release): cargo also verifies each package,
/// building it against the others as packaged, and the packaged client is built always.
/// Cargo serves those packages from a local overlay of the registry and trusts a registry
/// crate's version to name its content: it reuses what it extracted and built for
/// `cockpit 0.2.0` at an earlier dry run, so a second dry run of the same version checks
/// the earlier code, and fails or passes on it. The copies are removed first
/// ([`forget_verified_copies`]).
///
/// Otherwise (`cargo xtask test`): no verification (the tests build everything), and the
/// packaged client only when it changed since the last release (see
/// [`packaged_client_builds`]).
pub(crate) fn package(full: bool) -> Result<()> {
    let mut args = vec!["publish", "--workspace", "--dry-run", "--locked"];
    if full {
        forget_verified_copies()?;
    } else {
        args.push("--no-verify");
    }
    // A local run checks the tree as it is, committed or not.
    args.push("--allow-dirty");
    crate::run("cargo", &args, &[])?;
    packaged_client_builds(full)
}

/// Removes what an earlier verification left of the published crates at this version:
/// their builds in the workspace's target directory (`cargo clean -p`, which also removes
/// the workspace's own builds of them), and their sources extracted from the overlay, in
/// `$CARGO_HOME/registry/src`. Cargo names a registry's directory there after its host;
/// the overlay is a local registry, with no host, so its directory's name starts with
/// `-`. The others are left alone: a crate of these names there is someone else's, and
/// never changes. Cargo extracts and builds them anew.
fn forget_verified_copies() -> Result<()> {
    let root = codegen::workspace_root();
    let manifest =
        std::fs::read_to_string(root.join("Cargo.toml")).context("reading Cargo.toml")?;
    let version = version_at(&manifest)?;
    let mut clean = vec!["clean"];
    for name in PUBLISHED {
        clean.extend(["-p", name]);
    }
    crate::run("cargo", &clean, &[])?;
    let home = match std::env::var_os("CARGO_HOME") {
        Some(home) => std::path::PathBuf::from(home),
        None => std::path::PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?)
            .join(".cargo"),
    };
    let sources = home.join("registry/src");
    let Ok(registries) = std::fs::read_dir(&sources) else {
        return Ok(());
    };
    for registry in registries {
        let registry = registry?.path();
        let name = registry.file_name().unwrap_or_default().to_string_lossy();
        if !name.starts_with('-') {
            continue;
        }
        for krate in PUBLISHED {
            let copy = registry.join(format!("{krate}-{version}"));
            if copy.exists() {
                println!(
                    "removing {}, extracted by an earlier verification",
                    copy.display()
                );
                std::fs::remove_dir_all(&copy)
                    .with_context(|| format!("removing {}", copy.display()))?;
            }
        }
    }
    Ok(())
}

/// The packaged `cockpit-generated` (`cargo package`, in `target/package`) builds from
/// the package alone, outside the repository: its spec is in the package, so
/// its build script's drift check runs there too. Checked, not linked (the tests build
/// everything), with the workspace's target directory for the dependencies.
///
/// The check costs some 16 s of a cold CI run (the package's own feature set rebuilds part of
/// the dependencies), so `xtask test` runs it when `crates/generated`, the spec or the
/// lock file changed since the baseline that `release-check` uses, and otherwise says so
/// and skips; `cargo xtask package` runs it always.
fn packaged_client_builds(always: bool) -> Result<()> {
    let rev = baseline(&[])?;
    let changed = git(&[
        "diff",
        "--name-only",
        &rev,
        "--",
        "crates/generated",
        "openapi",
        "Cargo.toml",
        "Cargo.lock",
    ])?;
    if changed.is_empty() && !always {
        println!(
            "cockpit-generated, the spec and the lock file are as they were at {rev}: its package is not built again"
        );
        return Ok(());
    }
    let started = std::time::Instant::now();
    let root = codegen::workspace_root();
    let version = version_at(
        &std::fs::read_to_string(root.join("Cargo.toml")).context("reading Cargo.toml")?,
    )?;
    let name = format!("cockpit-generated-{version}");
    crate::run(
        "cargo",
        &[
            "package",
            "--quiet",
            "--locked",
            "--no-verify",
            "--allow-dirty",
            "-p",
            "cockpit-generated",
        ],
        &[],
    )?;
    let archive = root.join("target/package").join(format!("{name}.crate"));
    let dir = std::env::temp_dir().join(format!("cockpit-packaged-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("creating a directory for the package")?;
    let result = (|| {
        // `-m`: the files get the time of unpacking, not the package's fixed one, so that
        // cargo sees them as changed and builds this package's script and crate afresh.
        let unpacked = command("tar")
            .arg("-mxzf")
            .arg(&archive)
            .current_dir(&dir)
            .status()
            .context("starting tar")?;
        if !unpacked.success() {
            bail!("could not unpack {} ({unpacked})", archive.display());
        }
        let manifest = dir.join(&name).join("Cargo.toml");
        // Outside the clone, beside the tools: alone, the package resolves its dependencies'
        // features differently from the workspace, so the workspace's builds of them do
        // not serve; kept here, the next clone reuses them. The package itself is always
        // built anew (its files have the time of unpacking).
        let target = crate::tools_dir(&root).join("package-target");
        println!(
            "$ CARGO_TARGET_DIR=<tools>/package-target cargo check --locked (the packaged {name}, outside the repository)"
        );
        let status = command("cargo")
            .args(["check", "--quiet", "--locked", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target)
            .current_dir(&dir)
            .status()
            .context("starting cargo check")?;
        if !status.success() {
            bail!("the packaged {name} does not build on its own ({status})");
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&dir);
    println!("(took {:.1} s)", started.elapsed().as_secs_f64());
    result
}

/// `cargo xtask man`: the CLI's manual page, from the CLI itself, in `target/man/cockpit.1`.
pub(crate) fn man() -> Result<()> {
    let root = codegen::workspace_root();
    let out = command("cargo")
        .args([
            "run",
            "--quiet",
            "--locked",
            "-p",
            "cockpit-cli",
            "--",
            "man",
        ])
        .current_dir(&root)
        .output()
        .context("starting cargo run -p cockpit-cli -- man")?;
    if !out.status.success() {
        bail!(
            "cockpit man failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dir = root.join("target/man");
    std::fs::create_dir_all(&dir).context("creating target/man")?;
    std::fs::write(dir.join("cockpit.1"), &out.stdout).context("writing target/man/cockpit.1")?;
    println!(
        "wrote target/man/cockpit.1 ({} bytes): man -l target/man/cockpit.1",
        out.stdout.len()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_entries_start_at_the_first_released_heading() {
        let text = "# Changelog\n\n## [Unreleased]\n\n- more\n\n## [0.2.0] - 2026-12-02\n\n- x\n";
        assert_eq!(
            released_entries(text),
            Some("## [0.2.0] - 2026-12-02\n\n- x\n")
        );
        // What is added under Unreleased does not change the released entries.
        let later = text.replace("- more\n", "- more\n- and more\n");
        assert_eq!(released_entries(&later), released_entries(text));
        assert_eq!(released_entries("# Changelog\n\n## [Unreleased]\n"), None);
    }

    /// A spec of two operations, which the tests change one piece at a time.
    const BASE: &str = r#"
openapi: 3.0.3
info: {title: t, version: v1}
paths:
  /v1/customers/{customerId}/users:
    get:
      operationId: listUsers
      parameters:
        - {name: customerId, in: path, required: true, schema: {type: string, format: uuid}}
        - {name: pageSize, in: query, required: false, schema: {type: integer, minimum: 1, maximum: 2000}}
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/User'}}}}}
    patch:
      operationId: updateUser
      parameters:
        - {name: customerId, in: path, required: true, schema: {type: string, format: uuid}}
      requestBody:
        required: true
        content: {application/json: {schema: {$ref: '#/components/schemas/User'}}}
      responses:
        '200': {description: ok}
components:
  schemas:
    User:
      type: object
      properties:
        displayName: {type: string, maxLength: 50}
        email: {type: string}
"#;

    fn spec(text: &str) -> OpenAPI {
        serde_yaml_ng::from_str(text).unwrap()
    }

    fn changes(edit: impl Fn(&str) -> String) -> Vec<Change> {
        spec_changes(&spec(BASE), &spec(&edit(BASE)))
    }

    fn level(changes: &[Change]) -> Level {
        changes
            .iter()
            .map(|c| c.level)
            .max()
            .unwrap_or(Level::Patch)
    }

    #[test]
    fn the_same_spec_is_no_change() {
        assert!(changes(str::to_string).is_empty());
    }

    #[test]
    fn a_removed_operation_is_major_and_an_added_one_minor() {
        let removed = changes(|s| {
            let start = s.find("    patch:").unwrap();
            let end = s.find("components:").unwrap();
            format!("{}{}", &s[..start], &s[end..])
        });
        assert_eq!(level(&removed), Level::Major);
        assert_eq!(
            removed[0].text,
            "operation `updateUser` (PATCH /v1/customers/{customerId}/users) removed"
        );
        let added = changes(|s| {
            s.replace(
                "components:",
                "  /v1/ping:\n    get:\n      operationId: ping\n      responses:\n        '200': {description: ok}\ncomponents:",
            )
        });
        assert_eq!(level(&added), Level::Minor);
        assert_eq!(added[0].text, "operation `ping` (GET /v1/ping) added");
    }

    #[test]
    fn a_required_parameter_added_is_major_and_an_optional_one_minor() {
        let param = |required: bool| {
            move |s: &str| {
                s.replace(
                    "      requestBody:",
                    &format!(
                        "        - {{name: resellerId, in: query, required: {required}, schema: {{type: string}}}}\n      requestBody:"
                    ),
                )
            }
        };
        let required = changes(param(true));
        assert_eq!(level(&required), Level::Major);
        assert_eq!(
            required[0].text,
            "`updateUser`: required parameter `resellerId` (query, string) added"
        );
        assert_eq!(level(&changes(param(false))), Level::Minor);
        // A range narrowed changes the parameter's shape.
        let narrowed = changes(|s| s.replace("maximum: 2000", "maximum: 500"));
        assert_eq!(
            narrowed[0].text,
            "`listUsers`: parameter `pageSize` is now integer (1..=500) (was integer (1..=2000))"
        );
    }

    #[test]
    fn a_property_whose_type_changed_or_went_away_is_major() {
        let retyped = changes(|s| s.replace("email: {type: string}", "email: {type: integer}"));
        assert_eq!(level(&retyped), Level::Major);
        assert_eq!(retyped[0].text, "`User.email` is now integer (was string)");
        let gone = changes(|s| s.replace("        email: {type: string}\n", ""));
        assert_eq!(gone[0].text, "`User.email` removed");
        let limit = changes(|s| s.replace("maxLength: 50", "maxLength: 64"));
        assert_eq!(
            limit[0].text,
            "`User.displayName` is now string (up to 64) (was string (up to 50))"
        );
        let added = changes(|s| {
            s.replace(
                "        email: {type: string}\n",
                "        email: {type: string}\n        location: {type: string}\n",
            )
        });
        assert_eq!(level(&added), Level::Minor);
    }

    #[test]
    fn the_changelog_lists_breaking_changes_first() {
        let old = spec(BASE);
        let new = spec(
            &BASE
                .replace("email: {type: string}", "email: {type: integer}")
                .replace("version: v1", "version: v2")
                .replace(
                    "components:",
                    "  /v1/ping:\n    get:\n      operationId: ping\n      responses:\n        '200': {description: ok}\ncomponents:",
                ),
        );
        let section = changelog_section("v0.2.0", &old, &new, &spec_changes(&old, &new));
        assert_eq!(
            section,
            "### API (openapi/cloudcockpit.yaml, `info.version` v1 → v2, since v0.2.0)\n\
             \n#### Breaking: callers must change\n\n\
             - `User.email` is now integer (was string)\n\
             \n#### Added: callers keep working\n\n\
             - operation `ping` (GET /v1/ping) added\n"
        );
    }

    #[test]
    fn a_version_step_allows_what_cargo_reads_it_to_allow() {
        let v = |s: &str| Version::parse(s).unwrap();
        assert_eq!(allowed(&v("0.1.0"), &v("0.2.0")), Some(Level::Major));
        assert_eq!(allowed(&v("0.2.0"), &v("0.2.1")), Some(Level::Minor));
        assert_eq!(allowed(&v("0.2.0"), &v("0.2.0")), Some(Level::Patch));
        assert_eq!(allowed(&v("1.2.0"), &v("2.0.0")), Some(Level::Major));
        assert_eq!(allowed(&v("1.2.0"), &v("1.3.0")), Some(Level::Minor));
        assert_eq!(allowed(&v("1.2.0"), &v("1.2.1")), Some(Level::Patch));
        assert_eq!(allowed(&v("0.2.0"), &v("0.1.9")), None);
    }

    #[test]
    fn the_workspace_version_is_read_from_its_section() {
        let manifest = "[package]\nversion = \"9.9.9\"\n[workspace.package]\nversion = \"0.2.0\"\nedition = \"2024\"\n";
        assert_eq!(
            version_at(manifest).unwrap(),
            Version::parse("0.2.0").unwrap()
        );
        assert!(version_at("[workspace]\n").is_err());
    }

    #[test]
    fn rust_versions_read_with_or_without_a_patch() {
        assert_eq!(rust_version("1.88").unwrap(), Version::new(1, 88, 0));
        assert!(rust_version("1.89.1").unwrap() > rust_version("1.89").unwrap());
        assert!(rust_version("1.100").unwrap() > rust_version("1.88").unwrap());
        assert_eq!(
            manifest_field(
                "[workspace.package]\nrust-version = \"1.88\"\n",
                "rust-version"
            )
            .as_deref(),
            Some("1.88")
        );
    }

    #[test]
    fn semver_checks_summaries_give_the_level() {
        assert_eq!(
            semver_level(
                "     Summary semver requires new major version: 1 major and 0 minor checks failed\n     Summary no semver update required"
            ),
            Some(Level::Major)
        );
        assert_eq!(
            semver_level(
                "     Summary semver requires new minor version: 0 major and 1 minor checks failed"
            ),
            Some(Level::Minor)
        );
        assert_eq!(
            semver_level("     Summary no semver update required"),
            Some(Level::Patch)
        );
        assert_eq!(semver_level("error: no crates"), None);
    }
}
