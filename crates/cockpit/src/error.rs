//! One error type for every failure, with methods for the questions callers ask.

use std::{fmt, time::Duration};

use reqwest::StatusCode;
use uuid::Uuid;

use crate::transport::Seen;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A source shared by every copy of an error (a failed token fetch reaches every caller that
/// waited on it).
type SharedError = std::sync::Arc<dyn std::error::Error + Send + Sync>;

/// The bytes of a response body that an error keeps, at most.
pub(crate) const KEPT_BODY: usize = 16 * 1024;

/// Why a call failed: what [`Error::kind`] returns.
///
/// [`as_str`](ErrorKind::as_str) is its stable code in snake case (`bad_request`), which
/// is also how it serializes: count or match errors by it, not by their message. Its
/// `Display` is the words the messages use (`bad request`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 400 Bad Request: the API rejected the request's content.
    BadRequest,
    /// 401 Unauthorized: the token was missing, expired or not accepted.
    Unauthorized,
    /// 403 Forbidden: the token's identity may not do this.
    Forbidden,
    /// 404 Not Found: the customer, user or provider instance does not exist.
    NotFound,
    /// 429 Too Many Requests: the API limits the rate of calls; try again after
    /// [`Error::retry_after`], where the server said.
    TooManyRequests,
    /// A 5xx answer.
    Server,
    /// Any other status that the API does not document for the operation.
    UnexpectedStatus,
    /// No complete answer within the configured time.
    Timeout,
    /// The connection could not be made, or broke before the answer was complete.
    Connection,
    /// A success answer whose body could not be read as documented.
    MalformedResponse,
    /// The caller's input breaks a documented constraint; nothing was sent.
    InvalidInput,
    /// The client's configuration is unusable; nothing was sent.
    Configuration,
    /// No access token could be had from the token provider; the API call was not sent.
    Authentication,
}

impl ErrorKind {
    /// The kind's stable code, in snake case: `bad_request`, `unauthorized`, `forbidden`,
    /// `not_found`, `too_many_requests`, `server`, `unexpected_status`, `timeout`,
    /// `connection`, `malformed_response`, `invalid_input`, `configuration`,
    /// `authentication`. A code never changes once released.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::TooManyRequests => "too_many_requests",
            ErrorKind::Server => "server",
            ErrorKind::UnexpectedStatus => "unexpected_status",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connection => "connection",
            ErrorKind::MalformedResponse => "malformed_response",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Configuration => "configuration",
            ErrorKind::Authentication => "authentication",
        }
    }

    /// The words that messages use.
    fn words(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad request",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not found",
            ErrorKind::TooManyRequests => "too many requests",
            ErrorKind::Server => "server error",
            ErrorKind::UnexpectedStatus => "unexpected status",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Connection => "connection failed",
            ErrorKind::MalformedResponse => "malformed response",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Configuration => "invalid configuration",
            ErrorKind::Authentication => "authentication failed",
        }
    }

    pub(crate) fn from_status(status: StatusCode) -> ErrorKind {
        match status.as_u16() {
            400 => ErrorKind::BadRequest,
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            429 => ErrorKind::TooManyRequests,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::UnexpectedStatus,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.words())
    }
}

impl serde::Serialize for ErrorKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The API's error body, as the server sent it: the documented `ErrorResponse`, or the
/// RFC 9457 problem details that ASP.NET Core answers with (`title`, `detail`, `status`,
/// `traceId`, and `errors` as an object of arrays). Both read into the same fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// `statusCode` (or problem details' `status`): the HTTP status code of the error.
    pub status_code: Option<i32>,
    /// `type`: the type of error that occurred (a URI in problem details).
    pub error_type: Option<String>,
    /// `description` (or problem details' `detail`, else `title`): what went wrong.
    pub description: Option<String>,
    /// Problem details' `title`: a short summary of the problem type.
    pub title: Option<String>,
    /// `correlationId`: the correlation id of the request, as the server knows it.
    pub correlation_id: Option<String>,
    /// Problem details' `traceId`: the server's trace of the request.
    pub trace_id: Option<String>,
    /// `errors`: the details of the errors, by property.
    pub errors: Vec<FieldError>,
}

