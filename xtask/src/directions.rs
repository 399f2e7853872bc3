//! Strict on what we send, tolerant on what we read: one schema in the spec, a type for
//! each direction in the generated client.
//!
//! The spec describes each schema once, with the limits that the vendor's pages give for
//! requests (`maxLength`, `required`, `additionalProperties: false`). The real API is a
//! service we do not own: what it answers may carry properties the pages do not show,
//! `null` or nothing where they promise a value, and stored values longer than a request
//! may be. [`split`] therefore rewrites the in-memory spec before generation:
//!
//! - A component schema that only requests use keeps its name and every limit.
//! - A component schema that only responses use keeps its name and becomes tolerant
//!   ([`tolerate`]): every property optional, no length, pattern or range limit, unknown
//!   properties kept in a flattened `extra` map, and an enum kept open.
//! - A component schema that both use is copied: requests refer to `<Name>Input`, strict
//!   as the spec says, and responses to `<Name>`, tolerant.
//!
//! Each change is listed in the generated file's header.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, bail};
use openapiv3::{
    AdditionalProperties, AnySchema, OpenAPI, ReferenceOr, Schema, SchemaData, SchemaKind, Type,
};
use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};

/// The suffix of a request's copy of a schema that both directions use.
pub(crate) const INPUT_SUFFIX: &str = "Input";
const PREFIX: &str = "#/components/schemas/";

/// The schemas that both directions use, each with its request copy's name.
pub(crate) type Split = BTreeMap<String, String>;

/// What the spec says of one property of a response schema, as written (before [`tolerate`]
/// eases it): what the drift report checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Promise {
    /// The property's name on the wire.
    pub(crate) wire: String,
    /// `required` and not `nullable`: the spec says it is always there.
    pub(crate) always: bool,
    /// Its `maxLength`, for a string.
    pub(crate) max_length: Option<usize>,
}

/// The component schemas that responses use, each with what the spec promises of its
/// properties.
pub(crate) type Promises = BTreeMap<String, Vec<Promise>>;

/// What the spec promises of the properties of `schema`, where it is an object.
fn promises(schema: &Schema) -> Vec<Promise> {
    let SchemaKind::Type(Type::Object(o)) = &schema.schema_kind else {
        return Vec::new();
    };
    o.properties
        .iter()
        .map(|(wire, p)| {
            let (nullable, max_length) = match p {
                ReferenceOr::Item(p) => (
                    p.schema_data.nullable,
                    match &p.schema_kind {
                        SchemaKind::Type(Type::String(s)) => s.max_length,
                        _ => None,
                    },
                ),
                ReferenceOr::Reference { .. } => (false, None),
            };
            Promise {
                wire: wire.clone(),
                always: o.required.contains(wire) && !nullable,
                max_length,
            }
        })
        .collect()
}

