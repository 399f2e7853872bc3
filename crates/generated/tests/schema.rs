//! The JSON Schema of the generated Rust types agrees with the spec: the same field names,
//! the same required lists, and no unknown fields in `customerUser`.

use std::collections::BTreeSet;

use cockpit_generated::types;
use serde_json::Value;

fn spec_schemas() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../openapi/cloudcockpit.yaml"
    );
    let text = std::fs::read_to_string(path).expect("the spec is in the workspace");
    let spec: Value = serde_yaml_ng::from_str(&text).expect("the spec is YAML");
    spec["components"]["schemas"].clone()
}

fn names(schema: &Value, key: &str) -> BTreeSet<String> {
    match &schema[key] {
        Value::Object(map) => map.keys().cloned().collect(),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect(),
        Value::Null => BTreeSet::new(),
        other => panic!("unexpected {key}: {other}"),
    }
}

#[test]
fn request_body_schema_from_rust_types_matches_the_spec() {
    let spec = spec_schemas();
    let rust = serde_json::to_value(schemars::schema_for!(types::ResetPasswordRequest)).unwrap();
    let rust_user = &rust["definitions"]["CustomerUserInput"];

    for (what, from_rust, from_spec) in [
        ("ResetPasswordRequest", &rust, &spec["ResetPasswordRequest"]),
        ("CustomerUser", rust_user, &spec["CustomerUser"]),
    ] {
        assert!(
            !names(from_spec, "properties").is_empty(),
            "{what} has properties in the spec"
        );
        assert_eq!(
            names(from_rust, "properties"),
            names(from_spec, "properties"),
            "{what}: property names"
        );
    }
    assert_eq!(
        names(&rust, "required"),
        names(&spec["ResetPasswordRequest"], "required"),
        "ResetPasswordRequest: required"
    );

    // schemars 0.8 lists no `Option` field as required, although the generated type
    // refuses JSON in which a required-but-nullable field is missing. So the required list
    // of CustomerUser is read off the type's behaviour: drop one field at a time from a
    // complete object and see whether it still deserializes.
    let complete = serde_json::json!({
        "id": "3f1c9a52-8a7e-4d7c-9a55-0c1e2b3d4f50", "displayName": "d", "email": "e",
        "firstName": "f", "lastName": "l", "location": "p", "temporaryPassword": "t",
        "domain": "c"
    });
    assert_eq!(
        complete
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<BTreeSet<_>>(),
        names(&spec["CustomerUser"], "properties")
    );
    serde_json::from_value::<types::CustomerUserInput>(complete.clone()).expect("complete decodes");
    let required_by_type: BTreeSet<String> = complete
        .as_object()
        .unwrap()
        .keys()
        .filter(|field| {
            let mut partial = complete.clone();
            partial.as_object_mut().unwrap().remove(*field);
            serde_json::from_value::<types::CustomerUserInput>(partial).is_err()
        })
        .cloned()
        .collect();
    assert_eq!(
        required_by_type,
        names(&spec["CustomerUser"], "required"),
        "CustomerUser: required"
    );
    assert!(names(rust_user, "required").is_subset(&required_by_type));
    assert_eq!(
        spec["CustomerUser"]["additionalProperties"],
        Value::Bool(false)
    );
    assert_eq!(rust_user["additionalProperties"], Value::Bool(false));

    // The response type from the same schema reads what the request type refuses: any
    // property absent, an unknown one (kept), and a value over a request limit.
    let mut read = complete.clone();
    read.as_object_mut().unwrap().remove("domain");
    read["displayName"] = Value::String("d".repeat(64));
    read["userPrincipalName"] = Value::String("ada@contoso.example".into());
    assert!(serde_json::from_value::<types::CustomerUserInput>(read.clone()).is_err());
    let user = serde_json::from_value::<types::CustomerUser>(read).expect("read tolerantly");
    assert_eq!(user.display_name.as_deref(), Some("d".repeat(64).as_str()));
    assert_eq!(user.domain, None);
    assert_eq!(user.extra["userPrincipalName"], "ada@contoso.example");
}

#[test]
fn error_body_schema_from_rust_types_matches_the_spec() {
    let spec = spec_schemas();
    let rust = serde_json::to_value(schemars::schema_for!(types::ErrorResponse)).unwrap();
    assert_eq!(
        names(&rust, "properties"),
        names(&spec["ErrorResponse"], "properties")
    );
    assert_eq!(
        names(&rust["definitions"]["ErrorDetail"], "properties"),
        names(&spec["ErrorDetail"], "properties")
    );
}
