//! `PATCH /v1/Customers/{customerId}/users/{customerUserId}/reset-password`: resets a
//! customer user's password.

use std::{fmt, future::Future, sync::Arc, time::Instant};

use cockpit_generated::types;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tracing::{Instrument, field::Empty};
use uuid::Uuid;

use crate::{
    client::{Client, check_tenant},
    error::{ApiError, Error, ErrorKind, Result},
    transport::{Capture, MAX_BODY, Seen},
};

const OPERATION: &str = "resetCustomerUserPassword";
const PATH_TEMPLATE: &str = "/v1/Customers/{customerId}/users/{customerUserId}/reset-password";

/// A customer user, as the API describes it (`customerUser`).
///
/// `display_name`, `email`, `location` and `domain` are required by the API but may be
/// null: they are always sent, as `null` when `None`. The others are left out when `None`.
/// From JSON (the CLI's `--user-json`), the names are the API's camelCase ones.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CustomerUser {
    /// `id`: the GUID identifier for the customer user.
    pub id: Option<Uuid>,
    /// `displayName`: up to 50 characters.
    pub display_name: Option<String>,
    /// `email`: up to 48 characters.
    pub email: Option<String>,
    /// `firstName`: up to 50 characters.
    pub first_name: Option<String>,
    /// `lastName`: up to 50 characters.
    pub last_name: Option<String>,
    /// `location`: the customer user location.
    pub location: Option<String>,
    /// `temporaryPassword`: the customer user temporary password. A secret: never shown
    /// by `Debug`.
    pub temporary_password: Option<SecretString>,
    /// `domain`: the customer domain.
    pub domain: Option<String>,
}

impl fmt::Debug for CustomerUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomerUser")
            .field("id", &self.id)
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field("first_name", &self.first_name)
            .field("last_name", &self.last_name)
            .field("location", &self.location)
            .field(
                "temporary_password",
                &self.temporary_password.as_ref().map(|_| "** redacted **"),
            )
            .field("domain", &self.domain)
            .finish()
    }
}

/// Checks a documented maxLength, counted in characters as the generated types count.
fn check_len(field: &str, value: &Option<String>, max: usize) -> Result<()> {
    match value {
        // A string of at most `max` bytes has at most `max` characters: no need to count.
        Some(v) if v.len() > max && v.chars().count() > max => Err(Error::invalid_input(format!(
            "customerUser.{field} is {} characters long; the API allows at most {max}",
            v.chars().count()
        ))),
        _ => Ok(()),
    }
}

/// Converts into a generated type, whose constructor checks the same limits again.
fn convert<T>(field: &str, value: &Option<String>) -> Result<Option<T>>
where
    T: std::str::FromStr,
    T::Err: fmt::Display,
{
    value
        .as_deref()
        .map(|v| {
            v.parse::<T>()
                .map_err(|e| Error::invalid_input(format!("customerUser.{field}: {e}")))
        })
        .transpose()
}

impl CustomerUser {
    /// Checks the documented limits, before anything is built or sent.
    pub(crate) fn check(&self) -> Result<()> {
        check_len("displayName", &self.display_name, 50)?;
        check_len("email", &self.email, 48)?;
        check_len("firstName", &self.first_name, 50)?;
        check_len("lastName", &self.last_name, 50)
    }

    /// The body's `customerUser`, built afresh for each attempt: the generated client takes
    /// its body by value, and building it from here costs no more than copying one kept.
    pub(crate) fn to_wire(&self) -> Result<types::CustomerUser> {
        Ok(types::CustomerUser {
            id: self.id,
            display_name: convert("displayName", &self.display_name)?,
            email: convert("email", &self.email)?,
            first_name: convert("firstName", &self.first_name)?,
            last_name: convert("lastName", &self.last_name)?,
            location: self.location.clone(),
            temporary_password: self
                .temporary_password
                .as_ref()
                .map(|p| p.expose_secret().to_string()),
            domain: self.domain.clone(),
        })
    }
}

