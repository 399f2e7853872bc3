//! The one per-call pipeline that every operation goes through.
//!
//! A call builder (generated from the spec, in `generated_ops.rs`) checks its input and
//! hands it to [`send`], with the [`Operation`] it belongs to. From there, nothing here
//! knows which operation it runs:
//!
//! 1. **Span.** `cockpit.request`, with the operation id (also as `otel.name`, the span
//!    name that OpenTelemetry exporters show), method, path template and correlation id;
//!    status, attempts, duration and error kind are recorded when the call ends.
//! 2. **Headers.** One transport per call sets `X-Tenant` (the client's, or the call's
//!    own) and `X-Correlation-Id` (the call's own, or a fresh v4) on every attempt, and
//!    the `Authorization` of the attempt's token. The generated client sets none of
//!    them: `cargo xtask codegen` takes them out of its parameters.
//! 3. **Tokens.** From the client's cache, fetched once for all concurrent calls; a 401
//!    drops the refused token and replays the call once with a new one.
//! 4. **Answers.** The transport reads any body with a size cap, and keeps the status,
//!    headers and raw body of any answer that is not a documented success.
//! 5. **Errors.** One conversion from the generated client's error, whatever error body
//!    type the operation declares ([`Error::from_generated`]).
//! 6. **Retries.** Decided by the retry classifiers from the error and the operation's
//!    idempotency ([`retry::classify`]), within the policy's attempts and deadline.
//!
//! progenitor's hooks see only an operation id (`OperationInfo`) and can only return
//! `reqwest` errors or strings, so the pipeline runs around the generated client rather
//! than inside its hooks: the hooks only let the per-call transport add the headers and
//! read the answer.

use std::{future::Future, sync::Arc, time::Instant};

use reqwest::StatusCode;
use tracing::{Instrument, field::Empty};
use uuid::Uuid;

use crate::{
    check::check_tenant,
    client::Client,
    error::{Error, ErrorKind, Result},
    operation::Operation,
    retry,
    transport::CallTransport,
};

/// What the generated client returns for one attempt.
pub(crate) type RawResult<T, E> =
    std::result::Result<progenitor_client::ResponseValue<T>, cockpit_generated::Error<E>>;

/// The checked input of one call of one operation: it knows how to make an attempt with
/// the generated client. The generated glue implements it for every operation.
pub(crate) trait Call: Send + Sync {
    /// The decoded success body (`()` when the operation documents none).
    type Value: Send + serde::de::DeserializeOwned + cockpit_generated::drift::Drift;
    /// The error body type that the operation declares.
    type ErrorBody: Send;

    /// Sends the request once through `raw`, whose transport adds the pipeline's headers.
    fn attempt<'r>(
        &'r self,
        raw: &'r cockpit_generated::Client,
    ) -> impl Future<Output = RawResult<Self::Value, Self::ErrorBody>> + Send + 'r;
}

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

/// What a call may set beside its parameters: the tenant and the correlation id.
#[derive(Debug, Default, Clone)]
pub(crate) struct CallOptions {
    pub(crate) tenant: Option<String>,
    pub(crate) correlation_id: Option<Uuid>,
}

/// The problems found in a call's input, all of them, so that one error names each.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<String>);

