//! A successful answer. A leaf module: the pipeline, the paged walk and the dynamic calls
//! all return it.

use reqwest::StatusCode;
use uuid::Uuid;

/// A successful answer: its decoded body, its status, the correlation id the call sent,
/// and how many attempts it took.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Response<T> {
    /// The decoded body (`()` for an answer documented without a body).
    pub value: T,
    /// The HTTP status.
    pub status: StatusCode,
    /// The `X-Correlation-Id` that the call sent.
    pub correlation_id: Uuid,
    /// How many times the request was sent.
    pub attempts: u32,
}
