//! `cargo xtask codegen`: generate, from the spec, the client in `crates/generated`
//! (`generated_sdk.rs`) and the facade's per-operation glue in `crates/cockpit`
//! (`generated_ops.rs`, see `facade`); or check that both are fresh.
//!
//! The checked-in spec stays faithful to the vendor's pages. What progenitor cannot take as
//! written is adjusted here, on the in-memory copy only, by [`prepare`]; every adjustment is
//! listed in the generated file's header so that a reader of the client knows what differs.

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, bail};
use openapiv3::{
    OpenAPI, Operation, Parameter, PathItem, ReferenceOr, Response, SecurityScheme, StatusCode,
};
use sha2::{Digest, Sha256};

/// The spec, relative to the workspace root.
pub(crate) const SPEC: &str = "openapi/cloudcockpit.yaml";
/// The generated client, relative to the workspace root.
pub(crate) const GENERATED: &str = "crates/generated/src/generated_sdk.rs";
/// The facade's generated per-operation glue, relative to the workspace root.
pub(crate) const FACADE: &str = "crates/cockpit/src/generated_ops.rs";
/// The operations that the fixture adds to the spec, which no hand-written code names.
pub(crate) const FIXTURE_OVERLAY: &str = "crates/fixture/probes.yaml";
/// The fixture's spec (the spec and the overlay), and the client and glue generated from
/// it, which the fixture packages build the workspace's own sources with.
pub(crate) const FIXTURE_SPEC: &str = "crates/fixture/openapi.yaml";
pub(crate) const FIXTURE_SDK: &str = "crates/fixture/src/generated_sdk.rs";
pub(crate) const FIXTURE_FACADE: &str = "crates/fixture/src/generated_ops.rs";

/// The headers that the facade's pipeline sets on every request, whatever the operation
/// declares: the token, the tenant and the correlation id.
const PIPELINE_HEADERS: [&str; 3] = ["Authorization", "X-Tenant", "X-Correlation-Id"];
/// The command that remakes the generated file, as the header and the errors name it.
const FIX: &str = "cargo xtask codegen";

/// The workspace root, found from this crate's manifest and never from the current directory.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// What `--check` found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Freshness {
    /// The checked-in file is what the generator writes now.
    Fresh,
    /// It is not; the unified diff from the checked-in file to the fresh output.
    Stale(String),
}

/// Regenerates the client and the facade's glue, or with `check` only compares, writing
/// nothing.
pub(crate) fn run(check: bool) -> Result<()> {
    let root = workspace_root();
    let outputs = generate(&root)?;
    let mut stale = Vec::new();
    for (file, fresh) in &outputs {
        let target = root.join(file);
        if check {
            match compare(file, &target, fresh)? {
                Freshness::Fresh => println!("{file} is up to date with {SPEC}"),
                Freshness::Stale(diff) => {
                    print!("{diff}");
                    stale.push(*file);
                }
            }
        } else {
            fs::write(&target, fresh).with_context(|| format!("writing {}", target.display()))?;
            println!("wrote {file}");
        }
    }
    if !stale.is_empty() {
        bail!(
            "{} stale: {SPEC} changed since generation; run `{FIX}`",
            stale.join(" and ")
        );
    }
    Ok(())
}

/// Compares the checked-in file with freshly generated text.
pub(crate) fn compare(file: &str, target: &Path, fresh: &str) -> Result<Freshness> {
    let current = match fs::read_to_string(target) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", target.display())),
    };
    if current == fresh {
        return Ok(Freshness::Fresh);
    }
    let diff = similar::TextDiff::from_lines(&current, fresh)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{file} (checked in)"),
            &format!("{file} (generated now from {SPEC})"),
        )
        .to_string();
    Ok(Freshness::Stale(diff))
}

