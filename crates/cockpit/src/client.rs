//! The client and its builder.

use std::{fmt, sync::Arc, time::Duration};

use secrecy::{ExposeSecret, SecretString};

use crate::{
    auth::{StaticToken, TokenCache, TokenProvider},
    backoff::{LONGEST, RetryPolicy},
    check::{check_tenant, check_url, header_value, is_header_token},
    error::{Error, Result},
};

/// The API's documented server.
pub const DEFAULT_BASE_URL: &str = "https://api.cloudcockpit.com";
/// The connect timeout unless [`ClientBuilder::connect_timeout`] sets another.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The timeout of one attempt, from sending to the end of the answer, unless
/// [`ClientBuilder::timeout`] sets another.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

const USER_AGENT: &str = concat!("cockpit/", env!("CARGO_PKG_VERSION"));

/// A CloudCockpit API client. Cheap to clone: clones share one connection pool, one
/// token cache, and one view of the API's pressure:
///
/// - at most [`max_in_flight`](ClientBuilder::max_in_flight) calls on the wire at once
///   (64 by default);
/// - after a 429, or a 503 with `Retry-After`, every call of the client waits out the
///   `Retry-After` before it is sent, and the client allows half as many calls in flight;
///   each success lets one more back in per window's worth of successes (AIMD). Until the
///   API pushes back, nothing waits;
/// - one retry budget ([`RetryPolicy::retry_budget`]), so that an outage is not met
///   with a retry of every call.
///
/// When one of these decides something, the call's span says so (`pressure.waited_ms`,
/// `retry.refused`), and so does the error of a call that was not retried.
///
/// ```no_run
/// # async fn run() -> cockpit::Result<()> {
/// use secrecy::{ExposeSecret, SecretString};
///
/// let client = cockpit::Client::builder()
///     .tenant("portal.cloudcockpit.com")
///     .bearer_token(SecretString::from(std::env::var("COCKPIT_TOKEN").unwrap_or_default()))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
}

pub(crate) struct ClientInner {
    pub(crate) base_url: String,
    pub(crate) tenant: String,
    /// The tenant as a header value, checked once.
    pub(crate) tenant_header: reqwest::header::HeaderValue,
    pub(crate) http: reqwest::Client,
    pub(crate) tokens: TokenCache,
    pub(crate) retry: RetryPolicy,
    /// The cap on a success body.
    pub(crate) max_response_body: usize,
    /// The timeout of one attempt, where this builder set the HTTP client's (not a
    /// caller's own client), for the words of a timeout.
    pub(crate) timeout: Option<Duration>,
    /// The retry budget, the calls in flight and the shared slowdown.
    pub(crate) pressure: crate::pressure::Pressure,
    /// The drift already reported, by operation, JSON path and kind: each once.
    pub(crate) drift_seen: std::sync::Mutex<DriftSeen>,
}

