//! Access tokens: where they come from ([`TokenProvider`]), and the cache that shares one
//! token among all calls and refreshes it once for everybody.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{
    backoff::doubling,
    check::{check_url, is_header_token},
    error::{Error, OAuthError, Result},
};

/// An access token and, where known, when it expires.
#[derive(Clone)]
pub struct AccessToken {
    secret: SecretString,
    expires_at: Option<Instant>,
}

impl AccessToken {
    /// A token that is valid for `expires_in` from now, or until the API refuses it when
    /// `expires_in` is `None`, or so far off that no clock can say when (as an
    /// `expires_in` of `u64::MAX` seconds from a token endpoint).
    pub fn new(secret: SecretString, expires_in: Option<Duration>) -> Self {
        AccessToken {
            secret,
            expires_at: expires_in.and_then(|d| Instant::now().checked_add(d)),
        }
    }

    /// The token itself.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// When the token expires, where known.
    pub fn expires_at(&self) -> Option<Instant> {
        self.expires_at
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"** redacted **")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The future a [`TokenProvider`] returns.
pub type TokenFuture<'a> = Pin<Box<dyn Future<Output = Result<AccessToken>> + Send + 'a>>;

/// A source of access tokens for the API.
///
/// The client caches the token it returns until shortly before it expires, asks for a new
/// one once for all concurrent calls, and asks again when the API answers 401.
pub trait TokenProvider: Send + Sync + fmt::Debug {
    /// Fetches a token. `http` is the client's own HTTP client, with its TLS settings and
    /// timeouts, for providers that call a token endpoint.
    fn token<'a>(&'a self, http: &'a reqwest::Client) -> TokenFuture<'a>;

    /// Whether asking again can give a different token: if not, a 401 is final and the
    /// call is not replayed.
    fn can_refresh(&self) -> bool {
        true
    }
}

/// A fixed bearer token, such as one an operator pasted in.
#[derive(Clone)]
pub struct StaticToken(SecretString);

impl StaticToken {
    /// Wraps `token`, without the `Bearer ` prefix.
    pub fn new(token: SecretString) -> Self {
        StaticToken(token)
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken(** redacted **)")
    }
}

impl TokenProvider for StaticToken {
    fn token<'a>(&'a self, _http: &'a reqwest::Client) -> TokenFuture<'a> {
        Box::pin(async move { Ok(AccessToken::new(self.0.clone(), None)) })
    }

    fn can_refresh(&self) -> bool {
        false
    }
}

/// CloudCockpit's Microsoft Entra token endpoint, from the vendor's authentication guide.
pub const DEFAULT_TOKEN_URL: &str =
    "https://login.microsoftonline.com/4e806121-ff28-4286-ab4e-3be0a08f9ce0/oauth2/v2.0/token";
/// The scope that CloudCockpit's tokens are requested for, from the same guide.
pub const DEFAULT_SCOPE: &str = "api://b92a36a4-feb8-4f47-a69c-29a180aa6d0a/.default";

/// OAuth 2.0 client credentials at Microsoft Entra, with the client id and secret of an
/// Api Access created on the CloudCockpit portal.
#[derive(Clone)]
pub struct ClientCredentials {
    client_id: String,
    client_secret: SecretString,
    token_url: String,
    scope: String,
    allow_insecure_http: bool,
}

impl ClientCredentials {
    /// Credentials for CloudCockpit's documented token endpoint and scope.
    pub fn new(client_id: impl Into<String>, client_secret: SecretString) -> Self {
        ClientCredentials {
            client_id: client_id.into(),
            client_secret,
            token_url: DEFAULT_TOKEN_URL.to_string(),
            scope: DEFAULT_SCOPE.to_string(),
            allow_insecure_http: false,
        }
    }

    /// Another token endpoint, such as a local one in tests. It must be https, or http on
    /// a loopback address; a bad URL fails the first token request, before anything is sent.
    #[must_use]
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = url.into();
        self
    }

