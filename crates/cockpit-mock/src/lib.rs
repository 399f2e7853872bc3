#![doc = include_str!("../README.md")]
//! An in-process mock of the CloudCockpit API, for testing code that uses `cockpit`
//! without the network or credentials.
//!
//! It listens on loopback, answers any operation of the spec ([`cockpit::OPERATIONS`])
//! with any documented outcome, and records what it received, by operation, so that a test
//! can assert what went over the wire. Expectations, answers and the contract check are
//! written once for every operation: an operation added to the spec can be expected,
//! answered and validated as soon as `cockpit` has it. Only the realistic model of
//! customer users (`realistic()`, in `state.rs`) and the reset-password shortcuts know
//! particular operations, because they keep state between calls.
//!
//! ```no_run
//! use cockpit::{Uuid, operations, types::CustomerUserInput};
//! use cockpit_mock::{MockCloudCockpit, Outcome};
//!
//! # async fn test() {
//! let mock = MockCloudCockpit::start().await;
//! let customer = Uuid::new_v4();
//! mock.expect(&operations::RESET_CUSTOMER_USER_PASSWORD)
//!     .param("customerId", customer)
//!     .times(1)
//!     .respond(Outcome::Ok)
//!     .await;
//!
//! // The code under test, given a client pointed at the mock:
//! let user = CustomerUserInput {
//!     display_name: Some("Ada".parse().unwrap()),
//!     email: None, location: None, domain: None,
//!     id: None, first_name: None, last_name: None, temporary_password: None,
//! };
//! mock.client()
//!     .reset_customer_user_password()
//!     .customer_id(customer)
//!     .customer_user_id(Uuid::new_v4())
//!     .provider_instance_id(Uuid::new_v4())
//!     .customer_user(user)
//!     .send()
//!     .await
//!     .unwrap();
//!
//! let received = mock.received(&operations::RESET_CUSTOMER_USER_PASSWORD).await;
//! assert_eq!(received[0].param("customerId"), Some(customer.to_string().as_str()));
//! assert_eq!(received[0].body["customerUser"]["displayName"], "Ada");
//! assert!(received[0].has_bearer_token(MockCloudCockpit::TOKEN));
//! # }
//! ```

#![deny(missing_docs, missing_debug_implementations)]

mod contract;
mod seed;
mod state;
mod tokens;

use std::{collections::BTreeMap, fmt, sync::Arc, time::Duration};

use cockpit::{Client, ClientBuilder, Operation, ParamIn, RetryPolicy, SecretString, operations};
use serde_json::{Value, json};
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

pub use seed::{Seed, SeedError};
use state::{State, Stateful};
pub use tokens::TokenOutcome;
use tokens::{Issuer, Revoked, TokenEndpoint, Tokens};

/// A mock CloudCockpit API on a loopback port of its own, with a Microsoft Entra-shaped
/// token endpoint beside it; it stops when dropped.
#[derive(Debug)]
pub struct MockCloudCockpit {
    server: MockServer,
    tokens: Arc<Tokens>,
    state: Arc<State>,
    contract: Arc<contract::Contract>,
    arrivals: Recorder,
}

impl MockCloudCockpit {
    /// The tenant that [`client`](Self::client) sends.
    pub const TENANT: &'static str = "portal.cloudcockpit.com";
    /// The bearer token that [`client`](Self::client) sends.
    pub const TOKEN: &'static str = "mock-token";

    /// The client id that the token endpoint accepts.
    pub const CLIENT_ID: &'static str = "mock-client-id";
    /// The client secret that the token endpoint accepts.
    pub const CLIENT_SECRET: &'static str = "mock-client-secret";
    /// The token endpoint's path, after Entra's (`/{tenant}/oauth2/v2.0/token`).
    pub const TOKEN_PATH: &'static str = "/mock-tenant/oauth2/v2.0/token";

    /// Starts a mock with no expectations: every API request gets a 404 until one is set.
    /// The token endpoint issues tokens valid for an hour.
    pub async fn start() -> Self {
        MockCloudCockpit::on(MockServer::start().await).await
    }

    /// Starts a mock on `listener` (for a fixed port).
    pub async fn start_on(listener: std::net::TcpListener) -> Self {
        MockCloudCockpit::on(MockServer::builder().listener(listener).start().await).await
    }