/// One entry of [`ApiError::errors`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldError {
    /// `propertyName` (or the key, in problem details): the property involved.
    pub property_name: Option<String>,
    /// `description` (or the messages, in problem details): each error for that property.
    pub descriptions: Vec<String>,
}

impl ApiError {
    /// Reads an error body: a JSON object in the documented shape or as problem details,
    /// with any property absent, `null` or of an unexpected type left out rather than
    /// refused. `None` for a body that is not a JSON object, or has none of these
    /// properties.
    pub(crate) fn from_body(body: &[u8]) -> Option<ApiError> {
        use serde_json::Value;
        let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return None;
        };
        let text = |key: &str| match map.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        let int = |key: &str| {
            map.get(key)
                .and_then(Value::as_f64)
                .filter(|f| {
                    f.fract() == 0.0 && *f >= f64::from(i32::MIN) && *f <= f64::from(i32::MAX)
                })
                .map(|f| f as i32)
        };
        let messages = |v: &Value| match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        let errors = match map.get("errors") {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_object)
                .map(|e| FieldError {
                    property_name: e
                        .get("propertyName")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    descriptions: e.get("description").map(messages).unwrap_or_default(),
                })
                .collect(),
            Some(Value::Object(by_property)) => by_property
                .iter()
                .map(|(property, v)| FieldError {
                    property_name: Some(property.clone()),
                    descriptions: messages(v),
                })
                .collect(),
            _ => Vec::new(),
        };
        let title = text("title");
        let api = ApiError {
            status_code: int("statusCode").or_else(|| int("status")),
            error_type: text("type"),
            description: text("description")
                .or_else(|| text("detail"))
                .or_else(|| title.clone()),
            title,
            correlation_id: text("correlationId"),
            trace_id: text("traceId"),
            errors,
        };
        (api != ApiError::default()).then_some(api)
    }
}

/// The OAuth error that a token endpoint answered with (RFC 6749, section 5.2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthError {
    /// `error`, such as `invalid_client`.
    pub error: String,
    /// `error_description`, when the endpoint sent one.
    pub error_description: Option<String>,
}

