#![doc = include_str!("../README.md")]
#![deny(missing_docs, missing_debug_implementations)]
// Nothing a server or a caller sends may panic the SDK: no arithmetic that can overflow, no
// unwrap, expect, panic or indexing outside tests. An allow that remains says why.
#![cfg_attr(
    not(test),
    deny(
        clippy::arithmetic_side_effects,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod auth;
mod backoff;
mod check;
mod client;
mod decode;
mod dynamic;
mod env;
mod error;
mod operation;
mod paging;
mod pipeline;
mod pressure;
#[cfg(test)]
mod proptests;
mod response;
mod retry;
mod transport;

// The per-operation glue that `cargo xtask codegen` writes from the spec: a method on
// `Client`, a call builder and an `Operation` constant per operation. The allowances cover
// what generated code does uniformly (a `.clone()` of a `Copy` id, an unused `mut`); the
// panic lints above hold for it as for the hand-written code.
// The fixture packages (crates/fixture) build these sources with the fixture's glue.
#[rustfmt::skip]
#[allow(clippy::all, unused_mut)]
#[cfg_attr(cockpit_fixture, path = "../../fixture/src/generated_ops.rs")]
mod generated_ops;

pub use auth::{
    AccessToken, ClientCredentials, DEFAULT_SCOPE, DEFAULT_TOKEN_LIFETIME, DEFAULT_TOKEN_URL,
    StaticToken, TokenFuture, TokenProvider,
};
pub use backoff::{DEFAULT_RETRY_BUDGET, RetryPolicy};
pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT,
};
/// A secret string in a body (such as `temporaryPassword`): sent as it is, never shown by
/// `Debug`.
pub use cockpit_generated::Secret;
/// The request and response types, generated from the spec: the facade takes and returns
/// these, so that a limit changed in the spec changes the check.
pub use cockpit_generated::types;
/// A string with the spec's `maxLength` (such as `displayName`, `Limited<50>`) and why one
/// was refused, in request types; an enum value of a response, kept open to values the
/// spec does not list.
pub use cockpit_generated::{Limited, Open, TooLong};
/// The OpenAPI document this SDK was generated from: its text, the SHA-256 of that text
/// (hex) and its `info.version`. `cockpit --version` names the last two.
pub use cockpit_generated::{SPEC, SPEC_SHA256, SPEC_VERSION};
pub use dynamic::{DynamicCall, redact_secrets};
pub use env::{
    ENV_BASE_URL, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_TENANT, ENV_TIMEOUT, ENV_TOKEN,
    ENV_TOKEN_URL,
};
pub use error::{ApiError, Error, ErrorKind, FieldError, OAuthError, Result};
pub use generated_ops::{
    OPERATIONS, PROPERTY_LIMITS, SECRET_PROPERTIES, builder, input, operations,
};
pub use operation::{Body, Kind, Limits, Operation, Param, ParamIn};
pub use paging::Page;
pub use pipeline::{CallBuilder, CallInput, RawResult, Whole};
pub use pressure::DEFAULT_MAX_IN_FLIGHT;
/// The HTTP status type that [`Error::status`] and [`Response::status`] carry.
pub use reqwest::StatusCode;
pub use response::Response;
/// Re-exported so that callers name the same versions this crate uses.
pub use secrecy::SecretString;
pub use transport::DEFAULT_MAX_RESPONSE_BODY;
/// Re-exported so that callers name the same versions this crate uses.
pub use uuid::Uuid;

impl Operation {
    /// The operation with this `operationId`, if the spec has it.
    pub fn find(id: &str) -> Option<&'static Operation> {
        OPERATIONS.iter().copied().find(|op| op.id == id)
    }

    /// The operation whose CLI subcommand is `command`, if the spec has it.
    pub fn find_command(command: &str) -> Option<&'static Operation> {
        OPERATIONS.iter().copied().find(|op| op.command == command)
    }
}

impl Limits {
    /// The spec's limits on `property` of `schema`, as the spec names them (such as
    /// `("CustomerUser", "displayName")`: up to 50 characters); none if it gives none.
    pub fn of_property(schema: &str, property: &str) -> Limits {
        PROPERTY_LIMITS
            .iter()
            .find(|(s, p, _)| *s == schema && *p == property)
            .map_or_else(Limits::default, |(_, _, limits)| *limits)
    }
}

// The workspace README's Rust examples compile as doctests of this crate.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct WorkspaceReadme;
