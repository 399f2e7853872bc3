//! The facade's per-operation glue, generated from a model of the spec.
//!
//! For every operation, `crates/cockpit/src/generated_ops.rs` gets:
//! - an [`Operation`] constant: the data that the pipeline, the CLI and the mock read (id,
//!   method, path, parameters with their limits, body, idempotency), and the operation's
//!   entry point for calls by name;
//! - its input: one struct whose fields are the parameters, with their API names for serde,
//!   which the typed setters fill and a call by name deserializes;
//! - a method on `cockpit::Client` returning its call builder (`CallBuilder<input>`), and a
//!   setter on it per parameter and body property;
//! - how one attempt hands the input to progenitor's builder (`CallInput::attempt`).
//!
//! The model comes from the prepared spec alone: operations, parameters, bodies and
//! responses from `openapiv3`, and the types' names from typify's type space, which
//! progenitor filled ([`progenitor::Generator::get_type_space`]). An inline schema that made
//! no named type there (a uuid, an `int32`) is named by a scratch type space with the same
//! rules. progenitor's method and setter names are derived the way progenitor derives them,
//! then checked against the items it generated; a missing one fails codegen naming the
//! operation. Nothing reads progenitor's doc text or rewrites a type path.
//!
//! The headers that the pipeline sets on every request (`Authorization`, `X-Tenant`,
//! `X-Correlation-Id`) are not parameters here: `codegen::prepare` takes them out of the
//! in-memory spec.
//!
//! [`Operation`]: ../../crates/cockpit/src/operation.rs

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use heck::{ToKebabCase, ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use openapiv3::{OpenAPI, Parameter, ReferenceOr, Schema, SchemaKind, StatusCode, Type};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use typify_impl::{TypeDetails, TypeSpace};

/// The operations' methods whose requests may be sent twice without harm (RFC 9110,
/// 9.2.2), unless the spec's `x-cockpit-idempotent` says otherwise.
const IDEMPOTENT_METHODS: &[&str] = &["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"];

/// The spec extension that overrides the method's idempotency for one operation.
pub(crate) const IDEMPOTENT_EXTENSION: &str = "x-cockpit-idempotent";

/// The names that the call builder already has: a parameter or body property with one of
/// these as its setter would shadow it.
const BUILDER_NAMES: &[&str] = &[
    "tenant",
    "correlation_id",
    "send",
    "body",
    "body_map",
    "pages",
    "items",
    "param",
    "int_param",
    "text_param",
    "set",
    "set_body",
    "body_with",
    "input",
    "new",
    "from_args",
];

/// One operation of the model.
struct Op {
    id: String,
    method: String,
    path: String,
    summary: Option<String>,
    description: Option<String>,
    idempotent: bool,
    params: Vec<Param>,
    body: Option<Body>,
    /// The success body's type, `()` when none is documented.
    value: TokenStream,
    /// The error body's type, `()` when none is documented.
    error: TokenStream,
    paged: Option<Paged>,
}

struct Param {
    name: String,
    setter: String,
    location: &'static str,
    required: bool,
    description: Option<String>,
    kind: &'static str,
    hint: String,
    ty: TokenStream,
    minimum: Option<i64>,
    maximum: Option<i64>,
    max_length: Option<usize>,
}

struct Body {
    required: bool,
    description: Option<String>,
    ty: TokenStream,
    /// The body's schema name in the spec.
    schema: String,
    /// The body type's builder and its setters (name, type), for an object body.
    builder: Option<BodyBuilder>,
}

/// A body type's builder, and its setters with the type each takes.
type BodyBuilder = (TokenStream, Vec<(String, TokenStream)>);

/// What the glue of a paged operation needs: its item type, and how to take its page
/// body apart.
struct Paged {
    item: TokenStream,
    parts: TokenStream,
}

/// The types progenitor generated, by name, and a scratch space for inline schemas.
struct Types<'a> {
    named: BTreeMap<String, typify_impl::Type<'a>>,
    space: &'a TypeSpace,
}

impl<'a> Types<'a> {
    fn new(space: &'a TypeSpace) -> Self {
        let named = space
            .iter_types()
            .filter(|t| {
                matches!(
                    t.details(),
                    TypeDetails::Struct(_) | TypeDetails::Enum(_) | TypeDetails::Newtype(_)
                )
            })
            .map(|t| (t.name(), t))
            .collect();
        Self { named, space }
    }