impl Problems {
    /// A parameter as its setter left it: a value, nothing, or why the given value was
    /// refused.
    pub(crate) fn param<T>(
        &mut self,
        name: &str,
        setter: &str,
        required: bool,
        value: std::result::Result<Option<T>, String>,
    ) -> Option<T> {
        match value {
            Ok(Some(v)) => Some(v),
            Ok(None) => {
                if required {
                    self.0
                        .push(format!("missing {name}: set it with .{setter}(…)"));
                }
                None
            }
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    /// An object body, built from its builder: its conversion checks every documented
    /// limit of the generated types.
    pub(crate) fn body<T>(
        &mut self,
        required: bool,
        value: std::result::Result<T, String>,
    ) -> Option<T> {
        match value {
            Ok(v) => Some(v),
            // An optional body that was never set converts from an empty builder and may
            // fail for want of required fields: that is "no body", not a problem. A
            // required body, or any body that was set and refused, is one.
            Err(e) => {
                if required || !e.starts_with("no value supplied for ") {
                    self.0.push(format!("body: {e}"));
                }
                None
            }
        }
    }

    /// The input, or one error that names every problem.
    pub(crate) fn finish<C>(self, input: C) -> Result<C> {
        if self.0.is_empty() {
            Ok(input)
        } else {
            Err(Error::invalid_input(self.0.join("; ")))
        }
    }
}

/// Sends one call of `op` through the pipeline.
///
/// Not an `async fn`: the returned future is the instrumented call itself, with no layer
/// around it that would keep a second copy of the call's values.
pub(crate) fn send<'a, C: Call + 'a>(
    client: &'a Client,
    op: &'static Operation,
    options: CallOptions,
    input: Result<C>,
) -> impl Future<Output = Result<Response<C::Value>>> + Send + 'a {
    let correlation_id = options.correlation_id.unwrap_or_else(Uuid::new_v4);
    let span = tracing::info_span!(
        "cockpit.request",
        otel.name = op.id,
        operation = op.id,
        http.request.method = op.method,
        url.template = op.path,
        correlation_id = %correlation_id,
        http.response.status_code = Empty,
        attempts = Empty,
        duration_ms = Empty,
        error.kind = Empty,
    );
    run(client, op, options.tenant, correlation_id, input).instrument(span)
}

/// The call, inside its span; records how it ended on the span.
async fn run<C: Call>(
    client: &Client,
    op: &'static Operation,
    tenant: Option<String>,
    correlation_id: Uuid,
    input: Result<C>,
) -> Result<Response<C::Value>> {
    let started = Instant::now();
    let result = attempts(client, op, tenant, correlation_id, input, started).await;
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
            span.record("error.kind", e.kind().as_str());
            // One event for the failed call, inside its span, so that a log at WARN shows
            // it with its operation and correlation id. The message holds no secret.
            tracing::warn!(error.kind = e.kind().as_str(), "call failed: {e}");
        }
    }
    result
}