/// A successful answer: its status, the correlation id the call sent, and how many
/// attempts it took.
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

impl Client {
    /// Resets a customer user's password (`PATCH …/reset-password`). Only valid for
    /// customers that belong to a Microsoft tenant/provider.
    ///
    /// ```no_run
    /// # async fn run() -> cockpit::Result<()> {
    /// use cockpit::{Client, CustomerUser, SecretString, Uuid};
    ///
    /// let client = Client::builder()
    ///     .tenant("portal.cloudcockpit.com")
    ///     .bearer_token(SecretString::from(std::env::var("COCKPIT_TOKEN").unwrap_or_default()))
    ///     .build()?;
    /// let done = client
    ///     .reset_customer_user_password()
    ///     .customer_id(Uuid::parse_str("3f1c9a52-8a7e-4d7c-9a55-0c1e2b3d4f50").unwrap())
    ///     .customer_user_id(Uuid::parse_str("b0e5f7a1-2c3d-4e5f-8a9b-0c1d2e3f4a5b").unwrap())
    ///     .provider_instance_id(Uuid::parse_str("5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d").unwrap())
    ///     .customer_user(CustomerUser {
    ///         display_name: Some("Ada Lovelace".into()),
    ///         email: Some("ada@contoso.example".into()),
    ///         location: Some("PT".into()),
    ///         domain: Some("contoso.example".into()),
    ///         ..Default::default()
    ///     })
    ///     .send()
    ///     .await?;
    /// println!("reset; correlation id {}", done.correlation_id);
    /// # Ok(()) }
    /// ```
    pub fn reset_customer_user_password(&self) -> ResetCustomerUserPassword<'_> {
        ResetCustomerUserPassword {
            client: self,
            customer_id: None,
            customer_user_id: None,
            provider_instance_id: None,
            customer_user: None,
            tenant: None,
            correlation_id: None,
        }
    }
}

/// A reset-password call being put together; [`send`](Self::send) sends it.
#[must_use = "nothing is sent until .send().await"]
pub struct ResetCustomerUserPassword<'a> {
    client: &'a Client,
    customer_id: Option<Uuid>,
    customer_user_id: Option<Uuid>,
    provider_instance_id: Option<Uuid>,
    customer_user: Option<CustomerUser>,
    tenant: Option<String>,
    correlation_id: Option<Uuid>,
}

impl fmt::Debug for ResetCustomerUserPassword<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResetCustomerUserPassword")
            .field("customer_id", &self.customer_id)
            .field("customer_user_id", &self.customer_user_id)
            .field("provider_instance_id", &self.provider_instance_id)
            .field("customer_user", &self.customer_user)
            .field("tenant", &self.tenant)
            .field("correlation_id", &self.correlation_id)
            .finish()
    }
}

impl<'a> ResetCustomerUserPassword<'a> {
    /// `customerId`: the customer. Required.
    pub fn customer_id(mut self, id: Uuid) -> Self {
        self.customer_id = Some(id);
        self
    }

    /// `customerUserId`: the customer user. Required.
    pub fn customer_user_id(mut self, id: Uuid) -> Self {
        self.customer_user_id = Some(id);
        self
    }

    /// `providerInstanceId`: the provider instance. Required.
    pub fn provider_instance_id(mut self, id: Uuid) -> Self {
        self.provider_instance_id = Some(id);
        self
    }

    /// `customerUser`: the user's details. Required.
    pub fn customer_user(mut self, user: CustomerUser) -> Self {
        self.customer_user = Some(user);
        self
    }

    /// Sends another tenant than the client's in `X-Tenant`, for this call only.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    /// Sends this `X-Correlation-Id` instead of a fresh random one.
    pub fn correlation_id(mut self, id: Uuid) -> Self {
        self.correlation_id = Some(id);
        self
    }