    /// The type progenitor named after `name`, by typify's rule (upper camel case).
    fn named(&self, name: &str) -> Option<&typify_impl::Type<'a>> {
        self.named.get(&name.to_upper_camel_case())
    }

    /// The Rust type of `schema`, which progenitor named `hint` if it needed a name.
    fn resolve(&self, schema: &ReferenceOr<Schema>, hint: &str) -> Result<TokenStream> {
        match schema {
            ReferenceOr::Reference { reference } => {
                let name = reference
                    .strip_prefix("#/components/schemas/")
                    .with_context(|| {
                        format!("{reference}: only component schemas are supported")
                    })?;
                let t = self
                    .named(name)
                    .with_context(|| format!("typify made no type for {reference}"))?;
                Ok(t.ident())
            }
            ReferenceOr::Item(item) => {
                if let Some(t) = self.named(hint) {
                    return Ok(t.ident());
                }
                if let SchemaKind::Type(Type::Array(a)) = &item.schema_kind {
                    let items = a
                        .items
                        .as_ref()
                        .context("an array without items")?
                        .clone()
                        .unbox();
                    let inner = self.resolve(&items, &format!("{hint}-item"))?;
                    return Ok(quote!(::std::vec::Vec<#inner>));
                }
                if item.schema_data.nullable {
                    bail!("{hint}: a nullable inline schema is not supported; give it a component");
                }
                // A builtin (a uuid, an `int32`, a string): typify names it the same in
                // any type space, so a scratch one answers.
                let json = serde_json::to_value(item)?;
                let schema: schemars::schema::Schema = serde_json::from_value(json)?;
                let mut scratch = TypeSpace::new(
                    typify_impl::TypeSpaceSettings::default().with_type_mod("types"),
                );
                let id = scratch
                    .add_type_with_name(&schema, Some(hint.to_upper_camel_case()))
                    .with_context(|| format!("{hint}: typify refused the schema"))?;
                let t = scratch.get_type(&id)?;
                if matches!(
                    t.details(),
                    TypeDetails::Struct(_) | TypeDetails::Enum(_) | TypeDetails::Newtype(_)
                ) {
                    bail!(
                        "{hint}: progenitor made no type {} for this schema",
                        t.name()
                    );
                }
                Ok(t.ident())
            }
        }
    }

    /// The setters of the builder of the struct named `name` (typify's names), with the
    /// type each takes.
    fn builder_setters(&self, name: &str) -> Result<Option<BodyBuilder>> {
        let Some(t) = self.named(name) else {
            return Ok(None);
        };
        let (Some(builder), TypeDetails::Struct(s)) = (t.builder(), t.details()) else {
            return Ok(None);
        };
        let mut setters = Vec::new();
        for prop in s.properties_info() {
            let ty = self.space.get_type(&prop.type_id)?.ident();
            setters.push((prop.name.to_string(), ty));
        }
        Ok(Some((builder, setters)))
    }

    /// The property `field` (typify's field name) of struct `t`: its type, and whether
    /// it is an `Option`.
    fn property(
        &self,
        t: &typify_impl::Type<'_>,
        field: &str,
    ) -> Option<(typify_impl::Type<'a>, bool)> {
        let TypeDetails::Struct(s) = t.details() else {
            return None;
        };
        let (_, id) = s.properties().find(|(name, _)| *name == field)?;
        let ty = self.space.get_type(&id).ok()?;
        let inner = match ty.details() {
            TypeDetails::Option(inner) => Some(inner),
            _ => None,
        };
        match inner {
            Some(inner) => Some((self.space.get_type(&inner).ok()?, true)),
            None => Some((ty, false)),
        }
    }
}

/// Whether an operation is idempotent: its method's default, or the spec's override.
pub(crate) fn idempotent(method: &str, op: &openapiv3::Operation) -> Result<bool> {
    match op.extensions.get(IDEMPOTENT_EXTENSION) {
        None => Ok(IDEMPOTENT_METHODS.contains(&method.to_ascii_uppercase().as_str())),
        Some(v) => v
            .as_bool()
            .with_context(|| format!("{IDEMPOTENT_EXTENSION} must be true or false, not {v}")),
    }
}

/// Renders the facade's glue for `spec` (prepared), with the types progenitor made in
/// `space`, calling the methods progenitor generated in `file`.
pub(crate) fn render(
    original: &OpenAPI,
    spec: &OpenAPI,
    space: &TypeSpace,
    file: &syn::File,
) -> Result<String> {
    let types = Types::new(space);
    let property_limits = property_limits(original);
    let generated = progenitor_items(file)?;
    let ops = model(spec, &types)?;
    let secrets = secret_properties(spec);
    let mut consts = Vec::new();
    let mut list = Vec::new();
    let mut methods = Vec::new();
    let mut builders = Vec::new();
    let mut inputs = Vec::new();
    let mut glue = Vec::new();
    for op in &ops {
        check_names(op, &generated).with_context(|| op.id.clone())?;
        let name = format_ident!("{}", op.id.to_shouty_snake_case());
        let (c, m, b, i, g) = operation(op);
        consts.push(c);
        list.push(quote!(&operations::#name));
        methods.push(m);
        builders.push(b);
        inputs.push(i);
        glue.push(g);
    }
    let tokens = quote! {
        use std::future::Future;

        use cockpit_generated::types;
        use reqwest::Method;

        use crate::{
            client::Client,
            error::Result,
            operation::{Body, Kind, Limits, Operation, Param, ParamIn},
            pipeline::{self, CallBuilder, CallInput, RawResult},
        };

        /// Every operation in the spec, one constant each.
        pub mod operations {
            use super::*;
            #(#consts)*
        }

        /// Every operation in the spec, sorted by id.
        pub static OPERATIONS: &[&Operation] = &[#(#list),*];

        /// The spec's limits on the properties of its schemas, as the spec names them
        /// (schema, property): what [`Limits::of_property`] reads.
        pub static PROPERTY_LIMITS: &[(&str, &str, Limits)] = &[#(#property_limits),*];

        /// The body properties that the spec maps to [`Secret`](crate::Secret) with
        /// `x-rust-type`: never printed in clear.
        pub static SECRET_PROPERTIES: &[&str] = &[#(#secrets),*];

        impl Client {
            #(#methods)*
        }

        /// The call builders that the methods of [`Client`] return: a
        /// [`CallBuilder`] for each operation's input.
        pub mod builder {
            use super::*;
            #(#builders)*
        }

        /// The input of each operation: its parameters, each by its API name.
        pub mod input {
            use cockpit_generated::types;
            #(#inputs)*
        }

        #(#glue)*
    };
    let file: syn::File = syn::parse2(tokens).context("the facade glue does not parse")?;
    Ok(prettyplease::unparse(&file))
}

/// The limits of each property of each component schema, as the spec on disk gives them
/// (before `prepare` hoists or splits anything).
fn property_limits(spec: &OpenAPI) -> Vec<TokenStream> {
    let mut out = Vec::new();
    for (schema, s) in spec.components.iter().flat_map(|c| &c.schemas) {
        let Some(SchemaKind::Type(Type::Object(o))) = s.as_item().map(|s| &s.schema_kind) else {
            continue;
        };
        for (property, p) in &o.properties {
            let (minimum, maximum, max_length) = match p.as_item().map(|p| &p.schema_kind) {
                Some(SchemaKind::Type(Type::Integer(i))) => (i.minimum, i.maximum, None),
                Some(SchemaKind::Type(Type::String(s))) => (None, None, s.max_length),
                _ => continue,
            };
            if minimum.is_none() && maximum.is_none() && max_length.is_none() {
                continue;
            }
            let (minimum, maximum) = (option_tokens(minimum), option_tokens(maximum));
            let max_length = option_tokens(max_length.map(|n| n as u64));
            out.push(quote! {
                (#schema, #property, Limits { minimum: #minimum, maximum: #maximum, max_length: #max_length })
            });
        }
    }
    out
}

/// progenitor's builders by name, each with its methods' names.
fn progenitor_items(file: &syn::File) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let builder_mod = file
        .items
        .iter()
        .find_map(|i| match i {
            syn::Item::Mod(m) if m.ident == "builder" => m.content.as_ref().map(|c| &c.1),
            _ => None,
        })
        .context("progenitor's output has no `mod builder`")?;
    let mut out = BTreeMap::new();
    let client_fns: BTreeSet<String> = file
        .items
        .iter()
        .filter_map(|i| match i {
            syn::Item::Impl(imp) if imp.trait_.is_none() => Some(imp),
            _ => None,
        })
        .filter(|imp| matches!(&*imp.self_ty, syn::Type::Path(p) if p.path.is_ident("Client")))
        .flat_map(|imp| &imp.items)
        .filter_map(|it| match it {
            syn::ImplItem::Fn(f) => Some(f.sig.ident.to_string()),
            _ => None,
        })
        .collect();
    out.insert("Client".to_string(), client_fns);
    for item in builder_mod {
        let syn::Item::Impl(imp) = item else { continue };
        let syn::Type::Path(p) = &*imp.self_ty else {
            continue;
        };
        let Some(last) = p.path.segments.last() else {
            continue;
        };
        let fns = out
            .entry(last.ident.to_string())
            .or_insert_with(BTreeSet::new);
        for it in &imp.items {
            if let syn::ImplItem::Fn(f) = it {
                fns.insert(f.sig.ident.to_string());
            }
        }
    }
    Ok(out)
}

/// Checks that progenitor generated the method and setters the glue calls, named as
/// progenitor names them, and that no setter of ours shadows one of the builder's own.
fn check_names(op: &Op, generated: &BTreeMap<String, BTreeSet<String>>) -> Result<()> {
    let method = op.id.to_snake_case();
    if !generated
        .get("Client")
        .is_some_and(|fns| fns.contains(&method))
    {
        bail!("progenitor generated no method Client::{method}");
    }
    let builder = op.id.to_upper_camel_case();
    let fns = generated
        .get(&builder)
        .with_context(|| format!("progenitor generated no builder::{builder}"))?;
    let mut ours = BTreeSet::new();
    for p in &op.params {
        if !fns.contains(&p.setter) {
            bail!(
                "progenitor's builder::{builder} has no setter {} for parameter {}",
                p.setter,
                p.name
            );
        }
        if BUILDER_NAMES.contains(&p.setter.as_str()) || !ours.insert(p.setter.clone()) {
            bail!(
                "parameter {}: its setter `{}` clashes with another of the call builder's; rename the parameter in the spec",
                p.name,
                p.setter
            );
        }
    }
    if let Some(body) = &op.body {
        if !fns.contains("body") {
            bail!("progenitor's builder::{builder} has no body setter");
        }
        for (prop, _) in body.builder.iter().flat_map(|(_, s)| s) {
            if BUILDER_NAMES.contains(&prop.as_str()) || !ours.insert(prop.clone()) {
                bail!(
                    "body property {prop}: its setter clashes with a parameter's or the call builder's own; rename it in the spec"
                );
            }
        }
    }
    if op.params.len() > 64 {
        bail!(
            "{} parameters; the call builder tracks at most 64",
            op.params.len()
        );
    }
    Ok(())
}

/// The operations of the prepared spec, sorted by id.
fn model(spec: &OpenAPI, types: &Types<'_>) -> Result<Vec<Op>> {
    let components = spec.components.as_ref();
    let mut ops = Vec::new();
    for (path, item) in &spec.paths.paths {
        let ReferenceOr::Item(item) = item else {
            bail!("{path}: a path item by reference is not supported");
        };
        for (method, op) in item.iter() {
            let method = method.to_ascii_uppercase();
            let id = op
                .operation_id
                .clone()
                .with_context(|| format!("{method} {path} has no operationId"))?;
            let built = operation_model(&id, &method, path, item, op, components, types)
                .with_context(|| id.clone())?;
            ops.push(built);
        }
    }
    ops.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(ops)
}

fn operation_model(
    id: &str,
    method: &str,
    path: &str,
    item: &openapiv3::PathItem,
    op: &openapiv3::Operation,
    components: Option<&openapiv3::Components>,
    types: &Types<'_>,
) -> Result<Op> {
    let mut params = Vec::new();
    for p in item.parameters.iter().chain(&op.parameters) {
        let p = match p {
            ReferenceOr::Item(p) => p.clone(),
            ReferenceOr::Reference { reference } => {
                let key = reference.rsplit('/').next().unwrap_or_default();
                components
                    .and_then(|c| c.parameters.get(key))
                    .and_then(|p| p.as_item())
                    .cloned()
                    .with_context(|| format!("parameter {reference} is not defined"))?
            }
        };
        let location = match &p {
            Parameter::Path { .. } => "Path",
            Parameter::Query { .. } => "Query",
            Parameter::Header { .. } => "Header",
            Parameter::Cookie { .. } => bail!("cookie parameters are not supported"),
        };
        let data = p.parameter_data_ref();
        let openapiv3::ParameterSchemaOrContent::Schema(schema) = &data.format else {
            bail!(
                "parameter {}: only a schema is supported, not content",
                data.name
            );
        };
        let resolved = resolve_schema(schema, components);
        let (kind, minimum, maximum, max_length) = match resolved.map(|s| &s.schema_kind) {
            Some(SchemaKind::Type(Type::Integer(i))) => ("Integer", i.minimum, i.maximum, None),
            Some(SchemaKind::Type(Type::Number(_))) => ("Number", None, None, None),
            Some(SchemaKind::Type(Type::Boolean(_))) => ("Boolean", None, None, None),
            Some(SchemaKind::Type(Type::String(s))) => ("String", None, None, s.max_length),
            _ => bail!(
                "parameter {}: only a string, integer, number or boolean is supported",
                data.name
            ),
        };
        let ty = types
            .resolve(schema, &format!("{id}-{}", data.name))
            .with_context(|| format!("parameter {}", data.name))?;
        params.push(Param {
            setter: data.name.to_snake_case(),
            name: data.name.clone(),
            location,
            required: data.required,
            description: data.description.clone(),
            kind,
            hint: hint(schema, components),
            ty,
            minimum,
            maximum,
            max_length,
        });
    }
    let body = match &op.request_body {
        None => None,
        Some(b) => {
            let ReferenceOr::Item(b) = b else {
                bail!("a request body by reference is not supported");
            };
            let schema = b
                .content
                .get("application/json")
                .and_then(|m| m.schema.as_ref())
                .context("the request body has no application/json schema")?;
            let hint = format!("{id}-body");
            let ty = types.resolve(schema, &hint).context("the request body")?;
            let name = match schema {
                ReferenceOr::Reference { reference } => {
                    reference.rsplit('/').next().unwrap_or_default().to_string()
                }
                ReferenceOr::Item(_) => hint,
            };
            Some(Body {
                required: b.required,
                description: b.description.clone(),
                ty,
                builder: types.builder_setters(&name)?,
                schema: name,
            })
        }
    };
    let (value, error) = answer_types(id, op, components, types)?;
    let mut built = Op {
        id: id.to_string(),
        method: method.to_string(),
        path: path.to_string(),
        summary: op.summary.clone(),
        description: op.description.clone(),
        idempotent: idempotent(method, op)?,
        params,
        body,
        value,
        error,
        paged: None,
    };
    built.paged = paged(&built, op, types);
    Ok(built)
}

/// The schema itself, or the component it references.
fn resolve_schema<'s>(
    schema: &'s ReferenceOr<Schema>,
    components: Option<&'s openapiv3::Components>,
) -> Option<&'s Schema> {
    match schema {
        ReferenceOr::Item(s) => Some(s),
        ReferenceOr::Reference { reference } => components?
            .schemas
            .get(reference.rsplit('/').next()?)?
            .as_item(),
    }
}

/// The success and error body types, as progenitor takes them: the JSON schema of the
/// documented answers of each class, or `()` when they document none.
fn answer_types(
    id: &str,
    op: &openapiv3::Operation,
    components: Option<&openapiv3::Components>,
    types: &Types<'_>,
) -> Result<(TokenStream, TokenStream)> {
    let mut value: Option<TokenStream> = None;
    let mut error: Option<TokenStream> = None;
    for (status, response) in &op.responses.responses {
        let success = matches!(status, StatusCode::Code(200..=299) | StatusCode::Range(2));
        let response = match response {
            ReferenceOr::Item(r) => r,
            ReferenceOr::Reference { reference } => components
                .and_then(|c| {
                    c.responses
                        .get(reference.rsplit('/').next().unwrap_or_default())
                })
                .and_then(|r| r.as_item())
                .with_context(|| format!("response {status}: {reference} is not defined"))?,
        };
        let Some((media, content)) = response.content.iter().next() else {
            continue;
        };
        if media != "application/json" && !media.starts_with("application/json;") {
            bail!("response {status}: only application/json bodies are supported, not {media}");
        }
        let schema = content
            .schema
            .as_ref()
            .with_context(|| format!("response {status}: no schema"))?;
        let ty = types.resolve(schema, &format!("{id}-response"))?;
        let slot = if success { &mut value } else { &mut error };
        match slot {
            Some(seen) if seen.to_string() != ty.to_string() => {
                bail!("response {status}: a second body type ({ty}) beside {seen}")
            }
            _ => *slot = Some(ty),
        }
    }
    Ok((value.unwrap_or(quote!(())), error.unwrap_or(quote!(()))))
}

/// Whether `op` follows the API's paging convention: a `pageNumber` query parameter, and a
/// success body with `items` and `hasNextPage` (page 10, section 3, of the reference).
fn paged(op: &Op, spec_op: &openapiv3::Operation, types: &Types<'_>) -> Option<Paged> {
    op.params
        .iter()
        .find(|p| p.name == "pageNumber" && p.location == "Query")?;
    let success = spec_op
        .responses
        .responses
        .iter()
        .find(|(status, _)| matches!(status, StatusCode::Code(200..=299)))?
        .1
        .as_item()?;
    let schema = success.content.get("application/json")?.schema.as_ref()?;
    let ReferenceOr::Reference { reference } = schema else {
        return None;
    };
    let body = types.named(reference.rsplit('/').next()?)?;
    let (items, items_opt) = types.property(body, "items")?;
    let TypeDetails::Vec(item) = items.details() else {
        return None;
    };
    let item = types.space.get_type(&item).ok()?.ident();
    let (_, next_opt) = types.property(body, "has_next_page")?;
    let field = |opt: bool, f: &str| {
        let f = format_ident!("{f}");
        if opt {
            quote!(self.#f)
        } else {
            quote!(Some(self.#f))
        }
    };
    let items = if items_opt {
        quote!(self.items.unwrap_or_default())
    } else {
        quote!(self.items)
    };
    let has_next_page = field(next_opt, "has_next_page");
    let count = |f: &str| match types.property(body, f) {
        Some((_, opt)) => field(opt, f),
        None => quote!(None),
    };
    let total_pages = count("total_pages");
    let total_count = count("total_count");
    let (page_number, page_size) = match types.property(body, "pagination_parameters") {
        Some((params, opt)) => {
            let get = |f: &str| {
                let fi = format_ident!("{f}");
                let inner = match types.property(&params, f) {
                    Some((_, true)) => quote!(p.#fi),
                    Some((_, false)) => quote!(Some(p.#fi)),
                    None => quote!(None),
                };
                if opt {
                    quote!(self.pagination_parameters.as_ref().and_then(|p| #inner))
                } else {
                    quote!({ let p = &self.pagination_parameters; #inner })
                }
            };
            (get("page_number"), get("page_size"))
        }
        None => (quote!(None), quote!(None)),
    };
    Some(Paged {
        item,
        parts: quote! {
            crate::paging::Parts {
                items: #items,
                has_next_page: #has_next_page,
                page_number: #page_number,
                page_size: #page_size,
                total_pages: #total_pages,
                total_count: #total_count,
            }
        },
    })
}

/// The glue of one operation: its constant, its `Client` method, its builder's name and
/// setters, its input, and its attempt.
fn operation(
    op: &Op,
) -> (
    TokenStream,
    TokenStream,
    TokenStream,
    TokenStream,
    TokenStream,
) {
    let const_ident = format_ident!("{}", op.id.to_shouty_snake_case());
    let method = format_ident!("{}", op.id.to_snake_case());
    let name = format_ident!("{}", op.id.to_upper_camel_case());
    let id = &op.id;
    let command = op.id.to_kebab_case();
    let http_method = format_ident!("{}", op.method);
    let path = &op.path;
    let idempotent = op.idempotent;
    let summary = op.summary.clone().unwrap_or_default();
    let params_meta = op.params.iter().map(|p| {
        let name = &p.name;
        let setter = &p.setter;
        let flag = p.name.to_kebab_case();
        let location = format_ident!("{}", p.location);
        let required = p.required;
        let description = p.description.clone().unwrap_or_default();
        let kind = format_ident!("{}", p.kind);
        let hint = &p.hint;
        let minimum = option_tokens(p.minimum);
        let maximum = option_tokens(p.maximum);
        let max_length = option_tokens(p.max_length.map(|n| n as u64));
        quote!(Param {
            name: #name, setter: #setter, flag: #flag, location: ParamIn::#location,
            required: #required, description: #description, kind: Kind::#kind, hint: #hint,
            limits: Limits { minimum: #minimum, maximum: #maximum, max_length: #max_length },
        })
    });
    let body_meta = match &op.body {
        Some(b) => {
            let required = b.required;
            quote!(Body::Json { required: #required })
        }
        None => quote!(Body::None),
    };
    let const_doc = format!("`{} {path}`: {summary}", op.method);
    let c = quote! {
        #[doc = #const_doc]
        pub const #const_ident: Operation = Operation {
            id: #id,
            command: #command,
            method: Method::#http_method,
            path: #path,
            summary: #summary,
            idempotent: #idempotent,
            params: &[#(#params_meta),*],
            body: #body_meta,
            dispatch: pipeline::dispatch::<input::#name>,
        };
    };
    let method_doc = method_doc(op);
    let m = quote! {
        #[doc = #method_doc]
        pub fn #method(&self) -> builder::#name {
            CallBuilder::new(self)
        }
    };
    let builder_doc = format!(
        "A `{id}` call being put together: [`Client::{method}`] makes it, its setters fill it, and [`send`](CallBuilder::send) sends it."
    );
    let b = quote! {
        #[doc = #builder_doc]
        pub type #name = CallBuilder<super::input::#name>;
    };

    let mut fields = Vec::new();
    let mut setters = Vec::new();
    let mut applies = Vec::new();
    for (index, p) in op.params.iter().enumerate() {
        let f = format_ident!("{}", p.setter);
        let api = &p.name;
        let ty = &p.ty;
        fields.push(quote!(#f: #ty = #api));
        let doc = param_doc(p);
        // A limited value is checked as the typed value it becomes.
        let setter = if p.kind == "Integer" && (p.minimum.is_some() || p.maximum.is_some()) {
            quote!(int_param)
        } else if p.kind == "String" && p.max_length.is_some() {
            quote!(text_param)
        } else {
            quote!(param)
        };
        let whole = (setter.to_string() == "int_param").then(|| quote!(+ crate::Whole));
        setters.push(quote! {
            #[doc = #doc]
            pub fn #f<V>(self, value: V) -> Self
            where
                V: TryInto<#ty> #whole,
                V::Error: std::fmt::Display,
            {
                self.#setter(#index, value, |i| &mut i.#f)
            }
        });
    }
    let (body_ty, draft_ty) = match &op.body {
        None => (quote!(()), quote!(())),
        Some(body) => {
            let ty = &body.ty;
            let doc = body
                .description
                .clone()
                .map(|d| format!("The request body: {d}"))
                .unwrap_or_else(|| "The request body.".to_string());
            setters.push(quote! {
                #[doc = #doc]
                pub fn body<V>(self, value: V) -> Self
                where
                    V: TryInto<#ty>,
                    V::Error: std::fmt::Display,
                {
                    self.set_body(value)
                }
            });
            applies.push(quote!(if let Some(v) = body {
                call = call.body(v);
            }));
            match &body.builder {
                Some((builder, props)) => {
                    for (prop, pty) in props {
                        let pf = format_ident!("{prop}");
                        let pdoc = format!(
                            "Sets `{prop}` in the request body (`{}` in the spec).",
                            body.schema
                        );
                        setters.push(quote! {
                            #[doc = #pdoc]
                            pub fn #pf<V>(self, value: V) -> Self
                            where
                                V: TryInto<#pty>,
                                V::Error: std::fmt::Display,
                            {
                                self.body_with(|b| b.#pf(value))
                            }
                        });
                    }
                    setters.push(quote! {
                        /// Changes the body with a function of its builder.
                        pub fn body_map(self, f: impl FnOnce(#builder) -> #builder) -> Self {
                            self.body_with(f)
                        }
                    });
                    (ty.clone(), builder.clone())
                }
                None => (ty.clone(), ty.clone()),
            }
        }
    };
    if let Some(p) = &op.paged {
        let item = &p.item;
        setters.push(quote! {
            /// Every page, as a stream, from the page that
            /// [`page_number`](Self::page_number) names (to resume) or the first: one call
            /// a page through the pipeline, retries included, with the call's tenant and a
            /// correlation id of its own. One page is held at a time. The stream ends after
            /// the last page, or with an error that names the page
            /// ([`Error::page`](crate::Error::page)): a page that failed, or a server that
            /// would never end.
            pub fn pages(self) -> impl futures::Stream<Item = Result<crate::Page<#item>>> + Send + 'static {
                let first = crate::paging::first_page(self.input().page_number);
                crate::paging::pages(first, move |n| self.clone().page_number(n).send())
            }

            /// Every item of every page, as a stream: [`pages`](Self::pages), flattened.
            pub fn items(self) -> impl futures::Stream<Item = Result<#item>> + Send + 'static {
                crate::paging::items(self.pages())
            }
        });
    }
    let input_doc = format!(
        "The parameters of a `{id}` call, by their API names: what the setters of [`builder::{name}`](super::builder::{name}) fill, and what a call by name reads."
    );
    // Each parameter is named here once (its field, its serde name, and what the attempt
    // hands progenitor's builder all come from this line) and once in its setter.
    let i = quote! {
        crate::pipeline::call_input! {
            #[doc = #input_doc]
            #name => #method {
                #(#fields,)*
            }
        }
    };
    let value = &op.value;
    let error = &op.error;
    let paged_impl = op.paged.as_ref().map(|p| {
        let item = &p.item;
        let parts = &p.parts;
        quote! {
            impl crate::paging::Paged for #value {
                type Item = #item;
                fn into_parts(self) -> crate::paging::Parts<#item> {
                    #parts
                }
            }
        }
    });
    let body_param = if op.body.is_some() {
        quote!(body)
    } else {
        quote!(_body)
    };
    let g = quote! {
        impl builder::#name {
            #(#setters)*
        }

        impl pipeline::Sealed for input::#name {}

        impl CallInput for input::#name {
            const OPERATION: &'static Operation = &operations::#const_ident;
            type Value = #value;
            type ErrorBody = #error;
            type Body = #body_ty;
            type Draft = #draft_ty;
            fn attempt<'r>(
                &'r self,
                #body_param: Option<Self::Body>,
                raw: &'r cockpit_generated::Client,
            ) -> impl Future<Output = RawResult<Self::Value, Self::ErrorBody>> + Send + 'r {
                #[allow(unused_mut)]
                let mut call = self.raw(raw);
                #(#applies)*
                call.send()
            }
        }

        #paged_impl
    };
    (c, m, b, i, g)
}

/// `Some(n)` or `None`, as tokens.
fn option_tokens<T: quote::ToTokens>(value: Option<T>) -> TokenStream {
    match value {
        Some(n) => quote!(Some(#n)),
        None => quote!(None),
    }
}

fn param_doc(p: &Param) -> String {
    let mut doc = format!(
        "`{}` ({} parameter, {}{}{})",
        p.name,
        p.location.to_ascii_lowercase(),
        p.hint,
        if p.required { ", required" } else { "" },
        match (p.minimum, p.maximum, p.max_length) {
            (Some(min), Some(max), _) => format!(", {min} to {max}"),
            (Some(min), None, _) => format!(", at least {min}"),
            (None, Some(max), _) => format!(", at most {max}"),
            (None, None, Some(len)) => format!(", up to {len} characters"),
            (None, None, None) => String::new(),
        }
    );
    if let Some(d) = &p.description {
        doc.push_str(": ");
        doc.push_str(d.trim());
    }
    doc
}

fn method_doc(op: &Op) -> String {
    let mut doc = String::new();
    if let Some(s) = &op.summary {
        doc.push_str(s.trim());
        doc.push_str(".\n\n");
    }
    if let Some(d) = &op.description {
        doc.push_str(d.trim());
        doc.push_str("\n\n");
    }
    doc.push_str(&format!(
        "Sends `{} {}` (operation `{}`); {}.",
        op.method,
        op.path,
        op.id,
        if op.idempotent {
            "idempotent, so it is also retried after a timeout, a broken connection or a 5xx"
        } else {
            "not idempotent, so it is retried only when the server provably did not process it"
        }
    ));
    doc
}

/// The type argument of `ty` when it is an `Option<T>`, by any path.
pub(crate) fn generic_option(ty: &syn::Type) -> Option<&syn::Type> {
    generic_inner(ty, "Option")
}

/// The type argument of `ty` when it is `wrapper<T>` (`Option`, `Vec`), by any path.
fn generic_inner<'t>(ty: &'t syn::Type, wrapper: &str) -> Option<&'t syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

fn type_last_ident(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// A short name for a parameter's type, for docs and the CLI's value names.
fn hint(schema: &ReferenceOr<Schema>, components: Option<&openapiv3::Components>) -> String {
    let schema = match schema {
        ReferenceOr::Item(s) => Some(s.clone()),
        ReferenceOr::Reference { reference } => components.and_then(|c| {
            c.schemas
                .get(reference.rsplit('/').next().unwrap_or_default())
                .and_then(|s| s.as_item())
                .cloned()
        }),
    };
    let Some(schema) = schema else {
        return "value".to_string();
    };
    match &schema.schema_kind {
        SchemaKind::Type(Type::String(s)) if !s.enumeration.is_empty() => s
            .enumeration
            .iter()
            .flatten()
            .cloned()
            .collect::<Vec<_>>()
            .join("|"),
        SchemaKind::Type(Type::String(s)) => match &s.format {
            openapiv3::VariantOrUnknownOrEmpty::Item(f) => format!("{f:?}").to_lowercase(),
            openapiv3::VariantOrUnknownOrEmpty::Unknown(f) => f.clone(),
            openapiv3::VariantOrUnknownOrEmpty::Empty => "string".to_string(),
        },
        SchemaKind::Type(Type::Integer(i)) => match &i.format {
            openapiv3::VariantOrUnknownOrEmpty::Item(f) => format!("{f:?}").to_lowercase(),
            _ => "integer".to_string(),
        },
        SchemaKind::Type(Type::Number(_)) => "number".to_string(),
        SchemaKind::Type(Type::Boolean(_)) => "true|false".to_string(),
        _ => "value".to_string(),
    }
}

/// The names of the schema properties whose `x-rust-type` is the generated crate's
/// `Secret`, sorted and without repeats.
fn secret_properties(spec: &OpenAPI) -> Vec<String> {
    let mut out = std::collections::BTreeSet::new();
    for schema in spec.components.iter().flat_map(|c| c.schemas.values()) {
        let Some(schema) = schema.as_item() else {
            continue;
        };
        let SchemaKind::Type(Type::Object(object)) = &schema.schema_kind else {
            continue;
        };
        for (name, property) in &object.properties {
            let Some(property) = property.as_item() else {
                continue;
            };
            let secret = property
                .schema_data
                .extensions
                .get("x-rust-type")
                .and_then(|x| x.get("path"))
                .and_then(|p| p.as_str())
                .is_some_and(|p| p == "cockpit_generated::Secret");
            if secret {
                out.insert(name.clone());
            }
        }
    }
    out.into_iter().collect()
}

/// The conversion from each tolerant response type to its strict request copy (see
/// `directions`), for the generated client's file: `TryFrom<types::X> for types::XInput`,
/// property by property, each checked
/// against the request's limits and named when it breaks one. The unknown properties that
/// the response kept (`extra`) are not sent: the request schema forbids them.
pub(crate) fn conversions(file: &syn::File) -> Result<TokenStream> {
    let structs = type_items(file);
    let mut out = Vec::new();
    for (name, input) in &structs {
        let Some(base) = name.strip_suffix(crate::directions::INPUT_SUFFIX) else {
            continue;
        };
        let Some(read) = structs.get(base) else {
            continue;
        };
        let mut fields = Vec::new();
        for field in &input.fields {
            let Some(ident) = field.ident.as_ref() else {
                bail!("{name}: a tuple struct; the read-to-request conversion needs named fields");
            };
            let wire = serde_rename(&field.attrs).unwrap_or_else(|| ident.to_string());
            if !read.fields.iter().any(|f| f.ident.as_ref() == Some(ident)) {
                bail!("{name}.{wire}: {base} has no such field to convert from");
            }
            let ty = type_last_ident(&field.ty).unwrap_or_default();
            if structs.contains_key(&ty) || ty.ends_with(crate::directions::INPUT_SUFFIX) {
                bail!(
                    "{name}.{wire}: a nested schema used by both directions; the read-to-request conversion takes only plain properties"
                );
            }
            fields.push((ident.clone(), wire));
        }
        let read_ident = format_ident!("{base}");
        let input_ident = format_ident!("{name}");
        let idents: Vec<_> = fields.iter().map(|(i, _)| i).collect();
        let wires: Vec<_> = fields.iter().map(|(_, w)| w).collect();
        let doc = format!(
            " Checks what was read as [`{base}`](types::{base}) against the request's limits, property by property, naming each one that breaks a limit. The unknown properties it kept (`extra`) are not sent: [`{name}`](types::{name}) allows none."
        );
        out.push(quote! {
            impl ::std::convert::TryFrom<types::#read_ident> for types::#input_ident {
                type Error = types::error::ConversionError;
                #[doc = #doc]
                fn try_from(read: types::#read_ident) -> ::std::result::Result<Self, Self::Error> {
                    let mut problems = ::cockpit_generated::Problems::default();
                    #(let #idents = problems.narrow(#wires, read.#idents);)*
                    match (#(#idents,)*) {
                        (#(Some(#idents),)*) => Ok(Self { #(#idents,)* }),
                        _ => Err(problems.into()),
                    }
                }
            }
        });
    }
    Ok(quote!(#(#out)*))
}

/// The structs of the generated `types` module, by name.
pub(crate) fn type_items(file: &syn::File) -> BTreeMap<String, &syn::ItemStruct> {
    let types = file.items.iter().find_map(|i| match i {
        syn::Item::Mod(m) if m.ident == "types" => m.content.as_ref().map(|c| &c.1),
        _ => None,
    });
    types
        .into_iter()
        .flatten()
        .filter_map(|item| match item {
            syn::Item::Struct(s) => Some((s.ident.to_string(), s)),
            _ => None,
        })
        .collect()
}

/// The name that `#[serde(rename = "…")]` gives a field, if any.
pub(crate) fn serde_rename(attrs: &[syn::Attribute]) -> Option<String> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let value: syn::LitStr = meta.value()?.parse()?;
                found = Some(value.value());
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
    }
    found
}
