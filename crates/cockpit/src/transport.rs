//! The transport under the generated client: it sends each request with the client's
//! `reqwest::Client`, reads the answer's body with a size cap, and keeps what the caller's
//! error needs (status, headers, the body) where progenitor's error would lose it.

use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use cockpit_generated::{Transport, TransportFuture};
use reqwest::{StatusCode, header::HeaderMap};

/// The most of a response body that is read. An answer that sends more is cut here, so
/// that a hostile or broken server cannot make the client hold more than this in memory.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// What the server answered, as far as it was read.
#[derive(Debug)]
pub(crate) struct Seen {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// The body was longer than [`MAX_BODY`]; `body` holds its start.
    pub(crate) truncated: bool,
    /// The connection broke while the body was read.
    pub(crate) broke: bool,
}

/// The transport of one call.
#[derive(Debug)]
pub(crate) struct Capture {
    http: reqwest::Client,
    seen: Mutex<Option<Seen>>,
}

impl Capture {
    pub(crate) fn new(http: reqwest::Client) -> Arc<Self> {
        Arc::new(Capture {
            http,
            seen: Mutex::new(None),
        })
    }

    /// What the last request's answer was, if one came.
    pub(crate) fn take(&self) -> Option<Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    async fn exchange(&self, request: reqwest::Request) -> reqwest::Result<reqwest::Response> {
        let response = self.http.execute(request).await?;
        let status = response.status();
        let version = response.version();
        let headers = response.headers().clone();
        let read = read_capped(response).await;
        let (body, truncated, broke, result) = match read {
            Ok((body, truncated)) => (body, truncated, false, Ok(())),
            Err(e) => (Bytes::new(), false, true, Err(e)),
        };
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(Seen {
            status,
            headers: headers.clone(),
            body: body.clone(),
            truncated,
            broke,
        });
        result?;
        // Hand the generated code an answer whose body is already in memory.
        let mut rebuilt = http::Response::new(body);
        *rebuilt.status_mut() = status;
        *rebuilt.version_mut() = version;
        *rebuilt.headers_mut() = headers;
        Ok(reqwest::Response::from(rebuilt))
    }
}

impl Transport for Capture {
    fn execute(&self, request: reqwest::Request) -> TransportFuture<'_> {
        Box::pin(self.exchange(request))
    }
}

/// Reads a body up to [`MAX_BODY`] bytes; `true` when it was cut there. The rest is not
/// read: dropping the response closes the connection.
pub(crate) async fn read_capped(mut response: reqwest::Response) -> reqwest::Result<(Bytes, bool)> {
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_BODY - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body.freeze(), true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body.freeze(), false))
}
