//! The contract check: every API request the mock receives is held to the spec before any
//! expectation or the state sees it, as a strict server would. Nothing here names an
//! operation: the checks come from `openapi/cloudcockpit.yaml`, read when the mock starts.
//!
//! - **Security.** `Authorization: Bearer <token>` with the mock's configured token, or a
//!   token its token endpoint issued and has not revoked; otherwise 401 with no body, as
//!   the pages document it.
//! - **Parameters.** Each path, query and header parameter that the operation declares,
//!   against its schema: required, type, format, `minimum`/`maximum`, enum; `X-Tenant`
//!   must also be the mock's tenant when one is required.
//! - **Body.** JSON, against the operation's schema: `required`, types, formats,
//!   `maxLength`, `nullable`, `additionalProperties: false`.
//! - **Method.** A method the spec does not declare on a known path is 405.
//!
//! A request that breaks the contract gets 400 with the API's error body: `errors` names
//! each offending property (`propertyName`, `description`), and `correlationId` is the
//! request's. The schemas are checked with the `jsonschema` crate (draft 2020-12, formats
//! checked), after the OpenAPI 3.0 dialect is turned into JSON Schema: `nullable` becomes
//! a `null` alternative, and `int32` gets its range.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use cockpit::{OPERATIONS, Operation};
use serde_json::{Map, Value, json};
use wiremock::{Match, Request, Respond, ResponseTemplate};

use crate::{Received, tokens::Tokens};

/// The spec the mock holds requests to: the one the client was generated from.
const SPEC: &str = cockpit::SPEC;

/// The spec as JSON, parsed once for the process (`Null` if it does not parse, which
/// [`Contract::from_spec`] reports).
fn spec() -> &'static Value {
    static PARSED: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    PARSED.get_or_init(|| serde_yaml_ng::from_str(SPEC).unwrap_or(Value::Null))
}

/// One parameter's check.
struct ParamCheck {
    name: String,
    location: String,
    required: bool,
    integer: bool,
    schema: jsonschema::Validator,
}

/// One operation's checks.
struct OpCheck {
    op: &'static Operation,
    params: Vec<ParamCheck>,
    /// The body's schema, and whether a body is required.
    body: Option<(jsonschema::Validator, bool)>,
}

/// What the mock requires of every request; built once from the spec.
pub(crate) struct Contract {
    ops: Vec<OpCheck>,
    /// The spec's component schemas, as JSON Schema.
    components: Value,
    /// Answers as a .NET service does ([`crate::MockCloudCockpit::realistic`]).
    pub(crate) realistic: AtomicBool,
    tokens: Arc<Tokens>,
    /// Any bearer token is accepted ([`crate::MockCloudCockpit::accept_any_token`]).
    pub(crate) any_token: AtomicBool,
    /// The tenant `X-Tenant` must be, when set.
    pub(crate) tenant: std::sync::Mutex<Option<String>>,
    /// Bearer tokens accepted beside the mock's own and the issued ones.
    pub(crate) tokens_accepted: std::sync::Mutex<Vec<String>>,
}

impl std::fmt::Debug for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contract")
            .field("operations", &self.ops.len())
            .field("any_token", &self.any_token)
            .finish_non_exhaustive()
    }
}

/// Why a request was refused.
#[derive(Debug, PartialEq)]
pub(crate) enum Breach {
    /// No accepted bearer token: 401, no body.
    Unauthorized,
    /// A method the path does not declare: 405.
    Method(String),
    /// Properties that break the contract: 400, each with its descriptions.
    Invalid(Vec<(String, Vec<String>)>),
}

/// The OpenAPI 3.0 schema `schema` as JSON Schema: `nullable` as a `null` alternative, an
/// `int32` with its range, at any depth.
fn json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out: Map<String, Value> = map
                .iter()
                .filter(|(k, _)| k.as_str() != "nullable" && k.as_str() != "example")
                .map(|(k, v)| (k.clone(), json_schema(v)))
                .collect();
            if map.get("format").and_then(Value::as_str) == Some("int32") {
                out.entry("minimum").or_insert(json!(i32::MIN));
                out.entry("maximum").or_insert(json!(i32::MAX));
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                let description = out.remove("description");
                let mut nullable = Map::new();
                nullable.insert(
                    "anyOf".into(),
                    json!([Value::Object(out), {"type": "null"}]),
                );
                if let Some(d) = description {
                    nullable.insert("description".into(), d);
                }
                return Value::Object(nullable);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(json_schema).collect()),
        other => other.clone(),
    }
}

