//! The facade's per-operation glue, generated from the spec and from progenitor's output.
//!
//! For every operation, `crates/cockpit/src/generated_ops.rs` gets:
//! - an [`Operation`] constant (id, method, path template, parameters, idempotency), the
//!   data that the pipeline, the CLI and the mock read;
//! - a method on `cockpit::Client` and a call builder with a setter for each path, query and
//!   body parameter, whose `send()` checks the input and hands it to the one pipeline;
//! - the call's validated input, which knows how to make one attempt with the generated
//!   client (`pipeline::Call`);
//! - an arm of the dynamic dispatch that the CLI uses to call an operation by its id.
//!
//! Parameter and body types are read from progenitor's own output (the bounds of its
//! builder setters), so the facade names exactly the types the generated client takes.
//! The headers that the pipeline sets on every request (`Authorization`, `X-Tenant`,
//! `X-Correlation-Id`) are not parameters here: `codegen::prepare` takes them out of the
//! in-memory spec.
//!
//! [`Operation`]: ../../crates/cockpit/src/operation.rs

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use heck::{ToShoutySnakeCase, ToSnakeCase};
use openapiv3::{OpenAPI, Parameter, ReferenceOr, Schema, SchemaKind, Type};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

/// The operations' methods whose requests may be sent twice without harm (RFC 9110,
/// 9.2.2), unless the spec's `x-cockpit-idempotent` says otherwise.
const IDEMPOTENT_METHODS: &[&str] = &["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"];

/// The spec extension that overrides the method's idempotency for one operation.
pub(crate) const IDEMPOTENT_EXTENSION: &str = "x-cockpit-idempotent";

/// One operation as the spec describes it.
struct OpSpec {
    id: String,
    method: String,
    path: String,
    summary: Option<String>,
    description: Option<String>,
    idempotent: bool,
    params: Vec<ParamSpec>,
    body: Option<BodySpec>,
}

struct ParamSpec {
    name: String,
    location: &'static str,
    required: bool,
    description: Option<String>,
    hint: String,
    /// The schema's `minimum` and `maximum`, for an integer parameter that has either.
    range: Option<(Option<i64>, Option<i64>)>,
}

struct BodySpec {
    required: bool,
    description: Option<String>,
}