/// Splits the spec's component schemas by direction and makes the response side tolerant.
/// Returns what the spec, as written, promises of each response schema.
pub(crate) fn split(spec: &mut OpenAPI, adjustments: &mut Vec<String>) -> Result<Promises> {
    let components = spec.components.clone().unwrap_or_default();
    let mut request_roots = BTreeSet::new();
    let mut response_roots = BTreeSet::new();
    for (_, item) in spec.paths.iter() {
        let Some(item) = item.as_item() else { continue };
        for (_, op) in item.iter() {
            if let Some(body) = op.request_body.as_ref().and_then(|b| b.as_item()) {
                for media in body.content.values() {
                    if let Some(s) = &media.schema {
                        refs(s, &mut request_roots);
                    }
                }
            }
            for response in op.responses.responses.values() {
                let response = match response {
                    ReferenceOr::Item(r) => Some(r),
                    ReferenceOr::Reference { reference } => reference
                        .strip_prefix("#/components/responses/")
                        .and_then(|k| components.responses.get(k))
                        .and_then(|r| r.as_item()),
                };
                for media in response.iter().flat_map(|r| r.content.values()) {
                    if let Some(s) = &media.schema {
                        refs(s, &mut response_roots);
                    }
                }
            }
        }
    }
    let requests = closure(request_roots, &components);
    let responses = closure(response_roots, &components);
    let both: Split = requests
        .intersection(&responses)
        .map(|name| (name.clone(), format!("{name}{INPUT_SUFFIX}")))
        .collect();

    let schemas = &mut spec.components.get_or_insert_with(Default::default).schemas;
    for (name, input) in &both {
        if schemas.contains_key(input) {
            bail!(
                "{name} is used by requests and responses, and its request copy's name {input} is taken by another schema; rename that one"
            );
        }
        let Some(schema) = schemas.get(name).cloned() else {
            continue;
        };
        schemas.insert(input.clone(), schema);
        adjustments.push(format!(
            "{name}: used by requests and responses; requests send {input} (strict, as the spec says), responses read {name} (tolerant)"
        ));
    }
    // Requests refer to the strict copies, from their bodies and from inside the schemas
    // that only requests use.
    for (name, schema) in schemas.iter_mut() {
        let request_side = both.values().any(|i| i == name)
            || (requests.contains(name) && !responses.contains(name));
        if request_side {
            retarget(schema, &both);
        }
    }
    for (_, item) in spec.paths.paths.iter_mut() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        for op in operations_mut(item) {
            if let Some(ReferenceOr::Item(body)) = op.request_body.as_mut() {
                for media in body.content.values_mut() {
                    if let Some(s) = media.schema.as_mut() {
                        retarget(s, &both);
                    }
                }
            }
        }
    }
    let mut promised = Promises::new();
    let mut hoisted = Vec::new();
    for name in &responses {
        let Some(ReferenceOr::Item(schema)) = schemas.get_mut(name) else {
            continue;
        };
        promised.insert(name.clone(), promises(schema));
        let mut eased = BTreeSet::new();
        tolerate(schema, name, &mut eased, &mut hoisted);
        if !eased.is_empty() {
            adjustments.push(format!(
                "{name}: read tolerantly in responses: {}",
                eased.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    for (name, enumeration) in hoisted {
        if schemas.contains_key(&name) {
            bail!(
                "the closed enum of a response property would be named {name}, which another schema has; rename that one"
            );
        }
        schemas.insert(name, ReferenceOr::Item(enumeration));
    }
    Ok(promised)
}

/// The drift walk of every response schema, for the generated client's file:
/// `impl Drift for types::X`, checking what the spec as written promises (see `Promise`),
/// the unknown properties kept in `extra`, and every property whose value is another
/// response schema.
pub(crate) fn drift_impls(file: &syn::File, promised: &Promises) -> Result<TokenStream> {
    let structs = crate::facade::type_items(file);
    let mut out = Vec::new();
    for (name, props) in promised {
        let Some(item) = structs.get(name) else {
            continue;
        };
        let mut checks = Vec::new();
        for field in &item.fields {
            let Some(ident) = field.ident.as_ref() else {
                continue;
            };
            if ident == "extra" {
                checks.push(quote!(report.unknown(&self.extra);));
                continue;
            }
            let wire =
                crate::facade::serde_rename(&field.attrs).unwrap_or_else(|| ident.to_string());
            let promise = props.iter().find(|p| p.wire == wire);
            if promise.is_some_and(|p| p.always) {
                checks.push(quote!(report.missing(#wire, self.#ident.is_none());));
            }
            if let Some(max) = promise.and_then(|p| p.max_length) {
                checks.push(quote!(report.over_limit(#wire, self.#ident.as_deref(), #max);));
            }
            let inner = innermost(&field.ty);
            if inner.is_some_and(|t| {
                t == "Open" || (promised.contains_key(&t) && structs.contains_key(&t))
            }) {
                checks.push(quote!(report.nested(#wire, &self.#ident);));
            }
        }
        let ident = format_ident!("{name}");
        out.push(quote! {
            impl ::cockpit_generated::drift::Drift for types::#ident {
                fn drift(&self, report: &mut ::cockpit_generated::drift::Report) {
                    #(#checks)*
                }
            }
        });
    }
    Ok(quote!(#(#out)*))
}

/// For a string enum, the schema that reads it open: `x-rust-type`
/// `cockpit_generated::Open<name>`, with the closed enum added to `hoisted` as `name`.
fn open_enum(schema: &Schema, name: &str, hoisted: &mut Vec<(String, Schema)>) -> Option<Schema> {
    let SchemaKind::Type(Type::String(s)) = &schema.schema_kind else {
        return None;
    };
    if s.enumeration.is_empty() {
        return None;
    }
    let mut closed = schema.clone();
    closed.schema_data.nullable = false;
    hoisted.push((name.to_string(), closed));
    let mut open = Schema {
        schema_data: SchemaData {
            description: schema.schema_data.description.clone(),
            ..Default::default()
        },
        schema_kind: SchemaKind::Any(AnySchema::default()),
    };
    open.schema_data.extensions.insert(
        "x-rust-type".into(),
        serde_json::json!({
            "crate": "cockpit-generated",
            "version": "*",
            "path": "cockpit_generated::Open",
            "parameters": [{"$ref": format!("{PREFIX}{name}")}],
        }),
    );
    Some(open)
}

/// The last name of a type inside any `Option`, `Vec` and `Box`.
fn innermost(ty: &syn::Type) -> Option<String> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    let name = last.ident.to_string();
    if matches!(name.as_str(), "Option" | "Vec" | "Box")
        && let syn::PathArguments::AngleBracketed(args) = &last.arguments
        && let Some(syn::GenericArgument::Type(inner)) = args.args.first()
    {
        return innermost(inner);
    }
    Some(name)
}

fn operations_mut(
    item: &mut openapiv3::PathItem,
) -> impl Iterator<Item = &mut openapiv3::Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// The component schemas that `roots` name, and every one that those refer to.
fn closure(roots: BTreeSet<String>, components: &openapiv3::Components) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = roots.into_iter().collect();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = components.schemas.get(&name) {
            let mut found = BTreeSet::new();
            refs(schema, &mut found);
            todo.extend(found.into_iter().filter(|n| !seen.contains(n)));
        }
    }
    seen
}

/// The names of the component schemas that `schema` refers to, at any depth.
fn refs(schema: &ReferenceOr<Schema>, out: &mut BTreeSet<String>) {
    match schema {
        ReferenceOr::Reference { reference } => {
            if let Some(name) = reference.strip_prefix(PREFIX) {
                out.insert(name.to_string());
            }
        }
        ReferenceOr::Item(schema) => {
            for child in children(schema) {
                refs(&child, out);
            }
        }
    }
}

/// The subschemas of `schema`, one level down, as owned values (for reading only).
fn children(schema: &Schema) -> Vec<ReferenceOr<Schema>> {
    let unbox = |r: &ReferenceOr<Box<Schema>>| match r {
        ReferenceOr::Item(s) => ReferenceOr::Item((**s).clone()),
        ReferenceOr::Reference { reference } => ReferenceOr::Reference {
            reference: reference.clone(),
        },
    };
    match &schema.schema_kind {
        SchemaKind::Type(Type::Object(o)) => {
            let mut out: Vec<_> = o.properties.values().map(unbox).collect();
            if let Some(AdditionalProperties::Schema(s)) = &o.additional_properties {
                out.push((**s).clone());
            }
            out
        }
        SchemaKind::Type(Type::Array(a)) => a.items.iter().map(unbox).collect(),
        SchemaKind::OneOf { one_of: v }
        | SchemaKind::AllOf { all_of: v }
        | SchemaKind::AnyOf { any_of: v } => v.clone(),
        SchemaKind::Not { not } => vec![(**not).clone()],
        _ => Vec::new(),
    }
}

/// Points every reference in `schema` to a schema of `split` at its request copy.
fn retarget(schema: &mut ReferenceOr<Schema>, split: &Split) {
    match schema {
        ReferenceOr::Reference { reference } => retarget_reference(reference, split),
        ReferenceOr::Item(schema) => retarget_schema(schema, split),
    }
}

fn retarget_reference(reference: &mut String, split: &Split) {
    if let Some(input) = reference.strip_prefix(PREFIX).and_then(|n| split.get(n)) {
        *reference = format!("{PREFIX}{input}");
    }
}

fn retarget_schema(schema: &mut Schema, split: &Split) {
    let boxed = |r: &mut ReferenceOr<Box<Schema>>| match r {
        ReferenceOr::Reference { reference } => retarget_reference(reference, split),
        ReferenceOr::Item(s) => retarget_schema(s, split),
    };
    match &mut schema.schema_kind {
        SchemaKind::Type(Type::Object(o)) => {
            o.properties.values_mut().for_each(boxed);
            if let Some(AdditionalProperties::Schema(s)) = &mut o.additional_properties {
                retarget(s, split);
            }
        }
        SchemaKind::Type(Type::Array(a)) => {
            if let Some(items) = a.items.as_mut() {
                boxed(items);
            }
        }
        SchemaKind::OneOf { one_of: v }
        | SchemaKind::AllOf { all_of: v }
        | SchemaKind::AnyOf { any_of: v } => v.iter_mut().for_each(|s| retarget(s, split)),
        SchemaKind::Not { not } => retarget(not, split),
        _ => {}
    }
}

/// Makes a schema read what the server may send: at every depth, every property optional
/// (absent or `null`), unknown properties kept, no length, pattern or range limit, and an
/// enum open to values it does not list. Adds to `eased` what it changed, and to `hoisted`
/// the closed enum, as a component schema named after `name` and the property, of each
/// enum property that becomes `cockpit_generated::Open<that enum>`.
pub(crate) fn tolerate(
    schema: &mut Schema,
    name: &str,
    eased: &mut BTreeSet<&'static str>,
    hoisted: &mut Vec<(String, Schema)>,
) {
    use heck::ToUpperCamelCase;
    let boxed = |r: &mut ReferenceOr<Box<Schema>>,
                 name: &str,
                 eased: &mut BTreeSet<&'static str>,
                 hoisted: &mut Vec<(String, Schema)>| {
        if let ReferenceOr::Item(s) = r {
            if let Some(open) = open_enum(s, name, hoisted) {
                **s = open;
                eased.insert("enums kept open (cockpit_generated::Open)");
            } else {
                tolerate(s, name, eased, hoisted);
            }
        }
    };
    match &mut schema.schema_kind {
        SchemaKind::Type(Type::Object(o)) => {
            if !o.required.is_empty() {
                o.required.clear();
                eased.insert("required properties may be absent or null");
            }
            if !matches!(
                &o.additional_properties,
                Some(AdditionalProperties::Schema(_))
            ) {
                o.additional_properties = Some(AdditionalProperties::Schema(Box::new(
                    ReferenceOr::Item(Schema {
                        schema_data: SchemaData::default(),
                        schema_kind: SchemaKind::Any(AnySchema::default()),
                    }),
                )));
                eased.insert("unknown properties kept in `extra`");
            }
            for (property, p) in o.properties.iter_mut() {
                // typify reads an optional array as an empty one by default, and refuses a
                // `null`; as nullable, it reads both an absent array and a `null` as `None`.
                if let ReferenceOr::Item(s) = p
                    && matches!(s.schema_kind, SchemaKind::Type(Type::Array(_)))
                    && !s.schema_data.nullable
                {
                    s.schema_data.nullable = true;
                    eased.insert("arrays may be absent or null");
                }
                boxed(
                    p,
                    &format!("{name}{}", property.to_upper_camel_case()),
                    eased,
                    hoisted,
                );
            }
        }
        SchemaKind::Type(Type::Array(a)) => {
            if a.min_items.take().is_some() | a.max_items.take().is_some() {
                eased.insert("item counts not checked");
            }
            if let Some(items) = a.items.as_mut() {
                boxed(items, &format!("{name}Item"), eased, hoisted);
            }
        }
        SchemaKind::Type(Type::String(s)) => {
            if s.max_length.take().is_some() | s.min_length.take().is_some() {
                eased.insert("lengths not checked");
            }
            if s.pattern.take().is_some() {
                eased.insert("patterns not checked");
            }
            if !s.enumeration.is_empty() {
                s.enumeration.clear();
                eased.insert("enums read as any string");
            }
        }
        SchemaKind::Type(Type::Integer(i)) => {
            let ranged = i.minimum.take().is_some() | i.maximum.take().is_some();
            ranged.then(|| eased.insert("ranges not checked"));
        }
        SchemaKind::Type(Type::Number(n)) => {
            let ranged = n.minimum.take().is_some() | n.maximum.take().is_some();
            ranged.then(|| eased.insert("ranges not checked"));
        }
        SchemaKind::OneOf { one_of: v }
        | SchemaKind::AllOf { all_of: v }
        | SchemaKind::AnyOf { any_of: v } => {
            for s in v.iter_mut() {
                if let ReferenceOr::Item(s) = s {
                    tolerate(s, name, eased, hoisted);
                }
            }
        }
        _ => {}
    }
}

/// Decodes every tolerant response type with a generated visitor instead of serde's derive:
/// each struct of `file`'s `types` module that keeps unknown properties (a flattened
/// `extra`) loses `Deserialize` from its derive, and `visitors` returns the impl that
/// replaces it. serde's `flatten` buffers every property it does not know before the map
/// is built, and costs some 5% on a page of users; the visitor matches each key once and
/// puts only an unknown one in `extra`. `Serialize` stays derived, `flatten` included, so
/// that the unknown properties are written back as they came. A repeated key keeps its last
/// value, as `serde_json::Value` does.
pub(crate) fn visitors(file: &mut syn::File) -> Result<(TokenStream, Vec<String>)> {
    let Some(types) = file.items.iter_mut().find_map(|i| match i {
        syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|c| &mut c.1),
        _ => None,
    }) else {
        return Ok((TokenStream::new(), Vec::new()));
    };
    let mut out = Vec::new();
    let mut names = Vec::new();
    for item in types.iter_mut() {
        let syn::Item::Struct(s) = item else { continue };
        let keeps_unknown = s.fields.iter().any(|f| {
            f.ident.as_ref().is_some_and(|i| i == "extra")
                && f.attrs.iter().any(|a| {
                    a.path().is_ident("serde")
                        && a.to_token_stream().to_string().contains("flatten")
                })
        });
        if !keeps_unknown {
            continue;
        }
        let mut dropped = false;
        for attr in s.attrs.iter_mut().filter(|a| a.path().is_ident("derive")) {
            let paths = attr.parse_args_with(
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
            )?;
            let kept: Vec<&syn::Path> = paths
                .iter()
                .filter(|p| {
                    let last = p.segments.last().map(|s| s.ident.to_string());
                    let is = last.as_deref() == Some("Deserialize");
                    dropped |= is;
                    !is
                })
                .collect();
            *attr = syn::parse_quote!(#[derive(#(#kept),*)]);
        }
        // A response type is read, not built: `#[non_exhaustive]` lets a property added to
        // the spec be a minor release rather than a breaking one (a struct literal in a
        // user's crate would miss it). Its builder (`X::builder()`) still makes one.
        s.attrs.push(syn::parse_quote!(#[non_exhaustive]));
        if !dropped {
            bail!(
                "{}: keeps unknown properties but derives no Deserialize to replace",
                s.ident
            );
        }
        let name = s.ident.clone();
        let mut fields = Vec::new();
        let mut wires = Vec::new();
        for f in &s.fields {
            let Some(ident) = f.ident.as_ref() else {
                bail!("{name}: a tuple struct cannot keep unknown properties");
            };
            if ident == "extra" {
                continue;
            }
            if crate::facade::generic_option(&f.ty).is_none() {
                bail!("{name}.{ident}: a tolerant type's property is not an Option");
            }
            wires.push(crate::facade::serde_rename(&f.attrs).unwrap_or_else(|| ident.to_string()));
            fields.push(ident.clone());
        }
        let keys: Vec<_> = (0..fields.len()).map(|i| format_ident!("F{i}")).collect();
        let expecting = format!("a {name} object");
        names.push(name.to_string());
        out.push(quote! {
            impl<'de> ::serde::Deserialize<'de> for types::#name {
                fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
                where
                    D: ::serde::Deserializer<'de>,
                {
                    #[allow(non_camel_case_types)]
                    enum Key { #(#keys,)* Unknown(::std::string::String) }
                    struct KeyVisitor;
                    impl<'de> ::serde::de::Visitor<'de> for KeyVisitor {
                        type Value = Key;
                        fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                            f.write_str("a property name")
                        }
                        fn visit_str<E: ::serde::de::Error>(self, v: &str) -> ::std::result::Result<Key, E> {
                            Ok(match v {
                                #(#wires => Key::#keys,)*
                                other => Key::Unknown(other.to_owned()),
                            })
                        }
                    }
                    impl<'de> ::serde::Deserialize<'de> for Key {
                        fn deserialize<D>(d: D) -> ::std::result::Result<Self, D::Error>
                        where
                            D: ::serde::Deserializer<'de>,
                        {
                            d.deserialize_identifier(KeyVisitor)
                        }
                    }
                    struct ValueVisitor;
                    impl<'de> ::serde::de::Visitor<'de> for ValueVisitor {
                        type Value = types::#name;
                        fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                            f.write_str(#expecting)
                        }
                        fn visit_map<A>(self, mut map: A) -> ::std::result::Result<Self::Value, A::Error>
                        where
                            A: ::serde::de::MapAccess<'de>,
                        {
                            #(let mut #fields = None;)*
                            let mut extra = ::serde_json::Map::new();
                            while let Some(key) = map.next_key::<Key>()? {
                                match key {
                                    #(Key::#keys => #fields = map.next_value()?,)*
                                    Key::Unknown(name) => {
                                        extra.insert(name, map.next_value()?);
                                    }
                                }
                            }
                            Ok(types::#name { #(#fields,)* extra })
                        }
                    }
                    deserializer.deserialize_map(ValueVisitor)
                }
            }
        });
    }
    empty_extra_by_default(types, &names);
    Ok((quote!(#(#out)*), names))
}

/// In the builders of the tolerant types (`types::builder`), an unset `extra` is an empty
/// map, not a missing value: `CustomerUser::builder().display_name(…).try_into()` makes
/// one, as a user's test of code that reads answers needs (the types are
/// `#[non_exhaustive]`, so the builder is how another crate makes one).
fn empty_extra_by_default(types: &mut [syn::Item], names: &[String]) {
    let Some(builder) = types.iter_mut().find_map(|i| match i {
        syn::Item::Mod(m) if m.ident == "builder" => m.content.as_mut().map(|c| &mut c.1),
        _ => None,
    }) else {
        return;
    };
    for item in builder.iter_mut() {
        let syn::Item::Impl(imp) = item else { continue };
        let is_default = imp
            .trait_
            .as_ref()
            .and_then(|(path, _)| path.segments.last())
            .is_some_and(|s| s.ident == "Default");
        let syn::Type::Path(ty) = imp.self_ty.as_ref() else {
            continue;
        };
        let tolerant = ty
            .path
            .segments
            .last()
            .is_some_and(|s| names.iter().any(|n| s.ident == n));
        if !(is_default && tolerant) {
            continue;
        }
        for f in imp.items.iter_mut() {
            let syn::ImplItem::Fn(f) = f else { continue };
            for stmt in f.block.stmts.iter_mut() {
                let syn::Stmt::Expr(syn::Expr::Struct(body), _) = stmt else {
                    continue;
                };
                for field in body.fields.iter_mut() {
                    if matches!(&field.member, syn::Member::Named(i) if i == "extra") {
                        field.expr = syn::parse_quote!(Ok(Default::default()));
                    }
                }
            }
        }
    }
}