/// What [`ClientInner::drift_seen`] holds.
pub(crate) type DriftSeen =
    std::collections::HashSet<(&'static str, String, cockpit_generated::drift::DriftKind)>;

impl Client {
    /// A builder with the defaults: the documented server, 10 s to connect, 30 s a call,
    /// retries on, user agent `cockpit/<version>`. The tenant and the credentials are the
    /// caller's to give.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The base URL that calls go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The tenant (`X-Tenant`) that calls send unless they name another.
    pub fn tenant(&self) -> &str {
        &self.inner.tenant
    }

    /// A builder configured from the `COCKPIT_*` environment variables: see
    /// [`ClientBuilder::from_env`].
    pub fn builder_from_env() -> ClientBuilder {
        ClientBuilder::from_env()
    }

    /// Fetches a token (or takes the cached one) and makes no API call: a bad secret or
    /// token URL fails here, once, before a batch of calls starts.
    ///
    /// # Errors
    ///
    /// The [`ErrorKind::Authentication`](crate::ErrorKind::Authentication) error that the
    /// first call would have had. It carries no correlation id: no call was made.
    pub async fn check_credentials(&self) -> Result<()> {
        self.inner.tokens.get(&self.inner.http).await.map(|_| ())
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("tenant", &self.inner.tenant)
            .field("tokens", &self.inner.tokens)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`]. Its setters never fail: the first bad value is kept, and
/// [`build`](ClientBuilder::build) returns it.
#[must_use]
#[derive(Default)]
pub struct ClientBuilder {
    base_url: Option<String>,
    tenant: Option<String>,
    provider: Option<Arc<dyn TokenProvider>>,
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    http: Option<reqwest::Client>,
    allow_insecure_http: bool,
    retry: Option<RetryPolicy>,
    max_in_flight: Option<usize>,
    max_response_body: Option<usize>,
    bad_token: bool,
    /// The first problem a setter found (such as a malformed environment variable), which
    /// `build` returns.
    problem: Option<Error>,
}

impl ClientBuilder {
    /// Keeps `problem` for [`build`](ClientBuilder::build) to return, unless an earlier
    /// one is kept already.
    pub(crate) fn fail(mut self, problem: Error) -> Self {
        self.problem.get_or_insert(problem);
        self
    }

    /// The API's base URL; default [`DEFAULT_BASE_URL`]. It must be https, or http on a
    /// loopback address (127.0.0.0/8, `::1`, `localhost`) for tests and local mocks.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The tenant, sent as `X-Tenant`: the domain used to access the portal, such as
    /// `portal.cloudcockpit.com`. Required.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// A fixed bearer token (without the `Bearer ` prefix).
    pub fn bearer_token(mut self, token: SecretString) -> Self {
        self.bad_token = !is_header_token(token.expose_secret());
        self.token_provider(StaticToken::new(token))
    }

    /// Any source of tokens, such as [`ClientCredentials`](crate::ClientCredentials).
    pub fn token_provider(mut self, provider: impl TokenProvider + 'static) -> Self {
        self.provider = Some(Arc::new(provider));
        self
    }

    /// How long to wait for a connection; default [`DEFAULT_CONNECT_TIMEOUT`], at most a
    /// day.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout.min(LONGEST));
        self
    }

    /// How long one attempt may take, from sending to the end of the answer; default
    /// [`DEFAULT_TIMEOUT`], at most a day.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout.min(LONGEST));
        self
    }

    /// The most of a success body that is read, in bytes; default
    /// [`DEFAULT_MAX_RESPONSE_BODY`](crate::DEFAULT_MAX_RESPONSE_BODY) (16 MiB). A longer
    /// answer is cut there and is a
    /// [`MalformedResponse`](crate::ErrorKind::MalformedResponse) error, never an
    /// unbounded read. (An error's body is read up to 1 MiB, whatever this says.)
    pub fn max_response_body(mut self, bytes: usize) -> Self {
        self.max_response_body = Some(bytes);
        self
    }

    /// The most calls of this client (and its clones) on the wire at once; default
    /// [`DEFAULT_MAX_IN_FLIGHT`](crate::DEFAULT_MAX_IN_FLIGHT) (64). More wait their turn,
    /// in no particular order. After a 429 the client allows fewer for a while (see
    /// [`Client`]'s docs); 0 counts as 1.
    pub fn max_in_flight(mut self, calls: usize) -> Self {
        self.max_in_flight = Some(calls);
        self
    }

    /// The retry policy; default [`RetryPolicy::default`]. [`RetryPolicy::none`] turns
    /// retries off.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// A `reqwest::Client` of the caller's, used as it is: its timeouts, TLS, proxy and
    /// redirect settings apply, and this builder's timeouts and user agent do not.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Allows a plain-http base URL on a host other than loopback. The bearer token then
    /// crosses the network in clear text: only for a trusted network.
    pub fn danger_allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// An [`ErrorKind::Configuration`](crate::ErrorKind::Configuration) error, naming the
    /// setting: the first problem that a setter or [`from_env`](ClientBuilder::from_env)
    /// found (a malformed or missing variable), or when the base URL is not a URL or is plain http to a non-loopback host,
    /// when the tenant is missing or cannot be sent as a header, when no credentials were
    /// given, or when the HTTP client cannot be built.
    pub fn build(self) -> Result<Client> {
        if let Some(problem) = self.problem {
            return Err(problem);
        }
        let base_url = self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL);
        let url = check_url(base_url, self.allow_insecure_http, "base URL")
            .map_err(Error::configuration)?;
        let tenant = self.tenant.ok_or_else(|| {
            Error::configuration("no tenant: set it with .tenant(\"portal.cloudcockpit.com\")")
        })?;
        let tenant_header = check_tenant(&tenant)
            .and_then(|()| header_value(&tenant))
            .map_err(Error::configuration)?;
        if self.bad_token {
            return Err(Error::configuration(
                "bearer token is empty or has a character that an HTTP header cannot carry \
                 (a space, a control character such as CR or LF, or non-ASCII)",
            ));
        }
        let provider = self.provider.ok_or_else(|| {
            Error::configuration(
                "no credentials: set .bearer_token(…) or .token_provider(ClientCredentials::new(…))",
            )
        })?;
        let (http, timeout) = match self.http {
            Some(http) => (http, None),
            None => {
                let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
                let http = http_client(
                    self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT),
                    timeout,
                )?;
                (http, Some(timeout))
            }
        };
        let retry = self.retry.unwrap_or_default();
        let pressure = crate::pressure::Pressure::new(
            retry.budget(),
            self.max_in_flight
                .unwrap_or(crate::pressure::DEFAULT_MAX_IN_FLIGHT),
        );
        Ok(Client {
            inner: Arc::new(ClientInner {
                base_url: url.as_str().trim_end_matches('/').to_string(),
                tenant,
                tenant_header,
                http,
                tokens: TokenCache::new(provider),
                retry,
                pressure,
                max_response_body: self
                    .max_response_body
                    .unwrap_or(crate::transport::DEFAULT_MAX_RESPONSE_BODY),
                timeout,
                drift_seen: Default::default(),
            }),
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("tenant", &self.tenant)
            .field("provider", &self.provider)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("retry", &self.retry)
            .field("max_in_flight", &self.max_in_flight)
            .finish_non_exhaustive()
    }
}

/// The HTTP client: rustls with the ring provider and the platform's certificate
/// verifier, no redirects (the API documents none, and a redirected PATCH could be sent
/// twice or carry the token elsewhere), and the timeouts.
fn http_client(connect_timeout: Duration, timeout: Duration) -> Result<reqwest::Client> {
    use rustls_platform_verifier::BuilderVerifierExt;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
        .map_err(|e| Error::configuration("could not set up TLS").with_source(e))?
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .timeout(timeout)
        .user_agent(USER_AGENT)
        .build()
        .map_err(|e| Error::configuration("could not build the HTTP client").with_source(e))
}