    /// Sends the call, retrying as the client's [`RetryPolicy`](crate::RetryPolicy) allows.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] before anything is sent when a required value is
    /// missing or breaks a documented limit; otherwise the API's or the transport's error.
    /// Every error carries the call's correlation id.
    pub fn send(self) -> impl Future<Output = Result<Response<()>>> + Send + 'a {
        // Not an `async fn`: the returned future is the instrumented `run` itself, with no
        // layer around it that would keep a second copy of the call's values.
        let correlation_id = self.correlation_id.unwrap_or_else(Uuid::new_v4);
        let span = tracing::info_span!(
            "cockpit.request",
            operation = OPERATION,
            http.request.method = "PATCH",
            url.template = PATH_TEMPLATE,
            correlation_id = %correlation_id,
            http.response.status_code = Empty,
            attempts = Empty,
            duration_ms = Empty,
            error.kind = Empty,
        );
        self.run(correlation_id).instrument(span)
    }

    /// The call, inside its span; records how it ended on the span.
    async fn run(self, correlation_id: Uuid) -> Result<Response<()>> {
        let started = Instant::now();
        let result = self.attempts(correlation_id, started).await;
        let span = tracing::Span::current();
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        match &result {
            Ok(done) => {
                span.record("http.response.status_code", done.status.as_u16());
                span.record("attempts", done.attempts);
            }
            Err(e) => {
                if let Some(status) = e.status() {
                    span.record("http.response.status_code", status.as_u16());
                }
                span.record("attempts", e.attempts());
                span.record("error.kind", tracing::field::display(e.kind()));
            }
        }
        result
    }

    async fn attempts(&self, correlation_id: Uuid, started: Instant) -> Result<Response<()>> {
        let (customer_id, customer_user_id, provider_instance_id, user) = self
            .prepare()
            .map_err(|e| e.with_correlation_id(correlation_id))?;
        let tenant = self.tenant.as_deref().unwrap_or(&self.client.inner.tenant);
        let inner = &self.client.inner;
        let policy = &inner.retry;
        let mut attempts = 0;
        let mut replayed_401 = false;
        // One generated client and one transport for the call; each attempt takes what its
        // answer was from the transport before the next one starts.
        let capture = Arc::new(Capture::default());
        let raw = cockpit_generated::Client::new_with_client(
            &inner.base_url,
            inner.http.clone(),
            Some(capture.clone()),
        );
        loop {
            let body = types::ResetPasswordRequest {
                provider_instance_id,
                customer_user: user
                    .to_wire()
                    .map_err(|e| e.with_correlation_id(correlation_id))?,
            };
            let bearer = inner.tokens.get(&inner.http).await.map_err(|e| {
                e.with_correlation_id(correlation_id)
                    .with_attempts(attempts)
            })?;
            attempts += 1;
            let outcome = raw
                .reset_customer_user_password()
                .customer_id(customer_id)
                .customer_user_id(customer_user_id)
                .authorization(bearer.header.expose_secret())
                .x_tenant(tenant)
                .x_correlation_id(correlation_id)
                .body(body)
                .send()
                .await;
            let err = match outcome {
                Ok(value) => {
                    return Ok(Response {
                        value: (),
                        status: value.status(),
                        correlation_id,
                        attempts,
                    });
                }
                Err(e) => classify(e, capture.take(), policy)
                    .with_correlation_id(correlation_id)
                    .with_attempts(attempts),
            };
            if err.kind() == ErrorKind::Unauthorized && !replayed_401 && inner.tokens.can_refresh()
            {
                // A 401 was not processed: drop the refused token and replay once.
                inner.tokens.invalidate(&bearer);
                replayed_401 = true;
                tracing::debug!(
                    attempt = attempts,
                    "401: refreshing the token and replaying once"
                );
                continue;
            }
            if !err.is_retryable() || attempts >= policy.attempts() {
                return Err(err);
            }
            let delay = policy.delay(attempts, err.retry_after());
            if policy
                .deadline_after()
                .is_some_and(|d| started.elapsed() + delay > d)
            {
                return Err(err);
            }
            tracing::debug!(
                attempt = attempts,
                delay_ms = delay.as_millis() as u64,
                error.kind = %err.kind(),
                "retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// Checks the input, before anything is sent.
    fn prepare(&self) -> Result<(Uuid, Uuid, Uuid, &CustomerUser)> {
        let (Some(customer_id), Some(customer_user_id), Some(provider_instance_id), Some(user)) = (
            self.customer_id,
            self.customer_user_id,
            self.provider_instance_id,
            self.customer_user.as_ref(),
        ) else {
            let missing: Vec<&str> = [
                ("customer_id", self.customer_id.is_none()),
                ("customer_user_id", self.customer_user_id.is_none()),
                ("provider_instance_id", self.provider_instance_id.is_none()),
                ("customer_user", self.customer_user.is_none()),
            ]
            .into_iter()
            .filter_map(|(name, absent)| absent.then_some(name))
            .collect();
            return Err(Error::invalid_input(format!(
                "missing {}: set each with its method, such as .{}(…)",
                missing.join(", "),
                missing[0]
            )));
        };
        if let Some(t) = &self.tenant {
            check_tenant(t).map_err(Error::invalid_input)?;
        }
        user.check()?;
        Ok((customer_id, customer_user_id, provider_instance_id, user))
    }
}

/// Turns the generated client's error, and what the transport saw, into ours.
fn classify(
    e: cockpit_generated::Error<types::ErrorResponse>,
    seen: Option<Box<Seen>>,
    policy: &crate::RetryPolicy,
) -> Error {
    use cockpit_generated::Error as G;

    match e {
        G::ErrorResponse(value) => {
            let status = value.status();
            Error::new(ErrorKind::from_status(status))
                .with_status(status)
                .with_api(ApiError::from(value.into_inner()))
        }
        G::UnexpectedResponse(_) | G::InvalidResponsePayload(..) | G::ResponseBodyError(_) => {
            match seen {
                Some(seen) => from_answer(*seen, policy),
                None => Error::new(ErrorKind::MalformedResponse)
                    .with_detail("the answer could not be read"),
            }
        }
        G::CommunicationError(e) => match seen {
            // The head came and the body broke off: the request reached the server.
            Some(seen) if seen.broke => Error::new(ErrorKind::Connection)
                .with_status(seen.status)
                .with_detail("the connection broke while the answer was read")
                .with_source(e.without_url()),
            _ if e.is_timeout() => Error::new(ErrorKind::Timeout)
                .with_detail("no complete answer in time; the request may have been processed")
                .with_source(e.without_url()),
            // Never connected: nothing reached the server, so a retry is safe.
            _ if e.is_connect() => Error::new(ErrorKind::Connection)
                .with_detail("could not connect")
                .retryable(true)
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

/// An answer that is not a documented success or a decodable documented error.
pub(crate) fn from_answer(seen: Seen, policy: &crate::RetryPolicy) -> Error {
    let status = seen.status;
    let kind = if status.is_success() {
        ErrorKind::MalformedResponse
    } else {
        ErrorKind::from_status(status)
    };
    let mut err = Error::new(kind).with_status(status).with_body(&seen.body);
    if seen.truncated {
        err = err.with_detail(format!(
            "the answer's body is over {} KiB and was cut",
            MAX_BODY / 1024
        ));
    } else if let Ok(api) = serde_json::from_slice::<types::ErrorResponse>(&seen.body) {
        err = err.with_api(ApiError::from(api));
    }
    // 429 and 503 say the request was not processed: safe to send again, after the delay
    // the server asks for.
    if matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        err = err
            .retryable(true)
            .with_retry_after(policy.retry_after(&seen.headers));
    }
    err
}
