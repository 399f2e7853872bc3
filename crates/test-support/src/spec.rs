//! Calls of any operation with values made from the spec: every parameter from its type,
//! a body and a success answer from their schemas. Tests built on these name no operation,
//! so an operation added to the spec is covered by `cargo xtask codegen` alone.

use cockpit::{Client, DynamicCall, Operation};
use serde_json::{Map, Value, json};

use crate::{CORRELATION, CUSTOMER, uuid};

/// The spec, as JSON.
pub fn spec() -> Value {
    let text = std::fs::read_to_string(crate::root().join("openapi/cloudcockpit.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => spec.pointer(r.trim_start_matches('#')).unwrap(),
        None => schema,
    }
}

/// A value that the schema accepts, with every field it allows set, so that a decode of
/// it shows each field.
pub fn example(spec: &Value, schema: &Value, name: &str) -> Value {
    let schema = resolve(spec, schema);
    match schema["type"].as_str() {
        Some("object") => {
            let mut out = Map::new();
            for (key, property) in schema["properties"].as_object().into_iter().flatten() {
                out.insert(key.clone(), example(spec, property, key));
            }
            Value::Object(out)
        }
        Some("array") => json!([example(spec, &schema["items"], name)]),
        Some("integer") => json!(2),
        Some("number") => json!(2.5),
        Some("boolean") => json!(true),
        _ if schema["format"] == "uuid" => json!(CUSTOMER),
        _ if schema["enum"].is_array() => schema["enum"][0].clone(),
        _ => json!(format!("{name}-1")),
    }
}

/// `op`'s object in the spec.
pub fn operation<'a>(spec: &'a Value, op: &Operation) -> &'a Value {
    &spec["paths"][op.path][op.method.as_str().to_ascii_lowercase()]
}

/// The value [`call`] sets for the parameter with this type hint.
pub fn param_value(name: &str, hint: &str) -> String {
    match hint {
        "uuid" => CUSTOMER.to_string(),
        "int32" | "int64" | "integer" => "2".to_string(),
        hint if hint.contains('|') => hint.split('|').next().unwrap_or_default().to_string(),
        _ => format!("{name}-1"),
    }
}

/// `op`'s request body, from its schema, if it has one.
pub fn body(spec: &Value, op: &Operation) -> Option<Value> {
    op.body.is_some().then(|| {
        let schema = &operation(spec, op)["requestBody"]["content"]["application/json"]["schema"];
        example(spec, schema, "body")
    })
}

/// A documented 200 body of `op`, from its schema; `None` when the 200 has none.
pub fn success(spec: &Value, op: &Operation) -> Option<Value> {
    let schema = &operation(spec, op)["responses"]["200"]["content"]["application/json"]["schema"];
    (!schema.is_null()).then(|| example(spec, schema, "value"))
}

/// A call of `op` with every parameter set, the body from the spec, and the test
/// correlation id.
pub fn call(client: &Client, spec: &Value, op: &'static Operation) -> DynamicCall {
    let mut call = client.call(op);
    for p in op.params {
        call = call.param(p.name, param_value(p.name, p.hint));
    }
    if let Some(body) = body(spec, op) {
        call = call.body_json(body);
    }
    call.correlation_id(uuid(CORRELATION))
}

/// The path that `op`'s template gives with the values that [`call`] sets.
pub fn path(op: &Operation) -> String {
    let mut path = op.path.to_string();
    for p in op.params {
        path = path.replace(&format!("{{{}}}", p.name), &param_value(p.name, p.hint));
    }
    path
}

/// The `cockpit` arguments that make the same call as [`call`]: the subcommand, a flag per
/// parameter and the correlation id; the body, if any, goes on stdin (`--body-json -`).
pub fn cli_args(op: &Operation) -> Vec<String> {
    let mut args = vec![op.command.to_string()];
    for p in op.params {
        args.push(format!("--{}", p.flag));
        args.push(param_value(p.name, p.hint));
    }
    if op.body.is_some() {
        args.extend(["--body-json".to_string(), "-".to_string()]);
    }
    args.extend(["--correlation-id".to_string(), CORRELATION.to_string()]);
    args
}

/// The JSON pointers of every object in `value` (itself included), at any depth.
pub fn objects(value: &Value) -> Vec<String> {
    fn walk(value: &Value, at: String, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    walk(
                        v,
                        format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    );
                }
                out.push(at);
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(v, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
}

/// Every property of every object in `value`: the pointer of its object, and its name.
pub fn properties(value: &Value) -> Vec<(String, String)> {
    objects(value)
        .into_iter()
        .flat_map(|at| {
            let names: Vec<String> = value
                .pointer(&at)
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            names.into_iter().map(move |name| (at.clone(), name))
        })
        .collect()
}

/// The pointers of the strings in `value` whose schema gives a `maxLength`, with it.
pub fn limited_strings(spec: &Value, schema: &Value, value: &Value) -> Vec<(String, usize)> {
    fn walk(
        spec: &Value,
        schema: &Value,
        value: &Value,
        at: String,
        out: &mut Vec<(String, usize)>,
    ) {
        let schema = resolve(spec, schema);
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    walk(spec, &schema["properties"][k], v, format!("{at}/{k}"), out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(spec, &schema["items"], v, format!("{at}/{i}"), out);
                }
            }
            Value::String(_) => {
                if let Some(max) = schema["maxLength"].as_u64() {
                    out.push((at, max as usize));
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(spec, schema, value, String::new(), &mut out);
    out
}

/// The schema of `op`'s documented 200 body, if it has one.
pub fn success_schema<'a>(spec: &'a Value, op: &Operation) -> Option<&'a Value> {
    let schema = &operation(spec, op)["responses"]["200"]["content"]["application/json"]["schema"];
    (!schema.is_null()).then_some(schema)
}

/// `value` as JSON text with every integer written as an integral float (`2` as `2.0`).
pub fn integral_floats(value: &Value) -> String {
    match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => format!("{n}.0"),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(integral_floats)
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), integral_floats(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}