/// Every failure of this crate: configuration, input, authentication, transport and API
/// errors alike. Its [`kind`](Error::kind) says which; its methods answer the rest.
///
/// Its `Display` is one lowercase line naming the kind, the status, the API's error type
/// and description, and the correlation id; it never contains a token or a secret.
#[derive(thiserror::Error, Clone)]
#[error(transparent)]
#[non_exhaustive]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(thiserror::Error, Clone)]
#[error("{}", Render(self))]
struct Inner {
    kind: ErrorKind,
    detail: Option<String>,
    status: Option<StatusCode>,
    /// The token endpoint's status, kept apart from the API's.
    token_status: Option<StatusCode>,
    correlation_id: Option<Uuid>,
    api: Option<ApiError>,
    oauth: Option<OAuthError>,
    body: Option<String>,
    retry_after: Option<Duration>,
    attempts: u32,
    retryable: bool,
    /// The connection was never made: nothing reached the server.
    never_connected: bool,
    /// The page of a paged walk that failed.
    page: Option<i32>,
    /// The JSON path in a success body that could not be read.
    path: Option<String>,
    #[source]
    source: Option<SharedError>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                detail: None,
                status: None,
                token_status: None,
                correlation_id: None,
                api: None,
                oauth: None,
                body: None,
                retry_after: None,
                attempts: 0,
                retryable: false,
                never_connected: false,
                page: None,
                path: None,
                source: None,
            }),
        }
    }

    pub(crate) fn invalid_input(detail: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput).with_detail(detail)
    }

    pub(crate) fn configuration(detail: impl Into<String>) -> Self {
        Error::new(ErrorKind::Configuration).with_detail(detail)
    }

    pub(crate) fn authentication(detail: impl Into<String>) -> Self {
        Error::new(ErrorKind::Authentication).with_detail(detail)
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.inner.detail = Some(detail.into());
        self
    }

    /// Adds to the detail, after what it already says.
    pub(crate) fn and_detail(mut self, more: &str) -> Self {
        self.inner.detail = Some(match self.inner.detail.take() {
            Some(d) => format!("{d}; {more}"),
            None => more.to_string(),
        });
        self
    }

    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.inner.status = Some(status);
        self
    }

    /// The token endpoint's status: not [`Error::status`], which is the API's alone.
    pub(crate) fn with_token_status(mut self, status: StatusCode) -> Self {
        self.inner.token_status = Some(status);
        self
    }

    pub(crate) fn with_correlation_id(mut self, id: Uuid) -> Self {
        self.inner.correlation_id = Some(id);
        self
    }

    pub(crate) fn with_api(mut self, api: ApiError) -> Self {
        self.inner.api = Some(api);
        self
    }

    pub(crate) fn with_oauth(mut self, oauth: OAuthError) -> Self {
        self.inner.oauth = Some(oauth);
        self
    }

    /// Keeps the start of a raw body, as text, up to [`KEPT_BODY`] bytes.
    pub(crate) fn with_body(mut self, body: &[u8]) -> Self {
        let kept = body.get(..KEPT_BODY).unwrap_or(body);
        self.inner.body = Some(String::from_utf8_lossy(kept).into_owned());
        self
    }

    pub(crate) fn with_retry_after(mut self, delay: Option<Duration>) -> Self {
        self.inner.retry_after = delay;
        self
    }

    pub(crate) fn with_page(mut self, page: i32) -> Self {
        self.inner.page = Some(page);
        self
    }

    pub(crate) fn with_path(mut self, path: String) -> Self {
        self.inner.path = Some(path);
        self
    }

    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        self.inner.attempts = attempts;
        self
    }

    pub(crate) fn retryable(mut self, retryable: bool) -> Self {
        self.inner.retryable = retryable;
        self
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(SharedError::from(source.into()));
        self
    }

    /// For a timeout of an idempotent call, before any answer came: the words say how long
    /// it waited, since nothing is at stake (a call that changes something keeps "may have
    /// been processed").
    pub(crate) fn idempotent_timeout(self, timeout: Option<Duration>) -> Self {
        if self.inner.kind != ErrorKind::Timeout || self.inner.status.is_some() {
            return self;
        }
        let words = match timeout {
            Some(t) => format!("no answer within {}", Wait(t)),
            None => "no answer in time".to_string(),
        };
        self.with_detail(words)
    }

    /// The one conversion from the generated client's error, whatever error body type `E`
    /// the operation declares, with what the transport saw of the answer.
    ///
    /// The error body is read from the raw bytes the transport kept, as the API's
    /// documented `ErrorResponse`, rather than from `E`: every error then keeps its status,
    /// headers and raw body alike, and an operation that declares another error type (or
    /// none) needs nothing of its own here.
    pub(crate) fn from_generated<E>(
        e: cockpit_generated::Error<E>,
        seen: Option<Box<Seen>>,
    ) -> Error {
        use cockpit_generated::Error as G;

        match e {
            G::ErrorResponse(_)
            | G::UnexpectedResponse(_)
            | G::InvalidResponsePayload(..)
            | G::ResponseBodyError(_) => match seen {
                Some(seen) => Error::from_answer(*seen),
                None => Error::new(ErrorKind::MalformedResponse)
                    .with_detail("the answer could not be read"),
            },
            G::CommunicationError(e) => match seen {
                // The head came and the body did not finish in time: the request reached
                // the server.
                Some(seen) if seen.broke && e.is_timeout() => Error::new(ErrorKind::Timeout)
                    .with_status(seen.status)
                    .with_detail(
                        "the answer did not finish in time; the request was processed or may be",
                    )
                    .with_source(e.without_url()),
                // The head came and the body broke off: the request reached the server.
                Some(seen) if seen.broke => Error::new(ErrorKind::Connection)
                    .with_status(seen.status)
                    .with_detail("the connection broke while the answer was read")
                    .with_source(e.without_url()),
                // Never connected (refused, or the connect timeout): nothing reached the
                // server, so a retry is safe. Checked before the timeout, which a connect
                // timeout also is.
                _ if e.is_connect() => {
                    let mut err = Error::new(ErrorKind::Connection)
                        .with_detail(format!("could not connect: {}", root_cause(&e)))
                        .retryable(true)
                        .with_source(e.without_url());
                    err.inner.never_connected = true;
                    err
                }
                _ if e.is_timeout() => Error::new(ErrorKind::Timeout)
                    .with_detail("no complete answer in time; the request may have been processed")
                    .with_source(e.without_url()),
                _ => Error::new(ErrorKind::Connection)
                    .with_detail("the request failed; it may have been processed")
                    .with_source(e.without_url()),
            },
            G::InvalidRequest(detail) => Error::invalid_input(detail),
            G::InvalidUpgrade(e) => {
                Error::new(ErrorKind::UnexpectedStatus).with_source(e.without_url())
            }
            G::Custom(detail) => Error::new(ErrorKind::Connection).with_detail(detail),
        }
    }

    /// A success whose body could not be read, even tolerantly: the message names the
    /// JSON path and serde's reason, which is also the error's source.
    pub(crate) fn malformed(
        status: StatusCode,
        body: &[u8],
        unreadable: crate::decode::Unreadable,
    ) -> Error {
        Error::new(ErrorKind::MalformedResponse)
            .with_status(status)
            .with_body(body)
            .with_detail(format!(
                "the answer's body is not what the spec documents: {unreadable}"
            ))
            .with_path(unreadable.path)
            .with_source(unreadable.source)
    }

    /// An answer that is not a documented success, or a success whose body did not decode.
    pub(crate) fn from_answer(seen: Seen) -> Error {
        let status = seen.status;
        let kind = if status.is_success() {
            ErrorKind::MalformedResponse
        } else {
            ErrorKind::from_status(status)
        };
        let mut err = Error::new(kind).with_status(status).with_body(&seen.body);
        if seen.truncated {
            let cap = if seen.cap.is_multiple_of(1024) {
                format!("{} KiB", seen.cap / 1024)
            } else {
                format!("{} bytes", seen.cap)
            };
            err = err.with_detail(format!("the answer's body is over {cap} and was cut"));
        } else if status.is_success() {
            err = err.with_detail("the answer's body is not what the spec documents");
        } else if let Some(api) = ApiError::from_body(&seen.body) {
            err = err.with_api(api);
        } else if !seen.body.is_empty() {
            // Say so, or the message would read as if the server had said nothing.
            err = err.with_detail("the error body is not the documented JSON (see its body)");
        }
        // 429 and 503 say the request was not processed: safe to send again, after the
        // delay the server asks for.
        if matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ) {
            err = err
                .retryable(true)
                .with_retry_after(crate::backoff::asked_wait(&seen.headers));
        }
        err
    }

    /// Why the call failed.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status of the API's answer, where there was one. Never the token
    /// endpoint's: see [`token_endpoint_status`](Error::token_endpoint_status).
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// For an [`ErrorKind::Authentication`] error, the status that the token endpoint
    /// answered with, where it answered.
    pub fn token_endpoint_status(&self) -> Option<StatusCode> {
        self.inner.token_status
    }

    /// The correlation id that the call sent as `X-Correlation-Id`: quote it to support.
    ///
    /// Every error that a call returns has it, those raised before anything was sent
    /// (invalid input, no token) included. Only errors outside a call have none: a
    /// [`Configuration`](ErrorKind::Configuration) error from
    /// [`ClientBuilder::build`](crate::ClientBuilder::build), and an
    /// [`Authentication`](ErrorKind::Authentication) error from
    /// [`Client::check_credentials`](crate::Client::check_credentials).
    pub fn correlation_id(&self) -> Option<Uuid> {
        self.inner.correlation_id
    }

    /// The correlation id in the API's error body, where it sent one. It is normally the
    /// same as [`correlation_id`](Error::correlation_id).
    pub fn server_correlation_id(&self) -> Option<&str> {
        self.inner.api.as_ref()?.correlation_id.as_deref()
    }

    /// The API's error body, where the answer carried one that decoded.
    pub fn api_error(&self) -> Option<&ApiError> {
        self.inner.api.as_ref()
    }

    /// The token endpoint's OAuth error, for an [`ErrorKind::Authentication`] error.
    pub fn oauth_error(&self) -> Option<&OAuthError> {
        self.inner.oauth.as_ref()
    }

    /// The start of the answer's raw body (up to 16 KiB, as lossy UTF-8), where it had one.
    pub fn body(&self) -> Option<&str> {
        self.inner.body.as_deref()
    }

    /// How many times the request was sent: 0 when it failed before anything was sent.
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// The delay that the server asked for in `Retry-After` (at most a day), with a 429
    /// or a 503. The retry policy waits no longer than its
    /// [`max_retry_after`](crate::RetryPolicy::max_retry_after).
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// Whether the API limited the rate of calls (429 Too Many Requests); see
    /// [`retry_after`](Error::retry_after) for how long it asked to wait.
    pub fn is_rate_limited(&self) -> bool {
        self.inner.kind == ErrorKind::TooManyRequests
    }

    /// Whether sending the same call again is safe and may succeed: the request cannot
    /// have been processed (the connection was never made, or the answer was 429 or 503),
    /// or the operation is idempotent and the failure transient (a timeout, a broken
    /// connection, a 5xx). A timeout or a 500 on a PATCH is not retryable: the change may
    /// have happened.
    pub fn is_retryable(&self) -> bool {
        self.inner.retryable
    }

    /// For an error that ended a walk over pages (`.pages()`, `.items()`), the page that
    /// failed: start from it again with `.page_number(..)` to resume.
    pub fn page(&self) -> Option<i32> {
        self.inner.page
    }

    /// For a [`MalformedResponse`](ErrorKind::MalformedResponse), the JSON path in the
    /// success body where it could not be read, such as `items[17].displayName` (`.` for
    /// the body as a whole). The message says why.
    pub fn json_path(&self) -> Option<&str> {
        self.inner.path.as_deref()
    }

    /// Whether the call timed out.
    pub fn is_timeout(&self) -> bool {
        self.inner.kind == ErrorKind::Timeout
    }

    /// Whether the request may have been processed, so that sending it again could do
    /// its change twice: a timeout or a broken connection after it was sent, a 5xx other
    /// than 503, or a success whose body could not be read. False when it provably was
    /// not: nothing was sent, the connection was never made, or the API refused it (a
    /// 4xx, or 503). For a call that changes something and failed this way, find out
    /// what the API holds before sending it again.
    pub fn may_have_been_processed(&self) -> bool {
        if self.inner.attempts == 0 {
            return false;
        }
        match (self.inner.kind, self.inner.status) {
            (ErrorKind::Timeout | ErrorKind::Connection, None) => !self.inner.never_connected,
            // The head of an answer came: the server had the request.
            (ErrorKind::Timeout | ErrorKind::Connection, Some(_)) => true,
            (_, Some(status)) => {
                status.is_success()
                    || (status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE)
            }
            _ => false,
        }
    }

    /// Whether the error was raised before anything was sent: invalid input,
    /// configuration, or no token.
    pub fn is_before_sending(&self) -> bool {
        self.inner.attempts == 0
    }
}