async fn attempts<C: Call>(
    client: &Client,
    op: &'static Operation,
    tenant: Option<String>,
    correlation_id: Uuid,
    input: Result<C>,
    started: Instant,
) -> Result<Response<C::Value>> {
    let input = input.map_err(|e| e.with_correlation_id(correlation_id))?;
    let inner = &client.inner;
    let tenant = match tenant {
        None => inner.tenant_header.clone(),
        Some(t) => check_tenant(&t)
            .and_then(|()| header_value(&t))
            .map_err(|e| Error::invalid_input(e).with_correlation_id(correlation_id))?,
    };
    let policy = &inner.retry;
    let mut attempts = 0;
    let mut replayed_401 = false;
    // One generated client and one transport for the call; each attempt takes what its
    // answer was from the transport before the next one starts.
    let transport = Arc::new(CallTransport::new(
        tenant,
        correlation_id,
        inner.max_response_body,
    ));
    let raw = cockpit_generated::Client::new_with_client(
        &inner.base_url,
        inner.http.clone(),
        Some(transport.clone()),
    );
    loop {
        let bearer = inner.tokens.get(&inner.http).await.map_err(|e| {
            e.with_correlation_id(correlation_id)
                .with_attempts(attempts)
        })?;
        transport.set_authorization(bearer.header.clone());
        attempts = attempts.saturating_add(1);
        let err = match input.attempt(&raw).await {
            Ok(value) => {
                let status = value.status();
                let value = value.into_inner();
                report_drift(client, op, &value);
                return Ok(Response {
                    status,
                    value,
                    correlation_id,
                    attempts,
                });
            }
            // The fast decode refused a success body: read it again tolerantly, or name
            // where it breaks (see `decode`). This costs nothing on a body that decodes. A
            // body cut at the cap, and an error status, go the common way below.
            Err(cockpit_generated::Error::InvalidResponsePayload(body, e)) => {
                match transport.take() {
                    Some(seen) if seen.status.is_success() && !seen.truncated => {
                        match crate::decode::recover::<C::Value>(&body) {
                            Ok(value) => {
                                report_drift(client, op, &value);
                                return Ok(Response {
                                    status: seen.status,
                                    value,
                                    correlation_id,
                                    attempts,
                                });
                            }
                            Err(unreadable) => Error::malformed(seen.status, &body, unreadable),
                        }
                    }
                    seen => retry::classify(
                        Error::from_generated(
                            cockpit_generated::Error::<C::ErrorBody>::InvalidResponsePayload(
                                body, e,
                            ),
                            seen,
                        ),
                        op,
                    ),
                }
                .with_correlation_id(correlation_id)
                .with_attempts(attempts)
            }
            Err(e) => retry::classify(Error::from_generated(e, transport.take()), op)
                .with_correlation_id(correlation_id)
                .with_attempts(attempts),
        };
        let err = if op.idempotent {
            err.idempotent_timeout(inner.timeout)
        } else {
            err
        };
        if err.kind() == ErrorKind::Unauthorized && !replayed_401 && inner.tokens.can_refresh() {
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
        // A sum too large for a `Duration` is past any deadline.
        if policy
            .deadline_after()
            .is_some_and(|d| started.elapsed().checked_add(delay).is_none_or(|t| t > d))
        {
            return Err(err);
        }
        tracing::debug!(
            attempt = attempts,
            delay_ms = delay.as_millis() as u64,
            error.kind = err.kind().as_str(),
            "retrying"
        );
        tokio::time::sleep(delay).await;
    }
}

/// Reports what an answer carries that the spec does not say: one WARN event on the target
/// `cockpit::drift` for each operation, JSON path and kind, once in the client's life. The
/// walk allocates nothing when the answer is what the spec documents.
fn report_drift<T: cockpit_generated::drift::Drift>(client: &Client, op: &Operation, value: &T) {
    let found = cockpit_generated::drift::drift_of(value);
    if found.is_empty() {
        return;
    }
    let mut seen = client
        .inner
        .drift_seen
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    for f in found {
        let key = (op.id, f.path.clone(), f.kind.clone());
        if seen.contains(&key) {
            continue;
        }
        tracing::warn!(
            target: "cockpit::drift",
            operation = op.id,
            json_path = %f.path,
            "{} answered {}: {}; the spec should learn it (openapi/cloudcockpit.yaml, then `cargo xtask codegen`)",
            op.id,
            f.path,
            f.kind
        );
        seen.insert(key);
    }
}

/// A checked tenant as a header value.
pub(crate) fn header_value(
    tenant: &str,
) -> std::result::Result<reqwest::header::HeaderValue, String> {
    reqwest::header::HeaderValue::from_str(tenant)
        .map_err(|_| format!("tenant {tenant:?} cannot be sent as X-Tenant"))
}

/// Checks an integer parameter against the spec's `minimum` and `maximum`, on the value
/// as the caller gave it. A value that is not a whole number is left to the type's own
/// conversion, which refuses it.
pub(crate) fn in_range(
    name: &str,
    value: &impl std::fmt::Display,
    min: Option<i64>,
    max: Option<i64>,
) -> std::result::Result<(), String> {
    let shown = value.to_string();
    let Ok(n) = shown.trim().parse::<i128>() else {
        return Ok(());
    };
    if let Some(min) = min.filter(|min| n < i128::from(*min)) {
        return Err(format!("{name}: {shown} is below the minimum of {min}"));
    }
    if let Some(max) = max.filter(|max| n > i128::from(*max)) {
        return Err(format!("{name}: {shown} is over the maximum of {max}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_optional_body_left_unset_is_no_problem_and_a_refused_one_is() {
        let mut p = Problems::default();
        assert_eq!(
            p.body::<()>(false, Err("no value supplied for x".into())),
            None
        );
        assert!(p.0.is_empty(), "an optional body never set");
        assert_eq!(
            p.body::<()>(false, Err("x: longer than 5 characters".into())),
            None
        );
        assert_eq!(
            p.body::<()>(true, Err("no value supplied for y".into())),
            None
        );
        assert_eq!(p.body(true, Ok(7)), Some(7));
        assert_eq!(
            p.0,
            [
                "body: x: longer than 5 characters",
                "body: no value supplied for y"
            ]
        );
        assert_eq!(
            p.finish(()).unwrap_err().to_string(),
            "invalid input: body: x: longer than 5 characters; body: no value supplied for y"
        );
    }

    #[test]
    fn integer_parameters_are_checked_against_the_spec_range() {
        assert_eq!(in_range("pageSize", &1, Some(1), Some(2000)), Ok(()));
        assert_eq!(in_range("pageSize", &2000, Some(1), Some(2000)), Ok(()));
        assert_eq!(
            in_range("pageSize", &0, Some(1), Some(2000)),
            Err("pageSize: 0 is below the minimum of 1".into())
        );
        assert_eq!(
            in_range("pageSize", &2001, Some(1), Some(2000)),
            Err("pageSize: 2001 is over the maximum of 2000".into())
        );
        assert_eq!(in_range("x", &"not a number", Some(1), None), Ok(()));
        assert_eq!(in_range("x", &i64::MIN, None, Some(0)), Ok(()));
    }
}