    async fn on(server: MockServer) -> Self {
        let arrivals = Recorder::default();
        Mock::given(arrivals.clone())
            .respond_with(ResponseTemplate::new(500))
            .with_priority(1)
            .mount(&server)
            .await;
        let tokens = Arc::new(Tokens::default());
        Mock::given(TokenEndpoint)
            .respond_with(Issuer(tokens.clone()))
            .with_priority(1)
            .mount(&server)
            .await;
        // Before any expectation: a request that carries a revoked token is refused, and so
        // is one that breaks the spec's contract (`contract.rs`).
        Mock::given(Revoked(tokens.clone()))
            .respond_with(ResponseTemplate::new(401))
            .with_priority(1)
            .mount(&server)
            .await;
        let contract = Arc::new(contract::Contract::from_spec(tokens.clone()));
        Mock::given(contract::Breaks(contract.clone()))
            .respond_with(contract::Refuse(contract.clone()))
            .with_priority(1)
            .mount(&server)
            .await;
        // After every expectation: what the state holds, or its 404.
        let state = Arc::new(State::default());
        Mock::given(wiremock::matchers::any())
            .respond_with(Stateful(state.clone(), contract.clone()))
            .with_priority(10)
            .mount(&server)
            .await;
        MockCloudCockpit {
            server,
            tokens,
            state,
            contract,
            arrivals,
        }
    }

