//! The transport under the generated client: it sets the pipeline's headers on every
//! request, reads the body of any answer that is not a plain success with a size cap, and
//! keeps what the caller's error needs (status, headers, the body) where progenitor's error
//! would lose it.
//!
//! Each call has a transport of its own, so that what its answer was cannot be mixed up
//! with a concurrent call's. (A task-local slot shared by one transport was tried: it cost
//! the facade some 10% of CPU at 64 calls in flight, measured with cockpit-bench.) A
//! success with an empty body, the hot path of an operation that answers none, goes
//! through untouched, with no allocation and no lock. Any other answer is read here, with
//! its cap: its body, status and headers are kept (one small allocation each) before the
//! generated code decodes it.

use std::sync::Mutex;

use bytes::{Bytes, BytesMut};
use cockpit_generated::{Received, Transport};
use reqwest::{
    StatusCode,
    header::{AUTHORIZATION, CONTENT_LENGTH, HeaderMap, HeaderName, HeaderValue},
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

const X_TENANT: HeaderName = HeaderName::from_static("x-tenant");
const X_CORRELATION_ID: HeaderName = HeaderName::from_static("x-correlation-id");

/// The most of an error's body (or a token endpoint's answer) that is read. An answer that
/// sends more is cut here, so that a hostile or broken server cannot make the client hold
/// more than this in memory.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// The most of a success body that is read unless
/// [`ClientBuilder::max_response_body`](crate::ClientBuilder::max_response_body) says
/// otherwise: 16 MiB, some twenty times a page of 2,000 customer users.
pub const DEFAULT_MAX_RESPONSE_BODY: usize = 16 * 1024 * 1024;

/// What the server answered, as far as it was read.
#[derive(Debug)]
pub(crate) struct Seen {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// The body was longer than `cap`; `body` holds its start.
    pub(crate) truncated: bool,
    /// The cap that applied: [`MAX_BODY`] for an error, the client's for a success.
    pub(crate) cap: usize,
    /// The connection broke while the body was read.
    pub(crate) broke: bool,
}

/// The `Authorization` an attempt sends, and the body it sent.
#[derive(Debug, Default)]
struct Attempt {
    /// Marked sensitive.
    authorization: Option<HeaderValue>,
    /// The serialized body (a copy of progenitor's bytes: reqwest's cheap clone of a
    /// body is private), which a retry reads back.
    body: Option<Bytes>,
}

/// The transport of one call: the headers it sets, and what its latest attempt's answer
/// was.
#[derive(Debug)]
pub(crate) struct CallTransport {
    tenant: HeaderValue,
    correlation_id: HeaderValue,
    /// What the current attempt sends beside the fixed headers.
    attempt: Mutex<Attempt>,
    seen: Mutex<Option<Box<Seen>>>,
    /// The cap on a success body.
    success_cap: usize,
}

impl CallTransport {
    pub(crate) fn new(tenant: HeaderValue, correlation_id: Uuid, success_cap: usize) -> Self {
        let mut buf = Uuid::encode_buffer();
        let id = correlation_id.hyphenated().encode_lower(&mut buf);
        CallTransport {
            tenant,
            // A hyphenated UUID is ASCII: always a valid header value.
            correlation_id: HeaderValue::from_str(id).unwrap_or(HeaderValue::from_static("")),
            attempt: Mutex::new(Attempt::default()),
            seen: Mutex::new(None),
            success_cap,
        }
    }

    /// The `Authorization` that the next attempt sends.
    pub(crate) fn set_authorization(&self, value: HeaderValue) {
        self.lock_attempt().authorization = Some(value);
    }

    /// The body that the latest attempt sent, read back into its type for a retry: the
    /// pipeline moves the body into progenitor's builder rather than keep a copy of its own.
    pub(crate) fn sent_body<B: DeserializeOwned>(&self) -> Result<B, String> {
        let attempt = self.lock_attempt();
        let bytes = attempt
            .body
            .as_ref()
            .ok_or("the request sent no body to send again")?;
        serde_json::from_slice(bytes)
            .map_err(|e| format!("the body sent could not be read back: {e}"))
    }

    fn lock_attempt(&self) -> std::sync::MutexGuard<'_, Attempt> {
        self.attempt.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What the latest attempt's answer was, where it was not a plain success; taking it
    /// leaves the slot empty for the next attempt.
    pub(crate) fn take(&self) -> Option<Box<Seen>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    async fn read(&self, response: reqwest::Response) -> reqwest::Result<reqwest::Response> {
        let status = response.status();
        let version = response.version();
        let headers = response.headers().clone();
        let cap = if status.is_success() {
            self.success_cap
        } else {
            MAX_BODY
        };
        let read = read_capped(response, cap).await;
        let (body, truncated, broke) = match &read {
            Ok((body, truncated)) => (body.clone(), *truncated, false),
            Err(_) => (Bytes::new(), false, true),
        };
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(Box::new(Seen {
            status,
            headers: headers.clone(),
            body: body.clone(),
            truncated,
            cap,
            broke,
        }));
        read?;
        // Hand the generated code an answer whose body is already in memory.
        let mut rebuilt = http::Response::new(body);
        *rebuilt.status_mut() = status;
        *rebuilt.version_mut() = version;
        *rebuilt.headers_mut() = headers;
        Ok(reqwest::Response::from(rebuilt))
    }
}

impl Transport for CallTransport {
    fn on_request(&self, request: &mut reqwest::Request) {
        let headers = request.headers_mut();
        headers.insert(X_TENANT.clone(), self.tenant.clone());
        headers.insert(X_CORRELATION_ID.clone(), self.correlation_id.clone());
        let mut attempt = self.lock_attempt();
        if let Some(auth) = attempt.authorization.clone() {
            headers.insert(AUTHORIZATION, auth);
        }
        attempt.body = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .map(Bytes::copy_from_slice);
    }

    fn on_response(&self, response: reqwest::Response) -> Received<'_> {
        // The hot path: a success with an empty body goes to the generated code untouched.
        // There is nothing to read, and nothing that an error would need.
        let empty = response
            .headers()
            .get(CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0");
        if response.status().is_success() && empty {
            return Received::Ready(response);
        }
        Received::Later(Box::pin(self.read(response)))
    }
}

/// Reads a body up to `cap` bytes; `true` when it was cut there. The rest is not read:
/// dropping the response closes the connection.
pub(crate) async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> reqwest::Result<(Bytes, bool)> {
    // A Content-Length within the cap sizes the buffer once.
    let expected = response
        .content_length()
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
        .min(cap);
    let mut body = BytesMut::with_capacity(expected);
    while let Some(chunk) = response.chunk().await? {
        let room = cap.saturating_sub(body.len());
        if let Some(fits) = chunk.get(..room)
            && fits.len() < chunk.len()
        {
            body.extend_from_slice(fits);
            return Ok((body.freeze(), true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body.freeze(), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: Option<&'static str>) -> reqwest::Request {
        let mut request = reqwest::Request::new(
            reqwest::Method::PATCH,
            "https://api.cloudcockpit.com/x".parse().unwrap(),
        );
        *request.body_mut() = body.map(reqwest::Body::from);
        request
    }

    #[test]
    fn a_retry_reads_back_the_body_that_was_sent() {
        let transport = CallTransport::new(HeaderValue::from_static("t"), Uuid::nil(), 1);
        transport.on_request(&mut request(Some(r#"{"a":[1,"x"]}"#)));
        let sent: serde_json::Value = transport.sent_body().unwrap();
        assert_eq!(sent, serde_json::json!({"a": [1, "x"]}));
        // The latest attempt counts: one with no body leaves nothing to send again.
        transport.on_request(&mut request(None));
        let none = transport.sent_body::<serde_json::Value>().unwrap_err();
        assert_eq!(none, "the request sent no body to send again");
    }

    #[test]
    fn a_body_that_does_not_read_back_says_so() {
        let transport = CallTransport::new(HeaderValue::from_static("t"), Uuid::nil(), 1);
        transport.on_request(&mut request(Some(r#"{"a":1}"#)));
        let err = transport.sent_body::<Vec<u8>>().unwrap_err();
        assert!(
            err.starts_with("the body sent could not be read back: invalid type: map"),
            "{err}"
        );
    }
}
