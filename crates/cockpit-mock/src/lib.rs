#![doc = include_str!("../README.md")]
//! An in-process mock of the CloudCockpit API, for testing code that uses `cockpit`
//! without the network or credentials.
//!
//! It listens on loopback, answers reset-password with any documented outcome, and
//! records what it received so that a test can assert what went over the wire.
//!
//! ```no_run
//! use cockpit::{CustomerUser, Uuid};
//! use cockpit_mock::{MockCloudCockpit, Outcome};
//!
//! # async fn test() {
//! let mock = MockCloudCockpit::start().await;
//! let customer = Uuid::new_v4();
//! mock.expect_reset_password().customer_id(customer).times(1).respond(Outcome::Ok).await;
//!
//! // The code under test, given a client pointed at the mock:
//! mock.client()
//!     .reset_customer_user_password()
//!     .customer_id(customer)
//!     .customer_user_id(Uuid::new_v4())
//!     .provider_instance_id(Uuid::new_v4())
//!     .customer_user(CustomerUser { display_name: Some("Ada".into()), ..Default::default() })
//!     .send()
//!     .await
//!     .unwrap();
//!
//! let received = mock.received_resets().await;
//! assert_eq!(received[0].customer_id, customer.to_string());
//! assert_eq!(received[0].body["customerUser"]["displayName"], "Ada");
//! assert!(received[0].has_bearer_token(MockCloudCockpit::TOKEN));
//! # }
//! ```

#![deny(missing_docs, missing_debug_implementations)]

use std::fmt;

use cockpit::{Client, ClientBuilder, RetryPolicy, SecretString, Uuid};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{header, method, path_regex},
};

/// A mock CloudCockpit API on a loopback port of its own; it stops when dropped.
#[derive(Debug)]
pub struct MockCloudCockpit {
    server: MockServer,
}

impl MockCloudCockpit {
    /// The tenant that [`client`](Self::client) sends.
    pub const TENANT: &'static str = "portal.cloudcockpit.com";
    /// The bearer token that [`client`](Self::client) sends.
    pub const TOKEN: &'static str = "mock-token";

    /// Starts a mock with no expectations: every request gets a 404 until one is set.
    pub async fn start() -> Self {
        MockCloudCockpit {
            server: MockServer::start().await,
        }
    }

    /// The mock's base URL, such as `http://127.0.0.1:40123`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// A client builder pointed at the mock, with [`TENANT`](Self::TENANT),
    /// [`TOKEN`](Self::TOKEN) and no retries; change any of it before `build()`.
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

    /// Sets what reset-password answers.
    pub fn expect_reset_password(&self) -> ResetPasswordExpectation<'_> {
        ResetPasswordExpectation {
            mock: self,
            customer_id: None,
            customer_user_id: None,
            tenant: None,
            times: None,
        }
    }

    /// Every reset-password request received so far, in order.
    pub async fn received_resets(&self) -> Vec<ReceivedReset> {
        let ids = path_ids();
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.method.as_str() == "PATCH")
            .filter_map(|r| {
                let (customer_id, customer_user_id) = ids(r.url.path())?;
                let header = |name: &str| {
                    r.headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                Some(ReceivedReset {
                    customer_id,
                    customer_user_id,
                    tenant: header("x-tenant"),
                    correlation_id: header("x-correlation-id"),
                    content_type: header("content-type"),
                    authorization: header("authorization"),
                    body: serde_json::from_slice(&r.body).unwrap_or(Value::Null),
                })
            })
            .collect()
    }
}

/// Splits a reset-password path into its two ids.
fn path_ids() -> impl Fn(&str) -> Option<(String, String)> {
    |p: &str| {
        let rest = p.strip_prefix("/v1/Customers/")?;
        let (customer, rest) = rest.split_once("/users/")?;
        let user = rest.strip_suffix("/reset-password")?;
        (!customer.contains('/') && !user.contains('/'))
            .then(|| (customer.to_string(), user.to_string()))
    }
}

/// One reset-password request as the mock received it.
#[derive(Clone, PartialEq)]
pub struct ReceivedReset {
    /// The `customerId` path segment.
    pub customer_id: String,
    /// The `customerUserId` path segment.
    pub customer_user_id: String,
    /// The `X-Tenant` header.
    pub tenant: Option<String>,
    /// The `X-Correlation-Id` header.
    pub correlation_id: Option<String>,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    authorization: Option<String>,
    /// The JSON body (`Null` if it was not JSON).
    pub body: Value,
}

impl ReceivedReset {
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

    /// The body with `customerUser.temporaryPassword` replaced by `** redacted **`, for
    /// printing.
    pub fn redacted_body(&self) -> Value {
        let mut body = self.body.clone();
        if let Some(p) = body.pointer_mut("/customerUser/temporaryPassword")
            && !p.is_null()
        {
            *p = json!("** redacted **");
        }
        body
    }
}

impl fmt::Debug for ReceivedReset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivedReset")
            .field("customer_id", &self.customer_id)
            .field("customer_user_id", &self.customer_user_id)
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
/// the API does.
struct Answer(Outcome);

impl Respond for Answer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
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
        match &self.0 {
            Outcome::Ok => ResponseTemplate::new(200),
            Outcome::BadRequest(body) => error(400, body),
            Outcome::Unauthorized => ResponseTemplate::new(401),
            Outcome::Forbidden => ResponseTemplate::new(403),
            Outcome::NotFound(body) => error(404, body),
            Outcome::ServerError(body) => error(500, body),
            Outcome::Raw {
                status,
                body,
                content_type,
            } => ResponseTemplate::new(*status).set_body_raw(body.clone(), content_type),
        }
    }
}

/// An expectation on reset-password being set up; [`respond`](Self::respond) mounts it.
#[must_use = "nothing is expected until .respond(…).await"]
#[derive(Debug)]
pub struct ResetPasswordExpectation<'a> {
    mock: &'a MockCloudCockpit,
    customer_id: Option<Uuid>,
    customer_user_id: Option<Uuid>,
    tenant: Option<String>,
    times: Option<u64>,
}

impl ResetPasswordExpectation<'_> {
    /// Only requests for this customer.
    pub fn customer_id(mut self, id: Uuid) -> Self {
        self.customer_id = Some(id);
        self
    }

    /// Only requests for this customer user.
    pub fn customer_user_id(mut self, id: Uuid) -> Self {
        self.customer_user_id = Some(id);
        self
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

    /// Answers matching requests with `outcome`.
    pub async fn respond(self, outcome: Outcome) {
        // A given id matches itself; an id not given matches any path segment.
        let segment =
            |id: Option<Uuid>| id.map_or_else(|| "[^/]+".to_string(), |id| id.to_string());
        let mut mock = Mock::given(method("PATCH")).and(path_regex(format!(
            "^/v1/Customers/{}/users/{}/reset-password$",
            segment(self.customer_id),
            segment(self.customer_user_id)
        )));
        if let Some(tenant) = self.tenant {
            mock = mock.and(header("x-tenant", tenant.as_str()));
        }
        let mut mock = mock.respond_with(Answer(outcome));
        if let Some(n) = self.times {
            mock = mock.expect(n);
        }
        mock.mount(&self.mock.server).await;
    }
}