/// The spec's fingerprint: SHA-256 of its text with line endings made `\n`, so that a
/// checkout with CRLF line endings fingerprints the same. `crates/generated/build.rs`
/// computes the same value.
pub(crate) fn fingerprint(spec_text: &str) -> String {
    let normalized = spec_text.replace("\r\n", "\n");
    let digest = Sha256::digest(normalized.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the spec below `root` and returns each generated file's path and full text: the
/// client and the facade's glue, and the fixture's spec, client and glue.
pub(crate) fn generate(root: &Path) -> Result<Vec<(&'static str, String)>> {
    let spec_path = root.join(SPEC);
    let text = fs::read_to_string(&spec_path)
        .with_context(|| format!("reading {}", spec_path.display()))?;
    let progenitor = progenitor_version(root)?;
    let (sdk, facade) = from_spec(&text, SPEC, &progenitor)?;
    let overlay_path = root.join(FIXTURE_OVERLAY);
    let overlay = fs::read_to_string(&overlay_path)
        .with_context(|| format!("reading {}", overlay_path.display()))?;
    let fixture = fixture_spec(&text, &overlay)?;
    let (fixture_sdk, fixture_facade) = from_spec(&fixture, FIXTURE_SPEC, &progenitor)
        .with_context(|| format!("generating from {FIXTURE_SPEC}"))?;
    Ok(vec![
        (GENERATED, sdk),
        (FACADE, facade),
        (FIXTURE_SPEC, fixture),
        (FIXTURE_SDK, fixture_sdk),
        (FIXTURE_FACADE, fixture_facade),
    ])
}

/// The real spec with the fixture's operations and schemas added: what the fixture
/// packages are built from. Adding a name the spec already has is an error, so that the
/// fixture's operations stay ones the code has never seen.
fn fixture_spec(spec: &str, overlay: &str) -> Result<String> {
    use serde_yaml_ng::Value;
    let mut merged: Value =
        serde_yaml_ng::from_str(spec).with_context(|| format!("parsing {SPEC}"))?;
    let overlay: Value =
        serde_yaml_ng::from_str(overlay).with_context(|| format!("parsing {FIXTURE_OVERLAY}"))?;
    for (at, key) in [
        (&["paths"][..], "paths"),
        (&["components", "schemas"][..], "schemas"),
    ] {
        let mut from = &overlay;
        for k in at {
            from = &from[*k];
        }
        let Some(adds) = from.as_mapping() else {
            continue;
        };
        let mut into = &mut merged;
        for k in at {
            into = into
                .get_mut(*k)
                .with_context(|| format!("{SPEC} has no {}", at.join(".")))?;
        }
        let into = into
            .as_mapping_mut()
            .with_context(|| format!("{SPEC}: {key} is not a map"))?;
        for (name, value) in adds {
            if into.contains_key(name) {
                bail!(
                    "{FIXTURE_OVERLAY}: {key} {name:?} is already in {SPEC}; the fixture must add what the code has never seen"
                );
            }
            into.insert(name.clone(), value.clone());
        }
    }
    Ok(format!(
        "# @generated by `{FIX}` from {SPEC} and {FIXTURE_OVERLAY}. Do not edit by hand.\n{}",
        serde_yaml_ng::to_string(&merged)?
    ))
}

/// The client and the facade's glue, generated from the spec `text` (named `name` in
/// their headers).
pub(crate) fn from_spec(text: &str, name: &str, progenitor: &str) -> Result<(String, String)> {
    let spec: OpenAPI =
        serde_yaml_ng::from_str(text).with_context(|| format!("parsing {name} as OpenAPI 3.0"))?;
    let original = spec.clone();
    let (spec, adjustments, promises) = prepare(spec)?;
    let (file, generator) = render(&spec)?;
    let mut sdk_file = file.clone();
    let (visitors, decoded) = crate::directions::visitors(&mut sdk_file)?;
    sdk_file
        .items
        .extend(syn::parse2::<syn::File>(visitors)?.items);
    let mut adjustments = adjustments;
    if !decoded.is_empty() {
        adjustments.push(format!(
            "{}: decoded by a generated visitor that keeps unknown properties in `extra` without serde's flatten buffering (see xtask/src/directions.rs)",
            decoded.join(", ")
        ));
    }
    sdk_file
        .items
        .extend(syn::parse2::<syn::File>(crate::facade::conversions(&file)?)?.items);
    sdk_file
        .items
        .extend(syn::parse2::<syn::File>(crate::directions::drift_impls(&file, &promises)?)?.items);
    let fingerprint = fingerprint(text);
    let spec_version = &original.info.version;
    sdk_file.items.extend(
        syn::parse2::<syn::File>(quote::quote! {
            /// The SHA-256 of the OpenAPI document this client was generated from, in hex (of
            /// its text with `\n` line endings), as `cockpit --version` shows its start.
            pub const SPEC_SHA256: &str = #fingerprint;
            /// The `info.version` of the OpenAPI document this client was generated from.
            pub const SPEC_VERSION: &str = #spec_version;
        })?
        .items,
    );
    let sdk = prettyplease::unparse(&sdk_file);
    let facade = crate::facade::render(&original, &spec, generator.get_type_space(), &file)?;
    let header = header(name, &fingerprint, progenitor, &adjustments);
    Ok((format!("{header}{sdk}"), format!("{header}{facade}")))
}

fn header(spec: &str, fingerprint: &str, progenitor: &str, adjustments: &[String]) -> String {
    let mut out = format!(
        "// @generated by `{FIX}` from {spec}. Do not edit by hand.\n\
         // spec sha256: {fingerprint}\n\
         // generator: progenitor {progenitor}, formatted by prettyplease\n\
         // Adjustments made to the in-memory spec before generation (the file on disk is unchanged):\n"
    );
    if adjustments.is_empty() {
        out.push_str("// - none\n");
    }
    for line in adjustments {
        out.push_str(&format!("// - {line}\n"));
    }
    out.push('\n');
    out
}

/// The progenitor version that `Cargo.lock` pins, for the header.
fn progenitor_version(root: &Path) -> Result<String> {
    let lock = fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"progenitor-impl\""
            && let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = "))
        {
            return Ok(version.trim_matches('"').to_string());
        }
    }
    bail!("Cargo.lock names no progenitor-impl version")
}

/// Runs progenitor on the prepared spec and parses its output; the generator keeps the
/// type space that names every type.
fn render(spec: &OpenAPI) -> Result<(syn::File, progenitor::Generator)> {
    let mut settings = progenitor::GenerationSettings::new();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_derive("schemars::JsonSchema")
        // A tolerant response type (see `directions`) keeps the unknown properties in a
        // `serde_json::Map`, the map that a `serde_json::Value` object is made of.
        .with_map_type("::serde_json::Map")
        // Every request runs through `ClientHooks`, written by hand in crates/generated/src/lib.rs
        // around the `Hooks` inner type: it drops the undocumented `api-version` header, lets
        // the caller's transport add the pipeline's headers, marks the token sensitive, and
        // hands each response to that transport.
        .with_inner_type(quote::quote!(crate::Hooks))
        .with_hooks(progenitor::HooksMode::Expected)
        // The spec's `x-rust-type` names types of the generated crate itself (its `Secret`).
        .with_crate("cockpit-generated", progenitor::CrateVers::Any, None);
    // The `maxLength` strings that `prepare` made component schemas get the generated
    // crate's `Limited<N>`, with `N` from the spec, in place of typify's type, whose decode
    // copies the string once more.
    for (name, max) in limited_components(spec) {
        settings.with_replacement(
            name,
            format!("::cockpit_generated::Limited<{max}>"),
            [progenitor::TypeImpl::FromStr, progenitor::TypeImpl::Display].into_iter(),
        );
    }
    let mut generator = progenitor::Generator::new(&settings);
    // `prepare` rejects the shapes known to make progenitor panic, naming the operation.
    // An unknown one must still end as an error, not as a panic of xtask.
    let tokens = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        generator.generate_tokens(spec)
    }))
    .map_err(|_| {
        anyhow::anyhow!("progenitor panicked on {SPEC}; see the message above for the operation")
    })?
    .context("progenitor rejected the spec")?;
    let file = syn::parse2(tokens).context("progenitor's output does not parse")?;
    Ok((file, generator))
}