    /// Another scope.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// Allows a plain-http token endpoint on a host other than loopback. The client
    /// secret then crosses the network in clear text: only for a trusted network.
    #[must_use]
    pub fn danger_allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// One token request, in a `cockpit.token` span of its own: the endpoint's host, the
    /// outcome and the duration, and never a secret.
    async fn fetch(&self, http: &reqwest::Client) -> Result<AccessToken> {
        use tracing::Instrument;
        let host = url::Url::parse(&self.token_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let span = tracing::info_span!(
            "cockpit.token",
            server.address = %host,
            outcome = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
            error.kind = tracing::field::Empty,
        );
        let started = std::time::Instant::now();
        let result = self.request(http).instrument(span.clone()).await;
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        match &result {
            Ok(_) => {
                span.record("outcome", "issued");
            }
            Err(e) => {
                span.record("outcome", "failed");
                span.record("error.kind", e.kind().as_str());
                span.in_scope(|| tracing::warn!("token fetch failed: {e}"));
            }
        }
        result
    }

    async fn request(&self, http: &reqwest::Client) -> Result<AccessToken> {
        let url = check_url(&self.token_url, self.allow_insecure_http, "token URL")
            .map_err(Error::configuration)?;
        let form = [
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.client_secret.expose_secret()),
            ("scope", self.scope.as_str()),
            ("grant_type", "client_credentials"),
        ];
        let body = serde_urlencoded::to_string(form).map_err(|e| {
            Error::authentication("could not encode the token request").with_source(e)
        })?;
        let host = url.host_str().unwrap_or_default().to_string();
        let response = http
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| {
                // The message names the endpoint's host and the cause; the URL is dropped
                // from reqwest's error, as from every other error of the crate.
                let what = if e.is_timeout() {
                    format!("the token endpoint {host} did not answer in time")
                } else {
                    format!(
                        "could not reach the token endpoint {host}: {}",
                        crate::error::root_cause(&e)
                    )
                };
                Error::authentication(what).with_source(e.without_url())
            })?;
        let status = response.status();
        let bytes = crate::transport::read_capped(response, crate::transport::MAX_BODY)
            .await
            .map_err(|e| {
                Error::authentication("the token endpoint's answer broke off")
                    .with_token_status(status)
                    .with_source(e)
            })?
            .0;
        token_from_answer(status, &bytes)
    }
}

/// The token in a token endpoint's answer, or why there is none. Pure, so that property
/// tests can give it any status and any bytes.
pub(crate) fn token_from_answer(status: reqwest::StatusCode, bytes: &[u8]) -> Result<AccessToken> {
    // The token endpoint's status goes on the error apart from the API's, so that code
    // that asks `status() == 404` never mistakes a wrong token URL for a missing user.
    let failed = |what: &str| Error::authentication(what).with_token_status(status);
    if !status.is_success() {
        // The body helps to tell a wrong URL from a failing endpoint, but never one that
        // may carry a token (`"access_token"`, `"id_token"`, …): an error is shown.
        let kept: &[u8] = if bytes.windows(6).any(|w| w == b"token\"") {
            b"(not kept: it may hold a token)"
        } else {
            bytes
        };
        let oauth = serde_json::from_slice::<OAuthBody>(bytes)
            .ok()
            .and_then(|b| {
                b.error.map(|error| OAuthError {
                    error,
                    error_description: b.error_description,
                })
            });
        return Err(match oauth {
            Some(oauth) => {
                failed("the token endpoint refused the client credentials").with_oauth(oauth)
            }
            // An answer that is not OAuth's did not judge the credentials: a server
            // error is the endpoint's own trouble, and anything else (a 404 page) says
            // that the URL does not lead to a token endpoint.
            None if status.is_server_error() => {
                failed("the token endpoint failed; try again later").with_body(kept)
            }
            None => failed(
                "the token endpoint gave no OAuth answer: check the token URL \
                 (COCKPIT_TOKEN_URL)",
            )
            .with_body(kept),
        });
    }
    let token: TokenBody = serde_json::from_slice(bytes).map_err(|e| {
        failed("the token endpoint's answer is not the documented JSON").with_source(e)
    })?;
    if token.access_token.expose_secret().is_empty() {
        return Err(failed("the token endpoint returned an empty access_token"));
    }
    // RFC 6749, section 7.1: the type says how to use the token, and compares without
    // regard to case. Only a Bearer token may be sent as one.
    match token.token_type.as_deref() {
        Some(t) if t.eq_ignore_ascii_case("bearer") => {}
        Some(t) => {
            return Err(failed(&format!(
                "the token endpoint issued a token of type {:?}, not Bearer",
                t.chars().take(40).collect::<String>()
            )));
        }
        None => return Err(failed("the token endpoint's answer has no token_type")),
    }
    let lifetime = lifetime(token.expires_in.as_ref()).map_err(|why| failed(&why))?;
    Ok(AccessToken::new(token.access_token, Some(lifetime)))
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"** redacted **")
            .field("token_url", &self.token_url)
            .field("scope", &self.scope)
            .finish()
    }
}