/// The innermost message of an error's chain of sources, such as "Connection refused (os
/// error 111)": what a person needs to see in the error's own words. It names no URL:
/// reqwest's own message, which may, is the outermost.
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// A wait as people say it: whole seconds, or milliseconds under a second.
struct Wait(Duration);

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < Duration::from_secs(1) {
            write!(f, "{} ms", self.0.as_millis())
        } else {
            write!(f, "{} s", self.0.as_secs())
        }
    }
}

/// Formats the one-line message; `Debug` shows the same fields, structured.
struct Render<'a>(&'a Inner);

impl fmt::Display for Render<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.0;
        f.write_str(e.kind.words())?;
        if let Some(status) = e.status {
            write!(f, " ({})", status.as_u16())?;
        }
        if let Some(status) = e.token_status {
            write!(f, " (token endpoint {})", status.as_u16())?;
        }
        if let Some(page) = e.page {
            write!(f, " on page {page}")?;
        }
        if let Some(detail) = &e.detail {
            write!(f, ": {detail}")?;
        }
        if e.kind == ErrorKind::TooManyRequests
            && let Some(wait) = e.retry_after
        {
            write!(f, ": the server asked to wait {}", Wait(wait))?;
        }
        if let Some(api) = &e.api {
            if let Some(t) = &api.error_type {
                write!(f, ": {t}")?;
            }
            // As the server sent it, so that a caller can match the server's own words.
            if let Some(d) = &api.description {
                write!(f, ": {d}")?;
            }
        }
        if let Some(oauth) = &e.oauth {
            write!(f, ": {}", oauth.error)?;
            if let Some(d) = &oauth.error_description {
                write!(
                    f,
                    ": {}",
                    d.lines().next().unwrap_or_default().trim_end_matches('.')
                )?;
            }
        }
        if e.attempts > 1 {
            write!(f, " after {} attempts", e.attempts)?;
        }
        if let Some(id) = e.correlation_id {
            write!(f, " (correlation id {id}")?;
            match e.api.as_ref().and_then(|a| a.correlation_id.as_deref()) {
                Some(server) if server != id.to_string() => {
                    write!(f, ", server correlation id {server})")?
                }
                _ => f.write_str(")")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &self.inner;
        let mut d = f.debug_struct("Error");
        d.field("kind", &e.kind);
        if let Some(detail) = &e.detail {
            d.field("detail", detail);
        }
        if let Some(status) = e.status {
            d.field("status", &status.as_u16());
        }
        if let Some(status) = e.token_status {
            d.field("token_endpoint_status", &status.as_u16());
        }
        if let Some(wait) = e.retry_after {
            d.field("retry_after", &wait);
        }
        if let Some(id) = e.correlation_id {
            d.field("correlation_id", &id.to_string());
        }
        if let Some(api) = &e.api {
            d.field("api", api);
        }
        if let Some(oauth) = &e.oauth {
            d.field("oauth", oauth);
        }
        if let Some(body) = &e.body {
            d.field("body", body);
        }
        d.field("attempts", &e.attempts);
        if let Some(page) = e.page {
            d.field("page", &page);
        }
        if let Some(path) = &e.path {
            d.field("json_path", path);
        }
        if let Some(source) = &e.source {
            d.field("source", &source.to_string());
        }
        d.finish()
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_body_and_problem_details_read_into_one_api_error() {
        let documented = ApiError::from_body(
            br#"{"statusCode": 400, "type": "ValidationError", "description": "Bad.",
                "correlationId": "c", "errors": [{"propertyName": "email",
                "description": ["is required", 5]}, {"propertyName": "x", "description": "one"}],
                "extra": true}"#,
        )
        .unwrap();
        assert_eq!(documented.status_code, Some(400));
        assert_eq!(documented.error_type.as_deref(), Some("ValidationError"));
        assert_eq!(documented.description.as_deref(), Some("Bad."));
        assert_eq!(documented.correlation_id.as_deref(), Some("c"));
        assert_eq!(documented.errors.len(), 2);
        assert_eq!(documented.errors[0].descriptions, ["is required"]);
        assert_eq!(documented.errors[1].descriptions, ["one"]);

        let problem = ApiError::from_body(
            "\u{feff}{\"title\": \"T\", \"detail\": \"D\", \"status\": 422.0, \"traceId\": \"00-1\",
              \"errors\": {\"A\": [\"a1\", \"a2\"], \"B\": \"b\"}}"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(problem.status_code, Some(422));
        assert_eq!(problem.title.as_deref(), Some("T"));
        assert_eq!(
            problem.description.as_deref(),
            Some("D"),
            "detail over title"
        );
        assert_eq!(problem.trace_id.as_deref(), Some("00-1"));
        assert_eq!(problem.errors[0].property_name.as_deref(), Some("A"));
        assert_eq!(problem.errors[0].descriptions, ["a1", "a2"]);
        assert_eq!(problem.errors[1].descriptions, ["b"]);

        for not_one in [
            &b"not json"[..],
            b"[]",
            b"{}",
            b"{\"other\": 1}",
            b"\"text\"",
        ] {
            assert_eq!(ApiError::from_body(not_one), None);
        }
    }

    #[test]
    fn kinds_have_stable_snake_case_codes() {
        assert_eq!(ErrorKind::BadRequest.as_str(), "bad_request");
        assert_eq!(ErrorKind::MalformedResponse.as_str(), "malformed_response");
        assert_eq!(ErrorKind::BadRequest.to_string(), "bad request");
        assert_eq!(
            serde_json::to_string(&ErrorKind::TooManyRequests).unwrap(),
            "\"too_many_requests\""
        );
        assert!(ErrorKind::BadRequest < ErrorKind::Unauthorized);
    }
}