/// The in-memory adjustments that progenitor needs, each described for the header.
///
/// 1. The headers that the facade's pipeline sets on every request (`Authorization` from
///    the bearer security scheme, `X-Tenant`, `X-Correlation-Id`) are taken out of each
///    operation's parameters. The generated client then builds no header of its own for
///    them; the transport that the facade passes it adds them, the same for every
///    operation, from values checked once (see `crates/cockpit/src/pipeline.rs`).
/// 2. progenitor takes one error body type per operation and panics on error responses
///    that mix a body with no body. Error responses without a body are dropped where
///    others have one; the generated client then reports them as
///    `Error::UnexpectedResponse` with their status, and nothing typed is lost.
/// 3. An operation whose `x-cockpit-idempotent` overrides its method's default is listed,
///    so that a reader of the client sees which operations retry differently.
///
/// Shapes it cannot adjust (two body types, two request media types) are refused with an
/// error naming the operation.
pub(crate) fn prepare(
    mut spec: OpenAPI,
) -> Result<(OpenAPI, Vec<String>, crate::directions::Promises)> {
    let mut adjustments = Vec::new();
    let bearer_schemes: BTreeSet<String> = spec
        .components
        .as_ref()
        .map(|c| {
            c.security_schemes
                .iter()
                .filter(|(_, s)| matches!(s, ReferenceOr::Item(SecurityScheme::HTTP { scheme, .. }) if scheme.eq_ignore_ascii_case("bearer")))
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default();
    let global_security = spec.security.clone();
    let components = spec.components.clone();

    for (path, item) in spec.paths.paths.iter_mut() {
        let ReferenceOr::Item(item) = item else {
            bail!("{path}: a path item by reference is not supported by the generator");
        };
        for (method, op) in operations_mut(item) {
            let name = op
                .operation_id
                .clone()
                .unwrap_or_else(|| format!("{} {path}", method.to_uppercase()));
            let security = op.security.as_ref().or(global_security.as_ref());
            let uses_bearer = security.is_some_and(|reqs| {
                reqs.iter()
                    .any(|r| r.keys().any(|k| bearer_schemes.contains(k)))
            });
            let mut removed = Vec::new();
            op.parameters.retain(|p| {
                let name = parameter_name(p, components.as_ref());
                let pipeline = name
                    .as_deref()
                    .is_some_and(|n| PIPELINE_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(n)))
                    && matches!(parameter_in_header(p, components.as_ref()), Some(true));
                if pipeline {
                    removed.push(name.unwrap_or_default());
                }
                !pipeline
            });
            if uses_bearer {
                removed.insert(0, "Authorization (bearer security scheme)".to_string());
            }
            if !removed.is_empty() {
                adjustments.push(format!(
                    "{name}: headers {} left to the facade's pipeline, which sets them on every request",
                    removed.join(", ")
                ));
            }
            let default = crate::facade::idempotent(method, &openapiv3::Operation::default())?;
            let actual = crate::facade::idempotent(method, op).with_context(|| name.clone())?;
            if default != actual {
                adjustments.push(format!(
                    "{name}: {} {} by `{}` in the spec, against its method's default",
                    method.to_uppercase(),
                    if actual {
                        "idempotent"
                    } else {
                        "not idempotent"
                    },
                    crate::facade::IDEMPOTENT_EXTENSION
                ));
            }

            if let Some(body) = op.request_body.as_ref().and_then(|b| b.as_item())
                && body.content.len() > 1
            {
                bail!(
                    "{name}: the request body has {} media types ({}); the generator takes one",
                    body.content.len(),
                    body.content.keys().cloned().collect::<Vec<_>>().join(", ")
                );
            }

            let resolve = |r: &ReferenceOr<Response>| -> Result<Response> {
                match r {
                    ReferenceOr::Item(resp) => Ok(resp.clone()),
                    ReferenceOr::Reference { reference } => {
                        let key = reference
                            .strip_prefix("#/components/responses/")
                            .with_context(|| {
                                format!("{name}: response reference {reference} is not local")
                            })?;
                        components
                            .as_ref()
                            .and_then(|c| c.responses.get(key))
                            .and_then(|r| r.as_item())
                            .cloned()
                            .with_context(|| format!("{name}: response {reference} is not defined"))
                    }
                }
            };
            let mut errors_with_body = BTreeSet::new();
            let mut bodiless_errors = Vec::new();
            let mut success_bodies = BTreeSet::new();
            for (status, response) in &op.responses.responses {
                let response = resolve(response)?;
                let body = body_key(&response);
                if is_error(status) {
                    match body {
                        Some(key) => {
                            errors_with_body.insert(key);
                        }
                        None => bodiless_errors.push(status.clone()),
                    }
                } else if let Some(key) = body {
                    success_bodies.insert(key);
                }
            }
            if errors_with_body.len() > 1 {
                bail!(
                    "{name}: the error responses have {} different bodies ({}); the generator takes one",
                    errors_with_body.len(),
                    errors_with_body.into_iter().collect::<Vec<_>>().join(", ")
                );
            }
            if success_bodies.len() > 1 {
                bail!(
                    "{name}: the success responses have {} different bodies ({}); the generator takes one",
                    success_bodies.len(),
                    success_bodies.into_iter().collect::<Vec<_>>().join(", ")
                );
            }
            if !errors_with_body.is_empty() && !bodiless_errors.is_empty() {
                for status in &bodiless_errors {
                    op.responses.responses.shift_remove(status);
                }
                let list = bodiless_errors
                    .iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>();
                adjustments.push(format!(
                    "{name}: responses {} (documented without a body) left out; the client returns them as Error::UnexpectedResponse with their status",
                    list.join(", ")
                ));
            }
        }
    }
    let promises = crate::directions::split(&mut spec, &mut adjustments)?;
    hoist_limited_strings(&mut spec, &mut adjustments);
    Ok((spec, adjustments, promises))
}

/// The component schemas that are plain strings with a `maxLength`: their names and limits.
fn limited_components(spec: &OpenAPI) -> Vec<(String, usize)> {
    use openapiv3::{SchemaKind, Type};
    spec.components
        .iter()
        .flat_map(|c| &c.schemas)
        .filter_map(|(name, schema)| {
            let schema = schema.as_item()?;
            let SchemaKind::Type(Type::String(s)) = &schema.schema_kind else {
                return None;
            };
            let plain = s.pattern.is_none()
                && s.enumeration.is_empty()
                && matches!(s.format, openapiv3::VariantOrUnknownOrEmpty::Empty)
                && !schema.schema_data.extensions.contains_key("x-rust-type");
            Some((name.clone(), s.max_length.filter(|_| plain)?))
        })
        .collect()
}

/// Each `maxLength` string property of a component schema becomes a component schema of
/// its own, referenced through `allOf`, which keeps the property's `nullable`; `render`
/// then puts `Limited<N>` in its place. (typify applies a replacement only to component
/// schemas, and an `x-rust-type` on the property itself would drop `nullable`.)
fn hoist_limited_strings(spec: &mut OpenAPI, adjustments: &mut Vec<String>) {
    use heck::ToUpperCamelCase;
    use openapiv3::{Schema, SchemaData, SchemaKind, Type};
    let Some(components) = spec.components.as_mut() else {
        return;
    };
    let mut hoisted = Vec::new();
    for (schema_name, schema) in components.schemas.iter_mut() {
        let ReferenceOr::Item(schema) = schema else {
            continue;
        };
        let SchemaKind::Type(Type::Object(object)) = &mut schema.schema_kind else {
            continue;
        };
        for (property, p) in object.properties.iter_mut() {
            let ReferenceOr::Item(inner) = p else {
                continue;
            };
            let SchemaKind::Type(Type::String(s)) = &inner.schema_kind else {
                continue;
            };
            if inner.schema_data.extensions.contains_key("x-rust-type")
                || s.pattern.is_some()
                || !s.enumeration.is_empty()
                || !matches!(s.format, openapiv3::VariantOrUnknownOrEmpty::Empty)
            {
                continue;
            }
            let Some(max) = s.max_length else { continue };
            let name = format!("{schema_name}{}", property.to_upper_camel_case());
            let mut component = (**inner).clone();
            component.schema_data.nullable = false;
            let reference = ReferenceOr::Item(Box::new(Schema {
                schema_data: SchemaData {
                    nullable: inner.schema_data.nullable,
                    description: inner.schema_data.description.clone(),
                    ..Default::default()
                },
                schema_kind: SchemaKind::AllOf {
                    all_of: vec![ReferenceOr::Reference {
                        reference: format!("#/components/schemas/{name}"),
                    }],
                },
            }));
            *p = reference;
            adjustments.push(format!(
                "{schema_name}.{property}: maxLength {max}, as cockpit_generated::Limited<{max}>"
            ));
            hoisted.push((name, component));
        }
    }
    for (name, component) in hoisted {
        components
            .schemas
            .insert(name, ReferenceOr::Item(component));
    }
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("options", item.options.as_mut()),
        ("head", item.head.as_mut()),
        ("patch", item.patch.as_mut()),
        ("trace", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.map(|op| (method, op)))
}

fn is_error(status: &StatusCode) -> bool {
    match status {
        StatusCode::Code(code) => *code >= 400,
        StatusCode::Range(range) => *range >= 4,
    }
}

/// What identifies a response body's type: its schema reference, or its inline schema.
fn body_key(response: &Response) -> Option<String> {
    let media = response.content.values().next()?;
    Some(match &media.schema {
        Some(ReferenceOr::Reference { reference }) => reference.clone(),
        Some(ReferenceOr::Item(schema)) => format!("{schema:?}"),
        None => "(no schema)".to_string(),
    })
}

/// A parameter's name, looking through a local reference.
fn parameter_name(
    p: &ReferenceOr<Parameter>,
    components: Option<&openapiv3::Components>,
) -> Option<String> {
    resolve_parameter(p, components).map(|p| p.parameter_data_ref().name.clone())
}

/// Whether a parameter is a header, looking through a local reference.
fn parameter_in_header(
    p: &ReferenceOr<Parameter>,
    components: Option<&openapiv3::Components>,
) -> Option<bool> {
    resolve_parameter(p, components).map(|p| matches!(p, Parameter::Header { .. }))
}

pub(crate) fn resolve_parameter<'a>(
    p: &'a ReferenceOr<Parameter>,
    components: Option<&'a openapiv3::Components>,
) -> Option<&'a Parameter> {
    match p {
        ReferenceOr::Item(p) => Some(p),
        ReferenceOr::Reference { reference } => components?
            .parameters
            .get(reference.strip_prefix("#/components/parameters/")?)?
            .as_item(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> OpenAPI {
        serde_yaml_ng::from_str(yaml).expect("test spec parses")
    }

    const MIXED: &str = r##"
openapi: 3.0.3
info: { title: t, version: v1 }
security: [ { Bearer: [] } ]
paths:
  /things/{id}:
    patch:
      operationId: patchThing
      parameters:
        - { name: id, in: path, required: true, schema: { type: string } }
        - { name: X-Tenant, in: header, required: true, schema: { type: string } }
      responses:
        "200": { description: OK }
        "400": { $ref: "#/components/responses/Bad" }
        "401": { description: Unauthorized }
components:
  securitySchemes:
    Bearer: { type: http, scheme: bearer }
  responses:
    Bad:
      description: Bad
      content:
        application/json:
          schema: { $ref: "#/components/schemas/Err" }
  schemas:
    Err: { type: object, properties: { a: { type: string } } }
"##;

    /// Generation is deterministic: the same spec gives the same bytes twice over.
    #[test]
    fn generating_twice_gives_identical_bytes() {
        let root = workspace_root();
        assert_eq!(generate(&root).unwrap(), generate(&root).unwrap());
    }

    /// The drift check as a test, so that a plain `cargo test` catches a stale client.
    #[test]
    fn checked_in_files_are_fresh() {
        let root = workspace_root();
        for (file, fresh) in generate(&root).unwrap() {
            match compare(file, &root.join(file), &fresh).unwrap() {
                Freshness::Fresh => {}
                Freshness::Stale(diff) => panic!("{file} is stale; run `{FIX}`\n{diff}"),
            }
        }
    }

    #[test]
    fn a_changed_description_makes_the_check_fail_with_a_diff_naming_the_spec() {
        let root = workspace_root();
        let text = fs::read_to_string(root.join(SPEC)).unwrap();
        let edited = text.replace(
            "description: GUID Unique identifier for the customer user.",
            "description: Edited by a test.",
        );
        assert_ne!(text, edited, "the test's edit must apply to the spec");
        let dir = std::env::temp_dir().join(format!("xtask-drift-{}", std::process::id()));
        fs::create_dir_all(dir.join("openapi")).unwrap();
        fs::write(dir.join(SPEC), edited).unwrap();
        fs::create_dir_all(dir.join("crates/fixture")).unwrap();
        fs::copy(root.join(FIXTURE_OVERLAY), dir.join(FIXTURE_OVERLAY)).unwrap();
        fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        let outputs = generate(&dir).unwrap();
        fs::remove_dir_all(&dir).ok();
        let (file, fresh) = &outputs[0];
        let Freshness::Stale(diff) = compare(file, &root.join(file), fresh).unwrap() else {
            panic!("an edited spec must be drift")
        };
        assert!(diff.contains(SPEC), "the diff names the spec: {diff}");
        assert!(
            diff.contains("+- `customer_user_id`: Edited by a test."),
            "the diff shows the change: {diff}"
        );
        assert!(
            diff.contains("-// spec sha256:"),
            "the fingerprint moves too: {diff}"
        );
        // The facade's glue carries the parameter's description into its setter's doc.
        let (file, fresh) = &outputs[1];
        let Freshness::Stale(diff) = compare(file, &root.join(file), fresh).unwrap() else {
            panic!("an edited spec must be drift in the facade too")
        };
        assert!(diff.contains("Edited by a test."), "{diff}");
    }

    #[test]
    fn pipeline_headers_leave_the_parameters_and_the_header_says_so() {
        let (out, adjustments, _) = prepare(spec(MIXED)).unwrap();
        let op = out.paths.paths["/things/{id}"]
            .as_item()
            .unwrap()
            .patch
            .as_ref()
            .unwrap();
        let names: Vec<String> = op
            .parameters
            .iter()
            .filter_map(|p| p.as_item())
            .map(|p| p.parameter_data_ref().name.clone())
            .collect();
        assert_eq!(names, ["id"], "X-Tenant leaves; the path parameter stays");
        assert!(
            adjustments.iter().any(|a| a.starts_with(
                "patchThing: headers Authorization (bearer security scheme), X-Tenant left to the facade's pipeline"
            )),
            "{adjustments:?}"
        );
    }

    #[test]
    fn an_idempotency_override_is_listed() {
        let (_, adjustments, _) = prepare(spec(MIXED)).unwrap();
        assert!(
            !adjustments
                .iter()
                .any(|a| a.contains("x-cockpit-idempotent"))
        );
        let overridden = MIXED.replace(
            "      operationId: patchThing\n",
            "      operationId: patchThing\n      x-cockpit-idempotent: true\n",
        );
        let (_, adjustments, _) = prepare(spec(&overridden)).unwrap();
        assert!(
            adjustments.iter().any(|a| a
                == "patchThing: PATCH idempotent by `x-cockpit-idempotent` in the spec, against its method's default"),
            "{adjustments:?}"
        );
        let wrong = MIXED.replace(
            "      operationId: patchThing\n",
            "      operationId: patchThing\n      x-cockpit-idempotent: maybe\n",
        );
        let err = format!("{:#}", prepare(spec(&wrong)).unwrap_err());
        assert!(
            err.contains("x-cockpit-idempotent must be true or false"),
            "{err}"
        );
    }

    #[test]
    fn bodiless_error_responses_are_dropped_only_when_mixed_with_bodies() {
        let (out, adjustments, _) = prepare(spec(MIXED)).unwrap();
        let op = out.paths.paths["/things/{id}"]
            .as_item()
            .unwrap()
            .patch
            .as_ref()
            .unwrap();
        let kept: Vec<String> = op
            .responses
            .responses
            .keys()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(kept, ["200", "400"]);
        assert!(adjustments.iter().any(|a| a.contains("responses 401")));

        // With no error body at all there is nothing to mix, and nothing is dropped.
        let plain = MIXED.replace(
            r##"{ $ref: "#/components/responses/Bad" }"##,
            "{ description: Bad }",
        );
        let (out, adjustments, _) = prepare(spec(&plain)).unwrap();
        let op = out.paths.paths["/things/{id}"]
            .as_item()
            .unwrap()
            .patch
            .as_ref()
            .unwrap();
        assert_eq!(op.responses.responses.len(), 3);
        assert!(!adjustments.iter().any(|a| a.contains("left out")));
    }

    #[test]
    fn two_request_media_types_are_refused_naming_the_operation() {
        let two = MIXED.replace(
            "      responses:\n        \"200\"",
            "      requestBody:\n        content:\n          application/json: { schema: { type: object } }\n          text/plain: { schema: { type: string } }\n      responses:\n        \"200\"",
        );
        let err = prepare(spec(&two)).unwrap_err().to_string();
        assert!(
            err.starts_with("patchThing: the request body has 2 media types"),
            "{err}"
        );
    }

    #[test]
    fn two_error_body_types_are_refused_naming_the_operation() {
        let two = MIXED.replace(
            "\"401\": { description: Unauthorized }",
            "\"401\": { description: U, content: { application/json: { schema: { type: string } } } }",
        );
        let err = prepare(spec(&two)).unwrap_err().to_string();
        assert!(
            err.starts_with("patchThing: the error responses have 2 different bodies"),
            "{err}"
        );
    }

    /// A schema that both directions use is split; the response side reads any property
    /// absent, keeps unknown ones, reads past a request limit and keeps an enum open; the
    /// request side keeps every limit; the drift walk checks what the spec promised.
    #[test]
    fn responses_are_read_tolerantly_and_requests_stay_strict() {
        let yaml = r##"
openapi: 3.0.3
info: { title: t, version: v1 }
paths:
  /things:
    post:
      operationId: putThing
      requestBody:
        required: true
        content: { application/json: { schema: { $ref: "#/components/schemas/Thing" } } }
      responses:
        "200":
          description: OK
          content: { application/json: { schema: { $ref: "#/components/schemas/Thing" } } }
components:
  schemas:
    Thing:
      type: object
      additionalProperties: false
      required: [name, state]
      properties:
        name: { type: string, maxLength: 5 }
        state: { type: string, enum: [On, Off] }
"##;
        let (prepared, adjustments, promises) = prepare(spec(yaml)).unwrap();
        assert!(
            adjustments.iter().any(|a| a
                == "Thing: used by requests and responses; requests send ThingInput (strict, as the spec says), responses read Thing (tolerant)"),
            "{adjustments:?}"
        );
        assert_eq!(promises["Thing"][0].max_length, Some(5));
        assert!(promises["Thing"].iter().all(|p| p.always));
        let (file, _) = render(&prepared).unwrap();
        let text = prettyplease::unparse(&file);
        let drift = crate::directions::drift_impls(&file, &promises)
            .unwrap()
            .to_string();
        let conversions = crate::facade::conversions(&file).unwrap().to_string();
        for (what, needle) in [
            (
                "the read type keeps unknown properties",
                "pub extra: ::serde_json::Map<",
            ),
            (
                "the read type keeps the enum open",
                "::cockpit_generated::Open<ThingState>",
            ),
            (
                "the request type keeps the limit",
                "::cockpit_generated::Limited<5>",
            ),
            (
                "the request type refuses unknown properties",
                "#[serde(deny_unknown_fields)]\n    pub struct ThingInput",
            ),
        ] {
            assert!(text.contains(needle), "{what}: {needle}\n{text}");
        }
        assert!(drift.contains("report . missing (\"name\""), "{drift}");
        assert!(drift.contains("report . over_limit (\"name\""), "{drift}");
        assert!(drift.contains("report . nested (\"state\""), "{drift}");
        assert!(
            conversions.contains("TryFrom < types :: Thing > for types :: ThingInput"),
            "{conversions}"
        );
    }

    #[test]
    fn fingerprint_ignores_line_endings_only() {
        assert_eq!(fingerprint("a\nb\n"), fingerprint("a\r\nb\r\n"));
        assert_ne!(fingerprint("a\nb\n"), fingerprint("a\nc\n"));
        assert_eq!(fingerprint("").len(), 64);
    }
}