    /// Every API request received so far, of any operation, in the order it arrived, with
    /// the time it arrived: to assert ordering and how many calls were in flight at once,
    /// without sleeping. Requests the contract refused are here too.
    pub fn received_all(&self) -> Vec<Arrival> {
        self.arrivals
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Accepts any bearer token, or none, from now on. By default the mock refuses (401)
    /// a request without [`TOKEN`](Self::TOKEN) or a token its token endpoint issued and
    /// has not revoked, as the API does, so that a test that forgets credentials fails.
    /// Turn that off only for a test about something else that cannot set a token, such
    /// as a tool under test whose credentials come from a place the test does not reach.
    pub fn accept_any_token(&self) {
        self.contract
            .any_token
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Answers from now on as a .NET service does, not only as the spec says, so that the
    /// code under test shows it reads tolerantly: each user carries a property the spec
    /// does not have (`userPrincipalName`) and an explicit `null` for each one it holds
    /// none of; a page leaves out `hasPreviousPage` and sends `continuationToken: null`;
    /// and a request that breaks the contract gets ASP.NET Core's validation answer (RFC
    /// 9457 problem details, `errors` as an object of arrays) instead of the documented
    /// error body. [`add_user`](Self::add_user) then also takes users the spec forbids.
    pub fn realistic(&self) {
        self.contract
            .realistic
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Accepts `token` as a bearer token from now on, beside [`TOKEN`](Self::TOKEN) and
    /// the tokens its token endpoint issues: for code under test that is given a token of
    /// its own (as with `COCKPIT_TOKEN`).
    pub fn accept_token(&self, token: impl Into<String>) {
        self.contract
            .tokens_accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(token.into());
    }

    /// Refuses (400, naming `X-Tenant`) a request whose `X-Tenant` is not `tenant`. By
    /// default any tenant the spec allows is accepted.
    pub fn require_tenant(&self, tenant: impl Into<String>) {
        *self
            .contract
            .tenant
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(tenant.into());
    }

    /// The mock's base URL, such as `http://127.0.0.1:40123`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The token endpoint's URL, for
    /// [`ClientCredentials::token_url`](cockpit::ClientCredentials::token_url) or
    /// `COCKPIT_TOKEN_URL`.
    pub fn token_url(&self) -> String {
        format!("{}{}", self.uri(), Self::TOKEN_PATH)
    }

    /// Client credentials that the mock's token endpoint accepts.
    pub fn credentials(&self) -> cockpit::ClientCredentials {
        cockpit::ClientCredentials::new(Self::CLIENT_ID, SecretString::from(Self::CLIENT_SECRET))
            .token_url(self.token_url())
    }

    /// Sets what the token endpoint answers from now on: tokens with a lifetime, an
    /// OAuth refusal, or a failure.
    pub fn tokens(&self, outcome: TokenOutcome) {
        self.tokens.set(outcome);
    }

    /// Every token issued so far is refused by the API from now on (401), as an expired
    /// or revoked token is; later tokens are accepted.
    pub fn revoke_issued_tokens(&self) {
        self.tokens.revoke_issued();
    }

    /// How many requests the token endpoint has received.
    pub fn token_requests(&self) -> usize {
        self.tokens.requests()
    }

    /// A client builder pointed at the mock, with [`TENANT`](Self::TENANT),
    /// [`TOKEN`](Self::TOKEN), and retries turned off ([`RetryPolicy::none`]), so that a
    /// test sees each answer as the mock gives it. For a test of retries, set a policy:
    /// `.retry_policy(RetryPolicy::default())` before `build()`.
    pub fn client_builder(&self) -> ClientBuilder {
        Client::builder()
            .base_url(self.uri())
            .tenant(Self::TENANT)
            .bearer_token(SecretString::from(Self::TOKEN))
            .retry_policy(RetryPolicy::none())
    }

    /// A client pointed at the mock, from [`client_builder`](Self::client_builder).
    ///
    /// # Panics
    ///
    /// Never with the builder's own settings, which are valid.
    pub fn client(&self) -> Client {
        self.client_builder()
            .build()
            .expect("the mock's client settings are valid")
    }

    /// Sets what `op` answers, for the requests that match what the expectation names.
    pub fn expect(&self, op: &'static Operation) -> Expectation<'_> {
        Expectation {
            mock: self,
            op,
            params: BTreeMap::new(),
            tenant: None,
            times: None,
            up_to: None,
            delay: None,
            headers: Vec::new(),
            request_headers: Vec::new(),
        }
    }

    /// Sets what reset-password answers: [`expect`](Self::expect) for
    /// `resetCustomerUserPassword`.
    pub fn expect_reset_password(&self) -> Expectation<'_> {
        self.expect(&operations::RESET_CUSTOMER_USER_PASSWORD)
    }

    /// Every request for `op` received so far, in order.
    pub async fn received(&self, op: &'static Operation) -> Vec<Received> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter_map(|r| Received::of(op, r))
            .collect()
    }

    /// Every reset-password request received so far, in order.
    pub async fn received_resets(&self) -> Vec<Received> {
        self.received(&operations::RESET_CUSTOMER_USER_PASSWORD)
            .await
    }
}

/// The path parameters of `path` when it is an instance of `template`.
fn path_params(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let mut params = BTreeMap::new();
    let mut segments = path.split('/');
    for expected in template.split('/') {
        let segment = segments.next()?;
        match expected.strip_prefix('{').and_then(|e| e.strip_suffix('}')) {
            Some(name) if !segment.is_empty() => {
                params.insert(name.to_string(), segment.to_string());
            }
            Some(_) => return None,
            None if expected == segment => {}
            None => return None,
        }
    }
    segments.next().is_none().then_some(params)
}

/// One request for an operation, as the mock received it.
#[derive(Clone, PartialEq)]
pub struct Received {
    /// The operation's id.
    pub operation: &'static str,
    /// The path parameters, by their API names.
    pub path: BTreeMap<String, String>,
    /// The query parameters, by their API names.
    pub query: BTreeMap<String, String>,
    /// The `X-Tenant` header.
    pub tenant: Option<String>,
    /// The `X-Correlation-Id` header.
    pub correlation_id: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    authorization: Option<String>,
    /// The JSON body (`Null` if there was none, or it was not JSON).
    pub body: Value,
}

/// One reset-password request as the mock received it.
pub type ReceivedReset = Received;

impl Received {
    fn of(op: &'static Operation, r: &Request) -> Option<Received> {
        if r.method != op.method {
            return None;
        }
        let path = path_params(op.path, r.url.path())?;
        let header = |name: &str| {
            r.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Some(Received {
            operation: op.id,
            path,
            query: r.url.query_pairs().into_owned().collect(),
            tenant: header("x-tenant"),
            correlation_id: header("x-correlation-id"),
            content_type: header("content-type"),
            authorization: header("authorization"),
            body: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
        })
    }

    /// A path or query parameter, by its API name (such as `customerId`).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.path
            .get(name)
            .or_else(|| self.query.get(name))
            .map(String::as_str)
    }

    /// Whether the request carried `Authorization: Bearer <token>`.
    pub fn has_bearer_token(&self, token: &str) -> bool {
        self.authorization
            .as_deref()
            .and_then(|a| a.strip_prefix("Bearer "))
            == Some(token)
    }

    /// Whether the request carried an `Authorization` header at all.
    pub fn has_authorization(&self) -> bool {
        self.authorization.is_some()
    }

    /// The body decoded as the spec's type for it, such as
    /// `cockpit::types::ResetPasswordRequest`: every field, typed.
    ///
    /// # Errors
    ///
    /// When the body is not that type's JSON.
    pub fn body_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.body)
    }

    /// The body with every secret property (such as `temporaryPassword`) replaced by
    /// `** redacted **`, for printing.
    pub fn redacted_body(&self) -> Value {
        let mut body = self.body.clone();
        cockpit::redact_secrets(&mut body);
        body
    }
}

impl fmt::Debug for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Received")
            .field("operation", &self.operation)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("tenant", &self.tenant)
            .field("correlation_id", &self.correlation_id)
            .field("content_type", &self.content_type)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "Bearer ** redacted **"),
            )
            .field("body", &self.redacted_body())
            .finish()
    }
}

