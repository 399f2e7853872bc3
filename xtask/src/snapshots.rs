//! The generator pinned by snapshots, as progenitor pins its own: for each small spec in
//! `xtask/snapshots/`, the client and the facade glue that `cargo xtask codegen` would
//! generate from it are compared with the checked-in `<spec>.sdk.rs` and `<spec>.ops.rs`.
//! A change to the generator shows as a reviewable diff; `EXPECTORATE=overwrite cargo test
//! -p xtask snapshots` rewrites them. Nothing here compiles the output: the fixture
//! packages (`crates/fixture`) do that for a spec the code has never seen.

use std::fs;

use crate::codegen::{from_spec, workspace_root};

/// Each shape the generator must handle, one small spec each.
const SPECS: &[&str] = &[
    "query_ranges_enum",
    "limited_body_idempotent",
    "array_response",
    "nested_objects",
    "string_response",
    "paged_list",
];

#[test]
fn the_generator_output_for_each_small_spec_is_the_checked_in_snapshot() {
    let dir = workspace_root().join("xtask/snapshots");
    for name in SPECS {
        let text = fs::read_to_string(dir.join(format!("{name}.yaml"))).unwrap();
        let (sdk, ops) = from_spec(
            &text,
            &format!("xtask/snapshots/{name}.yaml"),
            "(pinned by the snapshot)",
        )
        .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        expectorate::assert_contents(dir.join(format!("{name}.sdk.rs")), &sdk);
        expectorate::assert_contents(dir.join(format!("{name}.ops.rs")), &ops);
    }
}

#[test]
fn the_snapshots_show_each_shape() {
    let dir = workspace_root().join("xtask/snapshots");
    let ops = |name: &str| fs::read_to_string(dir.join(format!("{name}.ops.rs"))).unwrap();
    // A ranged query is checked as a whole number; an enum is its generated type.
    let query = ops("query_ranges_enum");
    assert!(
        query.contains("self.int_param(0usize, value, |i| &mut i.size)"),
        "{query}"
    );
    assert!(query.contains("minimum: Some(1i64)"), "{query}");
    assert!(query.contains("types::ListThingsOrder"), "{query}");
    // The override makes a POST idempotent; the body's property has a setter.
    let body = ops("limited_body_idempotent");
    assert!(
        body.contains("idempotent: true") && body.contains("Method::POST"),
        "{body}"
    );
    assert!(body.contains("pub fn name<V>"), "{body}");
    assert!(body.contains("Body::Json { required: true }"), "{body}");
    // An array answer is a Vec of the tolerant type.
    assert!(ops("array_response").contains("type Value = ::std::vec::Vec<types::Thing>;"));
    // A string answer is a String; a limited string parameter is checked by its length.
    let string = ops("string_response");
    assert!(
        string.contains("type Value = ::std::string::String;"),
        "{string}"
    );
    assert!(string.contains("self.text_param(0usize"), "{string}");
    // A paged list walks its pages.
    let paged = ops("paged_list");
    assert!(
        paged.contains("pub fn pages(")
            && paged.contains("impl crate::paging::Paged for types::ThingPage"),
        "{paged}"
    );
    // Nested objects are read tolerantly at every depth.
    let nested = fs::read_to_string(dir.join("nested_objects.sdk.rs")).unwrap();
    assert!(
        nested.contains("impl ::cockpit_generated::drift::Drift for types::Part"),
        "{nested}"
    );
}