impl TokenProvider for ClientCredentials {
    fn token<'a>(&'a self, http: &'a reqwest::Client) -> TokenFuture<'a> {
        Box::pin(self.fetch(http))
    }
}

/// The documented answer: `{token_type, expires_in, ext_expires_in, access_token}`.
#[derive(Deserialize)]
struct TokenBody {
    access_token: SecretString,
    token_type: Option<String>,
    expires_in: Option<serde_json::Value>,
}

/// How long a token is taken to last when its token endpoint's answer has no `expires_in`:
/// 10 minutes. Microsoft Entra always sends one; a shorter guess only costs an earlier
/// fetch, and a token refused before then is fetched again on the 401.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// A token's lifetime from `expires_in`: seconds, as a number or as a string of digits
/// (Entra's v1 endpoint sends strings); none, [`DEFAULT_TOKEN_LIFETIME`]. A lifetime
/// longer than a day is taken as a day. A negative number, or anything else, makes the
/// answer malformed: a token whose life cannot be known is not used.
fn lifetime(expires_in: Option<&serde_json::Value>) -> std::result::Result<Duration, String> {
    use serde_json::Value;
    let refused = |shown: String| {
        format!(
            "the token endpoint's expires_in is {shown}, not a number of seconds; the token is not used"
        )
    };
    let secs = match expires_in {
        None | Some(Value::Null) => return Ok(DEFAULT_TOKEN_LIFETIME),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(secs), _) => Duration::from_secs(secs),
            (None, Some(secs)) if secs >= 0.0 => {
                Duration::try_from_secs_f64(secs).unwrap_or(crate::backoff::LONGEST)
            }
            _ => return Err(refused(n.to_string())),
        },
        Some(Value::String(s)) => match s.trim().parse::<u64>() {
            Ok(secs) => Duration::from_secs(secs),
            Err(_) => {
                return Err(refused(format!(
                    "{:?}",
                    s.chars().take(20).collect::<String>()
                )));
            }
        },
        Some(other) => return Err(refused(format!("a JSON {}", json_kind(other)))),
    };
    Ok(secs.min(crate::backoff::LONGEST))
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// An OAuth error answer.
#[derive(Deserialize)]
struct OAuthBody {
    error: Option<String>,
    error_description: Option<String>,
}

/// A token is refreshed this long before it expires, so that no call carries a token that
/// expires on the way.
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The cached `Authorization` value, ready to send: marked sensitive, so that no `Debug`
/// shows it and HTTP/2 keeps it out of its compression tables.
pub(crate) struct Bearer {
    pub(crate) header: reqwest::header::HeaderValue,
    expires_at: Option<Instant>,
    generation: u64,
}

impl Bearer {
    fn is_fresh(&self, now: Instant) -> bool {
        self.expires_at
            .is_none_or(|at| at.saturating_duration_since(now) > REFRESH_MARGIN)
    }
}

/// After a failed fetch, no fetch starts again for this long, doubled for each failure in
/// a row up to [`MAX_FAILURE_BACKOFF`]: a wrong secret or token URL must not turn a batch
/// of calls into a flood of requests to Microsoft Entra, which throttles and may lock the
/// app out.
pub(crate) const FAILURE_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between fetches after failures.
pub(crate) const MAX_FAILURE_BACKOFF: Duration = Duration::from_secs(30);