/// The API's error body, for the outcomes that carry one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorBody {
    /// `type`.
    pub error_type: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `errors`: property name and its descriptions.
    pub errors: Vec<(String, Vec<String>)>,
}

/// What the mock answers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// 200 with no body.
    Ok,
    /// 200 with this JSON body, for an operation that answers with one.
    Json(Value),
    /// 400 with the error body.
    BadRequest(ErrorBody),
    /// 401 with no body.
    Unauthorized,
    /// 403 with no body.
    Forbidden,
    /// 404 with the error body.
    NotFound(ErrorBody),
    /// 500 with the error body.
    ServerError(ErrorBody),
    /// Any status with no body, for what the API does not document.
    Status(u16),
    /// Any status with a raw body and content type, for what the API does not document.
    Raw {
        /// The status.
        status: u16,
        /// The body.
        body: String,
        /// The `Content-Type`.
        content_type: String,
    },
}

/// Answers with an [`Outcome`], echoing the request's correlation id in error bodies as
/// the API does, after the expectation's delay and with its extra headers.
struct Answer {
    outcome: Outcome,
    delay: Option<Duration>,
    headers: Vec<(String, String)>,
}

impl Respond for Answer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut template = self.template(request);
        for (name, value) in &self.headers {
            template = template.insert_header(name.as_str(), value.as_str());
        }
        match self.delay {
            Some(delay) => template.set_delay(delay),
            None => template,
        }
    }
}

impl Answer {
    fn template(&self, request: &Request) -> ResponseTemplate {
        let correlation = request
            .headers
            .get("x-correlation-id")
            .and_then(|v| v.to_str().ok());
        let error = |status: u16, body: &ErrorBody| {
            ResponseTemplate::new(status).set_body_json(json!({
                "statusCode": status,
                "type": body.error_type,
                "description": body.description,
                "correlationId": correlation,
                "errors": body.errors.iter().map(|(name, descriptions)| json!({
                    "propertyName": name, "description": descriptions
                })).collect::<Vec<_>>(),
            }))
        };
        match &self.outcome {
            Outcome::Ok => ResponseTemplate::new(200),
            Outcome::Json(body) => ResponseTemplate::new(200).set_body_json(body),
            Outcome::BadRequest(body) => error(400, body),
            Outcome::Unauthorized => ResponseTemplate::new(401),
            Outcome::Forbidden => ResponseTemplate::new(403),
            Outcome::NotFound(body) => error(404, body),
            Outcome::ServerError(body) => error(500, body),
            Outcome::Status(status) => ResponseTemplate::new(*status),
            Outcome::Raw {
                status,
                body,
                content_type,
            } => ResponseTemplate::new(*status).set_body_raw(body.clone(), content_type),
        }
    }
}

/// An expectation on one operation being set up; [`respond`](Self::respond) mounts it.
#[must_use = "nothing is expected until .respond(…).await"]
#[derive(Debug)]
pub struct Expectation<'a> {
    mock: &'a MockCloudCockpit,
    op: &'static Operation,
    params: BTreeMap<String, String>,
    tenant: Option<String>,
    times: Option<u64>,
    up_to: Option<u64>,
    delay: Option<Duration>,
    headers: Vec<(String, String)>,
    request_headers: Vec<(String, String)>,
}