/// What progenitor generated for one operation.
struct RawOp {
    method: Ident,
    /// Setter name to the type its `TryInto` bound names.
    setters: BTreeMap<String, syn::Type>,
    value: syn::Type,
    error: syn::Type,
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

/// Renders the facade's glue for `spec` (prepared) from progenitor's `file`.
pub(crate) fn render(spec: &OpenAPI, file: &syn::File) -> Result<String> {
    let ops = operations(spec)?;
    let secrets = secret_properties(spec);
    let raw = raw_operations(file)?;
    let props = body_properties(file);
    let structs = type_structs(file);
    let mut consts = Vec::new();
    let mut list = Vec::new();
    let mut methods = Vec::new();
    let mut builders = Vec::new();
    let mut arms = Vec::new();
    for op in &ops {
        let key = (op.method.clone(), op.path.clone());
        let Some(r) = raw.get(&key) else {
            bail!(
                "{}: progenitor generated no method for {} {}",
                op.id,
                op.method,
                op.path
            );
        };
        let (c, m, b, a) = operation(op, r, &props, &structs).with_context(|| op.id.clone())?;
        let name = const_name(op);
        consts.push(c);
        list.push(quote!(&operations::#name));
        methods.push(m);
        builders.push(b);
        arms.push(a);
    }
    let tokens = quote! {
        use std::future::Future;

        use cockpit_generated::types;

        use crate::{
            client::Client,
            dynamic::Args,
            error::Result,
            operation::{Operation, Param, ParamIn},
            pipeline::{self, CallOptions, Problems, Response},
        };

        /// Every operation in the spec, one constant each.
        pub mod operations {
            use super::*;
            #(#consts)*
        }

        /// Every operation in the spec, sorted by id.
        pub static OPERATIONS: &[&Operation] = &[#(#list),*];

        /// The body properties that the spec maps to [`Secret`](crate::Secret) with
        /// `x-rust-type`: never printed in clear.
        pub static SECRET_PROPERTIES: &[&str] = &[#(#secrets),*];

        impl Client {
            #(#methods)*
        }

        /// The call builders that the methods of [`Client`] return.
        pub mod builder {
            use super::*;
            #(#builders)*
        }

        /// Calls the operation `op` with parameters and a body given as text and JSON.
        pub(crate) async fn dispatch(
            client: &Client,
            op: &'static Operation,
            args: Args,
        ) -> Result<Response<serde_json::Value>> {
            match op.id {
                #(#arms)*
                other => Err(crate::error::Error::invalid_input(format!("no operation {other:?}"))),
            }
        }
    };
    let file: syn::File = syn::parse2(tokens).context("the facade glue does not parse")?;
    Ok(prettyplease::unparse(&file))
}

fn const_name(op: &OpSpec) -> Ident {
    format_ident!("{}", op.id.to_shouty_snake_case())
}

fn operation(
    op: &OpSpec,
    raw: &RawOp,
    props: &BTreeMap<String, Vec<(String, syn::Type)>>,
    structs: &BTreeMap<String, BTreeMap<String, syn::Type>>,
) -> Result<(TokenStream, TokenStream, TokenStream, TokenStream)> {
    let const_ident = const_name(op);
    let method = &raw.method;
    let builder = format_ident!(
        "{}",
        heck::ToUpperCamelCase::to_upper_camel_case(method.to_string().as_str())
    );
    let input = format_ident!("{}Input", builder);
    let id = &op.id;
    let http_method = &op.method;
    let path = &op.path;
    let idempotent = op.idempotent;
    let summary = op.summary.clone().unwrap_or_default();
    let params_meta = op.params.iter().map(|p| {
        let name = &p.name;
        let location = format_ident!("{}", p.location);
        let required = p.required;
        let description = p.description.clone().unwrap_or_default();
        let hint = &p.hint;
        quote!(Param { name: #name, location: ParamIn::#location, required: #required, description: #description, hint: #hint })
    });
    let has_body = op.body.is_some();
    let body_required = op.body.as_ref().is_some_and(|b| b.required);
    let const_doc = format!("`{http_method} {path}`: {summary}");
    let c = quote! {
        #[doc = #const_doc]
        pub const #const_ident: Operation = Operation {
            id: #id,
            method: #http_method,
            path: #path,
            summary: #summary,
            idempotent: #idempotent,
            params: &[#(#params_meta),*],
            body: #has_body,
            body_required: #body_required,
        };
    };

    // The fields of the call builder: one per parameter, and the body.
    let mut fields = Vec::new();
    let mut inits = Vec::new();
    let mut setters = Vec::new();
    let mut checks = Vec::new();
    let mut input_fields = Vec::new();
    let mut applies = Vec::new();
    let mut dyn_sets = Vec::new();
    let mut names = Vec::new();
    for p in &op.params {
        let setter = p.name.to_snake_case();
        let Some(ty) = raw.setters.get(&setter) else {
            bail!(
                "progenitor's builder has no setter {setter} for parameter {}",
                p.name
            );
        };
        let f = format_ident!("{setter}");
        let api = &p.name;
        names.push(f.clone());
        fields.push(quote!(#f: std::result::Result<Option<#ty>, String>));
        inits.push(quote!(#f: Ok(None)));
        let doc = param_doc(p);
        setters.push(match p.range {
            // The spec's limits, checked on the value as given, so that the message names
            // the value and the limit (a conversion error alone would not).
            Some((min, max)) => {
                let min = option_tokens(min);
                let max = option_tokens(max);
                quote! {
                    #[doc = #doc]
                    pub fn #f<V>(mut self, value: V) -> Self
                    where
                        V: TryInto<#ty> + std::fmt::Display,
                        V::Error: std::fmt::Display,
                    {
                        self.#f = pipeline::in_range(#api, &value, #min, #max).and_then(|()| {
                            value.try_into().map(Some).map_err(|e| format!("{}: {e}", #api))
                        });
                        self
                    }
                }
            }
            None => quote! {
                #[doc = #doc]
                pub fn #f<V>(mut self, value: V) -> Self
                where
                    V: TryInto<#ty>,
                    V::Error: std::fmt::Display,
                {
                    self.#f = value.try_into().map(Some).map_err(|e| format!("{}: {e}", #api));
                    self
                }
            },
        });
        let required = p.required;
        let setter_name = setter.as_str();
        checks.push(quote!(#f: problems.param(#api, #setter_name, #required, #f)));
        input_fields.push(quote!(#f: Option<#ty>));
        applies.push(quote!(if let Some(v) = &self.#f { call = call.#f(v.clone()); }));
        dyn_sets.push(quote!(if let Some(v) = args.param::<#ty>(#api)? { call = call.#f(v); }));
    }
    if let Some(body) = &op.body {
        let Some(ty) = raw.setters.get("body") else {
            bail!("progenitor's builder has no body setter");
        };
        let type_name = type_last_ident(ty);
        let builder_props = type_name.as_ref().and_then(|n| props.get(n));
        names.push(format_ident!("body"));
        let required = body.required;
        let doc = body
            .description
            .clone()
            .map(|d| format!("The request body: {d}"))
            .unwrap_or_else(|| "The request body.".to_string());
        if let Some(props) = builder_props {
            // An object body: the generated type's builder, with a setter per property.
            let tn = format_ident!("{}", type_name.clone().unwrap_or_default());
            fields.push(quote!(body: std::result::Result<types::builder::#tn, String>));
            inits.push(quote!(body: Ok(Default::default())));
            let param_names: Vec<String> =
                op.params.iter().map(|p| p.name.to_snake_case()).collect();
            for (prop, pty) in props {
                if param_names.contains(prop)
                    || prop == "tenant"
                    || prop == "correlation_id"
                    || prop == "send"
                    || prop == "body"
                {
                    continue;
                }
                let pf = format_ident!("{prop}");
                let pdoc = format!(
                    "Sets `{prop}` in the request body (see [`types::{}`]).",
                    type_name.clone().unwrap_or_default()
                );
                setters.push(quote! {
                    #[doc = #pdoc]
                    pub fn #pf<V>(mut self, value: V) -> Self
                    where
                        V: TryInto<#pty>,
                        V::Error: std::fmt::Display,
                    {
                        self.body = self.body.map(|b| b.#pf(value));
                        self
                    }
                });
            }
            setters.push(quote! {
                #[doc = #doc]
                pub fn body<V>(mut self, value: V) -> Self
                where
                    V: TryInto<#ty>,
                    V::Error: std::fmt::Display,
                {
                    self.body = value.try_into().map(From::from).map_err(|e| format!("body: {e}"));
                    self
                }

                /// Changes the body with a function of its builder.
                pub fn body_map(mut self, f: impl FnOnce(types::builder::#tn) -> types::builder::#tn) -> Self {
                    self.body = self.body.map(f);
                    self
                }
            });
            checks.push(quote!(body: problems.body(#required, body.and_then(|b| #ty::try_from(b).map_err(|e| e.to_string())))));
        } else {
            fields.push(quote!(body: std::result::Result<Option<#ty>, String>));
            inits.push(quote!(body: Ok(None)));
            setters.push(quote! {
                #[doc = #doc]
                pub fn body<V>(mut self, value: V) -> Self
                where
                    V: TryInto<#ty>,
                    V::Error: std::fmt::Display,
                {
                    self.body = value.try_into().map(Some).map_err(|e| format!("body: {e}"));
                    self
                }
            });
            checks.push(quote!(body: problems.param("body", "body", #required, body)));
        }
        input_fields.push(quote!(body: Option<#ty>));
        applies.push(quote!(if let Some(v) = &self.body {
            call = call.body(v.clone());
        }));
        dyn_sets.push(quote!(if let Some(v) = args.body::<#ty>()? { call = call.body(v); }));
    }
    let value = &raw.value;
    let error = &raw.error;
    let method_doc = method_doc(op);
    let builder_doc = format!(
        "A `{id}` call being put together: [`Client::{method}`] makes it and [`send`](Self::send) sends it."
    );
    let m = quote! {
        #[doc = #method_doc]
        pub fn #method(&self) -> builder::#builder<'_> {
            builder::#builder::new(self)
        }
    };
    let paged = paged(op, raw, structs);
    let derive = if paged.is_some() {
        quote!(#[derive(Debug, Clone)])
    } else {
        quote!(#[derive(Debug)])
    };
    let (walk, paged_impl) = match &paged {
        Some(p) => {
            let item = &p.item;
            let parts = &p.parts;
            (
                quote! {
                    /// Every page, as a stream, from the page that
                    /// [`page_number`](Self::page_number) names (to resume) or the first:
                    /// one call a page through the pipeline, retries included, with the
                    /// call's tenant and a correlation id of its own. One page is held at
                    /// a time. The stream ends after the last page, or with an error that
                    /// names the page ([`Error::page`](crate::Error::page)): a page that
                    /// failed, or a server that would never end.
                    pub fn pages(self) -> impl futures::Stream<Item = Result<crate::Page<#item>>> + Send + 'a {
                        let first = crate::paging::first_page(&self.page_number);
                        crate::paging::pages(first, move |n| self.clone().page_number(n).send())
                    }

                    /// Every item of every page, as a stream: [`pages`](Self::pages),
                    /// flattened.
                    pub fn items(self) -> impl futures::Stream<Item = Result<#item>> + Send + 'a {
                        crate::paging::items(self.pages())
                    }
                },
                quote! {
                    impl crate::paging::Paged for #value {
                        type Item = #item;
                        fn into_parts(self) -> crate::paging::Parts<#item> {
                            #parts
                        }
                    }
                },
            )
        }
        None => (quote!(), quote!()),
    };
    let b = quote! {
        #paged_impl

        #[doc = #builder_doc]
        #[must_use = "nothing is sent until .send().await"]
        #derive
        pub struct #builder<'a> {
            client: &'a Client,
            options: CallOptions,
            #(#fields,)*
        }

        impl<'a> #builder<'a> {
            pub(crate) fn new(client: &'a Client) -> Self {
                Self {
                    client,
                    options: CallOptions::default(),
                    #(#inits,)*
                }
            }

            #(#setters)*

            /// Sends another tenant than the client's in `X-Tenant`, for this call only.
            pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
                self.options.tenant = Some(tenant.into());
                self
            }

            /// Sends this `X-Correlation-Id` instead of a fresh random one.
            pub fn correlation_id(mut self, id: uuid::Uuid) -> Self {
                self.options.correlation_id = Some(id);
                self
            }

            /// Checks the input and sends the call through the client's pipeline: the
            /// token, the tenant, the correlation id, and retries as the operation's
            /// idempotency and the client's [`RetryPolicy`](crate::RetryPolicy) allow.
            ///
            /// # Errors
            ///
            /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) before anything
            /// is sent when a required value is missing or breaks a documented limit;
            /// otherwise the API's or the transport's error. Every error carries the
            /// call's correlation id.
            pub fn send(self) -> impl Future<Output = Result<Response<#value>>> + Send + 'a {
                let Self { client, options, #(#names,)* } = self;
                let mut problems = Problems::default();
                let input = #input { #(#checks,)* };
                pipeline::send(client, &operations::#const_ident, options, problems.finish(input))
            }

            #walk
        }

        /// The checked input of one call: everything an attempt needs.
        #[derive(Debug)]
        pub(crate) struct #input {
            #(#input_fields,)*
        }

        impl pipeline::Call for #input {
            type Value = #value;
            type ErrorBody = #error;
            fn attempt<'r>(
                &'r self,
                raw: &'r cockpit_generated::Client,
            ) -> impl Future<Output = pipeline::RawResult<Self::Value, Self::ErrorBody>> + Send + 'r {
                #[allow(unused_mut)]
                let mut call = raw.#method();
                #(#applies)*
                call.send()
            }
        }
    };
    let a = quote! {
        #id => {
            #[allow(unused_mut)]
            let mut call = client.#method();
            #(#dyn_sets)*
            if let Some(t) = args.tenant() { call = call.tenant(t); }
            if let Some(c) = args.correlation_id() { call = call.correlation_id(c); }
            crate::dynamic::to_json(call.send().await?)
        }
    };
    Ok((c, m, b, a))
}

/// What the glue of a paged operation needs: its item type, and how to take its page
/// body apart.
struct PagedSpec {
    item: TokenStream,
    parts: TokenStream,
}

/// Whether `op` follows the API's paging convention: a `pageNumber` query parameter, and a
/// success body with `items` and `hasNextPage` (page 10, section 3, of the reference).
fn paged(
    op: &OpSpec,
    raw: &RawOp,
    structs: &BTreeMap<String, BTreeMap<String, syn::Type>>,
) -> Option<PagedSpec> {
    op.params
        .iter()
        .find(|p| p.name == "pageNumber" && p.location == "Query")?;
    let body = structs.get(&type_last_ident(&raw.value)?)?;
    let items_ty = body.get("items")?;
    let (items_opt, vec) = match generic_inner(items_ty, "Option") {
        Some(inner) => (true, inner),
        None => (false, items_ty),
    };
    let item = format_ident!("{}", type_last_ident(generic_inner(vec, "Vec")?)?);
    let has_next = body.get("has_next_page")?;
    let items = if items_opt {
        quote!(self.items.unwrap_or_default())
    } else {
        quote!(self.items)
    };
    let has_next_page = if generic_inner(has_next, "Option").is_some() {
        quote!(self.has_next_page)
    } else {
        quote!(Some(self.has_next_page))
    };
    let count = |field: &str| {
        let f = format_ident!("{field}");
        match body.get(field) {
            Some(ty) if generic_inner(ty, "Option").is_some() => quote!(self.#f),
            Some(_) => quote!(Some(self.#f)),
            None => quote!(None),
        }
    };
    let total_pages = count("total_pages");
    let total_count = count("total_count");
    let (page_number, page_size) = match body.get("pagination_parameters") {
        Some(ty) if generic_inner(ty, "Option").is_some() => (
            quote!(
                self.pagination_parameters
                    .as_ref()
                    .and_then(|p| p.page_number)
            ),
            quote!(
                self.pagination_parameters
                    .as_ref()
                    .and_then(|p| p.page_size)
            ),
        ),
        Some(_) => (
            quote!(self.pagination_parameters.page_number),
            quote!(self.pagination_parameters.page_size),
        ),
        None => (quote!(None), quote!(None)),
    };
    Some(PagedSpec {
        item: quote!(types::#item),
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

/// The fields of each struct in the generated `types` module, by name.
fn type_structs(file: &syn::File) -> BTreeMap<String, BTreeMap<String, syn::Type>> {
    let types = file.items.iter().find_map(|i| match i {
        syn::Item::Mod(m) if m.ident == "types" => m.content.as_ref().map(|c| &c.1),
        _ => None,
    });
    let mut out = BTreeMap::new();
    for item in types.into_iter().flatten() {
        let syn::Item::Struct(s) = item else { continue };
        let fields = s
            .fields
            .iter()
            .filter_map(|f| Some((f.ident.as_ref()?.to_string(), f.ty.clone())))
            .collect();
        out.insert(s.ident.to_string(), fields);
    }
    out
}

/// `Some(n)` or `None`, as tokens.
fn option_tokens(value: Option<i64>) -> TokenStream {
    match value {
        Some(n) => quote!(Some(#n)),
        None => quote!(None),
    }
}

fn param_doc(p: &ParamSpec) -> String {
    let mut doc = format!(
        "`{}` ({} parameter, {}{})",
        p.name,
        p.location.to_ascii_lowercase(),
        p.hint,
        if p.required { ", required" } else { "" }
    );
    if let Some(d) = &p.description {
        doc.push_str(": ");
        doc.push_str(d.trim());
    }
    doc
}

fn method_doc(op: &OpSpec) -> String {
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

fn type_last_ident(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// The operations of the prepared spec, sorted by id.
fn operations(spec: &OpenAPI) -> Result<Vec<OpSpec>> {
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
                            .with_context(|| {
                                format!("{id}: parameter {reference} is not defined")
                            })?
                    }
                };
                let location = match &p {
                    Parameter::Path { .. } => "Path",
                    Parameter::Query { .. } => "Query",
                    Parameter::Header { .. } => "Header",
                    Parameter::Cookie { .. } => bail!("{id}: cookie parameters are not supported"),
                };
                let data = p.parameter_data_ref();
                let hint = match &data.format {
                    openapiv3::ParameterSchemaOrContent::Schema(s) => hint(s, components),
                    _ => "value".to_string(),
                };
                let range = match &data.format {
                    openapiv3::ParameterSchemaOrContent::Schema(ReferenceOr::Item(s)) => {
                        match &s.schema_kind {
                            SchemaKind::Type(Type::Integer(i))
                                if i.minimum.is_some() || i.maximum.is_some() =>
                            {
                                Some((i.minimum, i.maximum))
                            }
                            _ => None,
                        }
                    }
                    _ => None,
                };
                params.push(ParamSpec {
                    name: data.name.clone(),
                    location,
                    required: data.required,
                    description: data.description.clone(),
                    hint,
                    range,
                });
            }
            let body = op.request_body.as_ref().map(|b| match b {
                ReferenceOr::Item(b) => BodySpec {
                    required: b.required,
                    description: b.description.clone(),
                },
                ReferenceOr::Reference { .. } => BodySpec {
                    required: true,
                    description: None,
                },
            });
            ops.push(OpSpec {
                idempotent: idempotent(&method, op).with_context(|| id.clone())?,
                id,
                method,
                path: path.clone(),
                summary: op.summary.clone(),
                description: op.description.clone(),
                params,
                body,
            });
        }
    }
    ops.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(ops)
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

/// What progenitor generated, by `(METHOD, path)`: read from the doc line of each
/// builder's `send` ("Sends a `PATCH` request to `/v1/…`").
fn raw_operations(file: &syn::File) -> Result<BTreeMap<(String, String), RawOp>> {
    let builder_mod = file
        .items
        .iter()
        .find_map(|i| match i {
            syn::Item::Mod(m) if m.ident == "builder" => m.content.as_ref().map(|c| &c.1),
            _ => None,
        })
        .context("progenitor's output has no `mod builder`")?;
    let mut out = BTreeMap::new();
    for item in builder_mod {
        let syn::Item::Impl(imp) = item else { continue };
        let mut setters = BTreeMap::new();
        let mut send = None;
        for it in &imp.items {
            let syn::ImplItem::Fn(f) = it else { continue };
            let name = f.sig.ident.to_string();
            if name == "send" {
                send = Some(f);
            } else if let Some(ty) = try_into_bound(&f.sig.generics) {
                setters.insert(name, ty);
            }
        }
        let Some(send) = send else { continue };
        let doc = docs(&send.attrs);
        let Some((method, path)) = sends(&doc) else {
            bail!("progenitor's send has no `Sends a … request to …` doc line: {doc}");
        };
        let (value, error) =
            send_types(&send.sig.output).context("reading the types that send returns")?;
        let syn::Type::Path(self_ty) = &*imp.self_ty else {
            continue;
        };
        let builder = self_ty
            .path
            .segments
            .last()
            .context("builder type")?
            .ident
            .to_string();
        let method_name = builder.to_snake_case();
        out.insert(
            (method, path),
            RawOp {
                method: Ident::new(&method_name, Span::call_site()),
                setters,
                value,
                error,
            },
        );
    }
    Ok(out)
}

/// The setters of each generated body type's builder (`types::builder::X`), with the type
/// each takes, as the facade names it.
fn body_properties(file: &syn::File) -> BTreeMap<String, Vec<(String, syn::Type)>> {
    let mut out = BTreeMap::new();
    let types = file.items.iter().find_map(|i| match i {
        syn::Item::Mod(m) if m.ident == "types" => m.content.as_ref().map(|c| &c.1),
        _ => None,
    });
    let builder = types.into_iter().flatten().find_map(|i| match i {
        syn::Item::Mod(m) if m.ident == "builder" => m.content.as_ref().map(|c| &c.1),
        _ => None,
    });
    for item in builder.into_iter().flatten() {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() {
            continue;
        }
        let syn::Type::Path(p) = &*imp.self_ty else {
            continue;
        };
        let Some(name) = p.path.segments.last().map(|s| s.ident.to_string()) else {
            continue;
        };
        let mut props = Vec::new();
        for it in &imp.items {
            let syn::ImplItem::Fn(f) = it else { continue };
            if let Some(ty) = try_into_bound(&f.sig.generics) {
                // Inside `types::builder`, `super::X` is `types::X`.
                let text = quote!(#ty).to_string().replace("super ::", "types ::");
                if let Ok(ty) = syn::parse_str::<syn::Type>(&text) {
                    props.push((f.sig.ident.to_string(), ty));
                }
            }
        }
        out.insert(name, props);
    }
    out
}

/// `T` in a `where V: std::convert::TryInto<T>` bound.
fn try_into_bound(generics: &syn::Generics) -> Option<syn::Type> {
    let clause = generics.where_clause.as_ref()?;
    for pred in &clause.predicates {
        let syn::WherePredicate::Type(pt) = pred else {
            continue;
        };
        for bound in &pt.bounds {
            let syn::TypeParamBound::Trait(tb) = bound else {
                continue;
            };
            let last = tb.path.segments.last()?;
            if last.ident != "TryInto" {
                continue;
            }
            let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
                continue;
            };
            if let Some(syn::GenericArgument::Type(ty)) = args.args.first() {
                return Some(ty.clone());
            }
        }
    }
    None
}

fn docs(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value()),
                _ => None,
            },
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn sends(doc: &str) -> Option<(String, String)> {
    let rest = doc.split("Sends a `").nth(1)?;
    let (method, rest) = rest.split_once('`')?;
    let rest = rest.split_once("request to `")?.1;
    let (path, _) = rest.split_once('`')?;
    Some((method.to_string(), path.to_string()))
}

/// `T` and `E` in `Result<ResponseValue<T>, Error<E>>`.
fn send_types(output: &syn::ReturnType) -> Result<(syn::Type, syn::Type)> {
    let syn::ReturnType::Type(_, ty) = output else {
        bail!("send returns nothing")
    };
    let arg = |ty: &syn::Type, n: usize| -> Option<syn::Type> {
        let syn::Type::Path(p) = ty else { return None };
        let last = p.path.segments.last()?;
        let syn::PathArguments::AngleBracketed(a) = &last.arguments else {
            return None;
        };
        match a.args.iter().nth(n)? {
            syn::GenericArgument::Type(t) => Some(t.clone()),
            _ => None,
        }
    };
    let response_value = arg(ty, 0).context("send's Result has no success type")?;
    let error = arg(ty, 1).context("send's Result has no error type")?;
    Ok((
        arg(&response_value, 0).context("send's ResponseValue has no type")?,
        arg(&error, 0).context("send's Error has no type")?,
    ))
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