/// The last failed fetch: its error (shared with every caller until the next fetch), when
/// it ended, and how many fetches in a row have failed.
struct Failure {
    error: Error,
    at: Instant,
    streak: u32,
}

impl Failure {
    /// When the next fetch may start.
    fn retry_at(&self) -> Option<Instant> {
        self.at
            .checked_add(doubling(FAILURE_BACKOFF, MAX_FAILURE_BACKOFF, self.streak))
    }
}

/// What the fetch lock guards: the generation of the newest token, and the last failure.
struct Flight {
    generation: u64,
    failure: Option<Failure>,
}

/// Shares one token among all calls of a client: one fetch at a time, whose outcome,
/// success or failure, every caller waiting on it shares.
pub(crate) struct TokenCache {
    provider: Arc<dyn TokenProvider>,
    current: Mutex<Option<Arc<Bearer>>>,
    // Held while fetching, so that concurrent callers on a cold or stale cache wait for one
    // fetch instead of each making their own.
    flight: tokio::sync::Mutex<Flight>,
}

impl TokenCache {
    pub(crate) fn new(provider: Arc<dyn TokenProvider>) -> Self {
        TokenCache {
            provider,
            current: Mutex::new(None),
            flight: tokio::sync::Mutex::new(Flight {
                generation: 0,
                failure: None,
            }),
        }
    }

    pub(crate) fn can_refresh(&self) -> bool {
        self.provider.can_refresh()
    }

    fn cached(&self) -> Option<Arc<Bearer>> {
        let current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        current
            .as_ref()
            .filter(|b| b.is_fresh(Instant::now()))
            .cloned()
    }

    /// A fresh token: the cached one, or one fetched now for every waiting caller.
    ///
    /// A caller that waited while a fetch failed gets that failure too, and so does every
    /// caller until the failure's backoff has passed: then one fetch is tried again.
    pub(crate) async fn get(&self, http: &reqwest::Client) -> Result<Arc<Bearer>> {
        if let Some(bearer) = self.cached() {
            return Ok(bearer);
        }
        let mut flight = self.flight.lock().await;
        if let Some(bearer) = self.cached() {
            return Ok(bearer);
        }
        if let Some(failure) = &flight.failure
            && failure.retry_at().is_none_or(|at| Instant::now() < at)
        {
            return Err(failure.error.clone());
        }
        match self.fetch(http, flight.generation.wrapping_add(1)).await {
            Ok(bearer) => {
                flight.generation = bearer.generation;
                flight.failure = None;
                *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(bearer.clone());
                Ok(bearer)
            }
            Err(error) => {
                let streak = flight
                    .failure
                    .as_ref()
                    .map_or(1, |f| f.streak.saturating_add(1));
                flight.failure = Some(Failure {
                    error: error.clone(),
                    at: Instant::now(),
                    streak,
                });
                Err(error)
            }
        }
    }

    /// One fetch from the provider, checked as a header value.
    async fn fetch(&self, http: &reqwest::Client, generation: u64) -> Result<Arc<Bearer>> {
        let token = self.provider.token(http).await?;
        let secret = token.secret().expose_secret();
        if !is_header_token(secret) {
            return Err(Error::authentication(
                "the access token is empty or has characters that an HTTP header cannot carry",
            ));
        }
        let Ok(mut header) = reqwest::header::HeaderValue::from_str(&format!("Bearer {secret}"))
        else {
            return Err(Error::authentication(
                "the access token has characters that an HTTP header cannot carry",
            ));
        };
        header.set_sensitive(true);
        Ok(Arc::new(Bearer {
            header,
            expires_at: token.expires_at(),
            generation,
        }))
    }

    /// Drops `bearer` from the cache after the API refused it, unless another caller has
    /// already replaced it.
    pub(crate) fn invalidate(&self, bearer: &Bearer) {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if current
            .as_ref()
            .is_some_and(|b| b.generation == bearer.generation)
        {
            *current = None;
        }
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}
