#![doc = include_str!("../README.md")]
#![deny(missing_docs, missing_debug_implementations)]

mod auth;
mod client;
mod error;
#[cfg(test)]
mod proptests;
mod reset_password;
mod retry;
mod transport;

pub use auth::{
    AccessToken, ClientCredentials, DEFAULT_SCOPE, DEFAULT_TOKEN_URL, StaticToken, TokenFuture,
    TokenProvider,
};
pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT,
};
pub use error::{ApiError, Error, ErrorKind, FieldError, OAuthError, Result};
pub use reset_password::{CustomerUser, ResetCustomerUserPassword, Response};
pub use retry::RetryPolicy;
/// Re-exported so that callers name the same versions this crate uses.
pub use secrecy::SecretString;
/// Re-exported so that callers name the same versions this crate uses.
pub use uuid::Uuid;