impl Contract {
    /// The contract of every operation in `cockpit::OPERATIONS`, from the spec.
    ///
    /// # Panics
    ///
    /// When the spec that `cockpit` was generated from does not parse, or a schema in it
    /// does not compile: a broken build of this crate, not a test's doing.
    pub(crate) fn from_spec(tokens: Arc<Tokens>) -> Contract {
        let spec = spec();
        assert!(spec.is_object(), "the spec parses");
        let components = json_schema(&spec["components"]);
        let compile = |schema: &Value| {
            let mut root = json_schema(schema);
            if let Value::Object(map) = &mut root {
                map.insert("components".into(), components.clone());
            }
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .build(&root)
                .expect("the spec's schemas compile")
        };
        let resolve = |p: &Value| -> Value {
            match p.get("$ref").and_then(Value::as_str) {
                Some(r) => spec
                    .pointer(r.trim_start_matches('#'))
                    .cloned()
                    .unwrap_or(Value::Null),
                None => p.clone(),
            }
        };
        let ops = OPERATIONS
            .iter()
            .map(|op| {
                let at = &spec["paths"][op.path][op.method.as_str().to_ascii_lowercase()];
                let params = at["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(resolve)
                    .map(|p| ParamCheck {
                        name: p["name"].as_str().unwrap_or_default().to_string(),
                        location: p["in"].as_str().unwrap_or_default().to_string(),
                        required: p["required"] == true,
                        integer: p["schema"]["type"] == "integer",
                        schema: compile(&p["schema"]),
                    })
                    .collect();
                let body = at["requestBody"]["content"]["application/json"]["schema"]
                    .is_object()
                    .then(|| {
                        (
                            compile(&at["requestBody"]["content"]["application/json"]["schema"]),
                            at["requestBody"]["required"] == true,
                        )
                    });
                OpCheck { op, params, body }
            })
            .collect();
        Contract {
            ops,
            components,
            realistic: AtomicBool::new(false),
            tokens,
            any_token: AtomicBool::new(false),
            tenant: std::sync::Mutex::new(None),
            tokens_accepted: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// What `request` breaks, if anything. `None` also for a request to no path of the
    /// spec (the token endpoint's, or one the state answers 404).
    pub(crate) fn breach(&self, request: &Request) -> Option<Breach> {
        let on_path: Vec<&OpCheck> = self
            .ops
            .iter()
            .filter(|c| crate::path_params(c.op.path, request.url.path()).is_some())
            .collect();
        if on_path.is_empty() {
            return None;
        }
        let Some(check) = on_path.iter().find(|c| {
            request
                .method
                .as_str()
                .eq_ignore_ascii_case(c.op.method.as_str())
        }) else {
            let allowed: Vec<&str> = on_path.iter().map(|c| c.op.method.as_str()).collect();
            return Some(Breach::Method(allowed.join(", ")));
        };
        if !self.authorized(request) {
            return Some(Breach::Unauthorized);
        }
        let received = Received::of(check.op, request)?;
        let mut problems: Vec<(String, Vec<String>)> = Vec::new();
        for p in &check.params {
            let raw = match p.location.as_str() {
                "path" => received.path.get(&p.name).cloned(),
                "query" => received.query.get(&p.name).cloned(),
                "header" => request
                    .headers
                    .get(p.name.as_str())
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
                _ => None,
            };
            let Some(raw) = raw else {
                if p.required {
                    problems.push((
                        p.name.clone(),
                        vec![format!("The {} field is required.", p.name)],
                    ));
                }
                continue;
            };
            let value = if p.integer {
                match raw.trim().parse::<i64>() {
                    Ok(n) => json!(n),
                    Err(_) => {
                        problems.push((
                            p.name.clone(),
                            vec![format!("The value '{raw}' is not valid.")],
                        ));
                        continue;
                    }
                }
            } else {
                Value::String(raw)
            };
            let messages: Vec<String> = p
                .schema
                .iter_errors(&value)
                .map(|e| e.to_string())
                .collect();
            if !messages.is_empty() {
                problems.push((p.name.clone(), messages));
            }
            if p.name.eq_ignore_ascii_case("X-Tenant")
                && let Some(tenant) = self
                    .tenant
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .as_ref()
                && value.as_str() != Some(tenant.as_str())
            {
                problems.push((
                    p.name.clone(),
                    vec![format!("The tenant is not {tenant:?}.")],
                ));
            }
        }
        if let Some((schema, required)) = &check.body {
            let json_type = received.content_type.as_deref().is_some_and(|t| {
                t.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
            });
            if request.body.is_empty() {
                if *required {
                    problems.push((
                        "body".into(),
                        vec!["A non-empty request body is required.".into()],
                    ));
                }
            } else if !json_type {
                problems.push((
                    "body".into(),
                    vec!["The body must be application/json.".into()],
                ));
            } else {
                match serde_json::from_slice::<Value>(&request.body) {
                    Err(e) => {
                        problems.push(("body".into(), vec![format!("The body is not JSON: {e}.")]))
                    }
                    Ok(body) => {
                        for e in schema.iter_errors(&body) {
                            problems.push((property_name(&e), vec![e.to_string()]));
                        }
                    }
                }
            }
        }
        (!problems.is_empty()).then_some(Breach::Invalid(problems))
    }

    /// What `value` breaks of the component schema `name`, as `property: why` lines.
    pub(crate) fn schema_problems(&self, name: &str, value: &Value) -> Vec<String> {
        schema_problems(&self.components, name, value)
    }

    pub(crate) fn is_realistic(&self) -> bool {
        self.realistic.load(Ordering::Relaxed)
    }

    fn authorized(&self, request: &Request) -> bool {
        if self.any_token.load(Ordering::Relaxed) {
            return true;
        }
        let Some(token) = crate::tokens::bearer(request) else {
            return false;
        };
        token == crate::MockCloudCockpit::TOKEN
            || self.tokens.accepts(token)
            || self
                .tokens_accepted
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .any(|t| t == token)
    }
}

/// Fills in `null` for each property of `value` that the component schema `name` marks
/// required and nullable and that `value` leaves out: a response type drops its `None`s
/// when serialized, and the API sends them as `null`.
pub(crate) fn with_required_nulls(name: &str, value: &mut Value) {
    let schema = &spec()["components"]["schemas"][name];
    let Some(map) = value.as_object_mut() else {
        return;
    };
    for required in schema["required"].as_array().into_iter().flatten() {
        let Some(key) = required.as_str() else {
            continue;
        };
        if schema["properties"][key]["nullable"] == true {
            map.entry(key).or_insert(Value::Null);
        }
    }
}

/// The spec's component schemas, as JSON Schema.
pub(crate) fn components() -> Value {
    json_schema(&spec()["components"])
}

/// What `value` breaks of the component schema `name` of `components`, as
/// `property: why` lines.
pub(crate) fn schema_problems(components: &Value, name: &str, value: &Value) -> Vec<String> {
    let root = json!({
        "$ref": format!("#/components/schemas/{name}"),
        "components": components,
    });
    let Ok(validator) = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
    else {
        return vec![format!("the spec has no schema {name}")];
    };
    validator
        .iter_errors(value)
        .map(|e| format!("{}: {e}", property_name(&e)))
        .collect()
}

/// The property a schema error is about, as the API names it: `customerUser.displayName`,
/// and for a missing or unexpected property, that property.
fn property_name(e: &jsonschema::ValidationError<'_>) -> String {
    let mut path: Vec<String> = e
        .instance_path()
        .as_str()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    match e.kind() {
        jsonschema::error::ValidationErrorKind::Required { property } => {
            path.push(property.as_str().unwrap_or_default().to_string());
        }
        jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
            path.push(unexpected.join(", "));
        }
        _ => {}
    }
    if path.is_empty() {
        "body".into()
    } else {
        path.join(".")
    }
}

/// Matches the requests that break the contract.
pub(crate) struct Breaks(pub(crate) Arc<Contract>);

impl Match for Breaks {
    fn matches(&self, request: &Request) -> bool {
        self.0.breach(request).is_some()
    }
}

/// Answers a request that breaks the contract as the pages document it.
pub(crate) struct Refuse(pub(crate) Arc<Contract>);

impl Respond for Refuse {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let correlation = request
            .headers
            .get("x-correlation-id")
            .and_then(|v| v.to_str().ok());
        match self.0.breach(request) {
            Some(Breach::Unauthorized) => ResponseTemplate::new(401),
            Some(Breach::Method(allowed)) => {
                ResponseTemplate::new(405).insert_header("allow", allowed.as_str())
            }
            // As ASP.NET Core answers a validation failure: RFC 9457 problem details.
            Some(Breach::Invalid(problems)) if self.0.is_realistic() => {
                let errors: Map<String, Value> = problems
                    .into_iter()
                    .map(|(name, descriptions)| (name, json!(descriptions)))
                    .collect();
                let body = json!({
                    "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
                    "title": "One or more validation errors occurred.",
                    "status": 400,
                    "errors": errors,
                    "traceId": format!("00-{}-00", correlation.unwrap_or("0").replace('-', "")),
                });
                ResponseTemplate::new(400)
                    .set_body_raw(body.to_string(), "application/problem+json; charset=utf-8")
            }
            Some(Breach::Invalid(problems)) => ResponseTemplate::new(400).set_body_json(json!({
                "statusCode": 400,
                "type": "ValidationError",
                "description": "The request does not satisfy the API's contract.",
                "correlationId": correlation.filter(|c| c.parse::<cockpit::Uuid>().is_ok()),
                "errors": problems.into_iter().map(|(name, descriptions)| json!({
                    "propertyName": name, "description": descriptions
                })).collect::<Vec<_>>(),
            })),
            // The request changed between the match and the answer: it cannot, but the
            // state answers then.
            None => ResponseTemplate::new(500),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_and_int32_become_json_schema() {
        assert_eq!(
            json_schema(&json!({"type": "string", "nullable": true, "maxLength": 5})),
            json!({"anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}]})
        );
        assert_eq!(
            json_schema(&json!({"type": "integer", "format": "int32"})),
            json!({"type": "integer", "format": "int32", "minimum": i32::MIN, "maximum": i32::MAX})
        );
    }
}