/// One reset-password expectation: an [`Expectation`] on `resetCustomerUserPassword`.
pub type ResetPasswordExpectation<'a> = Expectation<'a>;

impl Expectation<'_> {
    /// Only requests whose path or query parameter `name` (its API name, such as
    /// `customerId`) is `value`.
    ///
    /// # Panics
    ///
    /// When the operation has no path or query parameter of that name: a typo in a test.
    pub fn param(mut self, name: &str, value: impl ToString) -> Self {
        assert!(
            self.op
                .param(name)
                .is_some_and(|p| matches!(p.location, ParamIn::Path | ParamIn::Query)),
            "{} has no path or query parameter {name:?}",
            self.op.id
        );
        self.params.insert(name.to_string(), value.to_string());
        self
    }

    /// Only requests for this customer: `param("customerId", id)`.
    pub fn customer_id(self, id: cockpit::Uuid) -> Self {
        self.param("customerId", id)
    }

    /// Only requests for this customer user: `param("customerUserId", id)`.
    pub fn customer_user_id(self, id: cockpit::Uuid) -> Self {
        self.param("customerUserId", id)
    }

    /// Only requests with this `X-Tenant`.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Expect exactly this many matching requests; checked when the mock is dropped.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }

    /// Answers only the first `n` matching requests; later ones go on to the next
    /// expectation, or to the state. For sequences: "503 once, then 200" is an expectation
    /// of 503 `up_to_n_times(1)`, set before one of 200 (or a user in the state).
    pub fn up_to_n_times(mut self, n: u64) -> Self {
        self.up_to = Some(n);
        self
    }

    /// Only requests that carry the header `name` with `value` (the name in any case).
    pub fn when_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.request_headers.push((name.into(), value.into()));
        self
    }

    /// Answers only after `delay`: for timeouts, and for calls in flight together.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Adds a header to the answer, such as `Retry-After`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Answers matching requests with `outcome`.
    pub async fn respond(self, outcome: Outcome) {
        let mut mock = Mock::given(Matches {
            op: self.op,
            params: self.params,
            tenant: self.tenant,
            headers: self.request_headers,
        })
        .respond_with(Answer {
            outcome,
            delay: self.delay,
            headers: self.headers,
        });
        if let Some(n) = self.times {
            mock = mock.expect(n);
        }
        if let Some(n) = self.up_to {
            mock = mock.up_to_n_times(n);
        }
        mock.mount(&self.mock.server).await;
    }
}

/// Matches the requests for one operation, with the parameters and tenant an expectation
/// names.
#[derive(Debug)]
struct Matches {
    op: &'static Operation,
    params: BTreeMap<String, String>,
    tenant: Option<String>,
    headers: Vec<(String, String)>,
}

impl Match for Matches {
    fn matches(&self, request: &Request) -> bool {
        let Some(received) = Received::of(self.op, request) else {
            return false;
        };
        self.params
            .iter()
            .all(|(name, value)| received.param(name) == Some(value.as_str()))
            && self
                .tenant
                .as_ref()
                .is_none_or(|t| received.tenant.as_ref() == Some(t))
            && self.headers.iter().all(|(name, value)| {
                request
                    .headers
                    .get(name.as_str())
                    .is_some_and(|v| v.as_bytes() == value.as_bytes())
            })
    }
}

/// Records every request as it arrives, with its time, and matches none: mounted first,
/// so that it sees each request before anything answers it.
#[derive(Debug, Default, Clone)]
struct Recorder(Arc<std::sync::Mutex<Vec<Arrival>>>);

/// One API request, as it arrived: when, for which operation, and what it carried.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Arrival {
    /// When the mock received it.
    pub at: std::time::Instant,
    /// The request, for the operation whose method and path it has.
    pub request: Received,
}

impl Match for Recorder {
    fn matches(&self, request: &Request) -> bool {
        if let Some(received) = cockpit::OPERATIONS
            .iter()
            .find_map(|op| Received::of(op, request))
        {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Arrival {
                    at: std::time::Instant::now(),
                    request: received,
                });
        }
        false
    }
}
