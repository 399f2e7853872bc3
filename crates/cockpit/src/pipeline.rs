//! The one per-call pipeline that every operation goes through.
//!
//! Every operation's call builder is a [`CallBuilder`] of its generated input (in
//! `generated_ops.rs`): the generated setters fill the input, and [`CallBuilder::send`]
//! checks it against the spec's [`Operation`] (required parameters, the body) and hands it
//! to [`send`]. A call by name ([`Client::call`]) reaches the same builder through the
//! operation's entry point, [`dispatch`]. From there, nothing here knows which operation
//! it runs:
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
//!    idempotency ([`retry::classify`]), within the policy's attempts and deadline, and
//!    the client's retry budget.
//! 7. **Pressure.** Each attempt takes a place on the wire from the client's shared
//!    state (`pressure`): it waits while the client has its most calls in flight, or
//!    while a `Retry-After` that the API gave any of its calls has not passed.
//!
//! progenitor's hooks see only an operation id (`OperationInfo`) and can only return
//! `reqwest` errors or strings, so the pipeline runs around the generated client rather
//! than inside its hooks: the hooks only let the per-call transport add the headers and
//! read the answer.

use std::{fmt, future::Future, sync::Arc, time::Instant};

use futures::future::BoxFuture;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use tracing::{Instrument, field::Empty};
use uuid::Uuid;

use crate::{
    check::{check_tenant, header_value},
    client::Client,
    error::{Error, ErrorKind, Result},
    operation::{Args, Operation, Param},
    response::Response,
    retry,
    transport::CallTransport,
};

/// What the generated client returns for one attempt.
pub type RawResult<T, E> =
    std::result::Result<progenitor_client::ResponseValue<T>, cockpit_generated::Error<E>>;

mod sealed {
    /// Only the generated inputs are call inputs.
    pub trait Sealed {}
}
pub(crate) use sealed::Sealed;

/// The input of one call of one operation: its parameters, each by its API name. The
/// generated glue implements it for every operation, and nothing else can.
pub trait CallInput:
    Sealed + Default + Clone + fmt::Debug + DeserializeOwned + Send + Sync + 'static
{
    /// The operation.
    const OPERATION: &'static Operation;
    /// The decoded success body (`()` when the operation documents none).
    type Value: Send + DeserializeOwned + Serialize + cockpit_generated::drift::Drift + 'static;
    /// The error body type that the operation declares.
    type ErrorBody: Send + 'static;
    /// The request body (`()` when the operation takes none).
    type Body: TryFrom<Self::Draft, Error: fmt::Display>
        + DeserializeOwned
        + fmt::Debug
        + Send
        + Sync
        + 'static;
    /// What the body's property setters fill: the body type's builder, or the body itself.
    type Draft: From<Self::Body> + Default + Clone + fmt::Debug + Send + Sync + 'static;

    /// Sends the request once through `raw`, whose transport adds the pipeline's headers.
    /// The body is moved into progenitor's builder, not cloned: a retry reads it back from
    /// the bytes that the first attempt sent.
    fn attempt<'r>(
        &'r self,
        body: Option<Self::Body>,
        raw: &'r cockpit_generated::Client,
    ) -> impl Future<Output = RawResult<Self::Value, Self::ErrorBody>> + Send + 'r;
}

/// The input struct of one operation, and how an attempt hands it to progenitor's builder,
/// from one list of its parameters: `field: Type = "apiName"`. The generated glue names each
/// parameter here once, and once in its setter.
macro_rules! call_input {
    (
        $(#[$meta:meta])*
        $name:ident => $method:ident {
            $($field:ident: $ty:ty = $api:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $(#[serde(rename = $api, default)] pub(crate) $field: Option<$ty>,)*
        }

        impl $name {
            /// progenitor's builder for one attempt, with every parameter that was given.
            pub(crate) fn raw<'r>(
                &'r self,
                raw: &'r cockpit_generated::Client,
            ) -> cockpit_generated::builder::$name<'r> {
                #[allow(unused_mut)]
                let mut call = raw.$method();
                $(if let Some(v) = &self.$field {
                    call = call.$field(v.clone());
                })*
                call
            }
        }
    };
}
pub(crate) use call_input;

/// A call of one operation being put together: the client's methods (such as
/// [`Client::get_customer_user`]) make one, its setters fill it, and [`send`](Self::send)
/// sends it. It owns what it needs (the client is a cheap clone), so a call can be
/// spawned: `tokio::spawn(client.get_customer_user()….send())`.
///
/// A setter never fails: the first bad value is kept, and `send` returns it, with every
/// other problem of the input, before anything is sent.
#[must_use = "nothing is sent until .send().await"]
pub struct CallBuilder<I: CallInput> {
    client: Client,
    options: CallOptions,
    input: I,
    /// Which of the operation's parameters were given: bit `i` for `OPERATION.params[i]`.
    given: u64,
    /// The body, once given whole or by a property.
    body: Option<I::Draft>,
    problems: Vec<String>,
}

// Written by hand so that `Clone` asks nothing of the client's inner types.
impl<I: CallInput> Clone for CallBuilder<I> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            options: self.options.clone(),
            input: self.input.clone(),
            given: self.given,
            body: self.body.clone(),
            problems: self.problems.clone(),
        }
    }
}

impl<I: CallInput> fmt::Debug for CallBuilder<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallBuilder")
            .field("operation", &I::OPERATION.id)
            .field("client", &self.client)
            .field("input", &self.input)
            .field("body", &self.body)
            .field("tenant", &self.options.tenant)
            .field("correlation_id", &self.options.correlation_id)
            .field("problems", &self.problems)
            .finish_non_exhaustive()
    }
}

impl<I: CallInput> CallBuilder<I> {
    pub(crate) fn new(client: &Client) -> Self {
        Self {
            client: client.clone(),
            options: CallOptions::default(),
            input: I::default(),
            given: 0,
            body: None,
            problems: Vec::new(),
        }
    }

    /// Sends another tenant than the client's in `X-Tenant`, for this call only.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.options.tenant = Some(tenant.into());
        self
    }

    /// Sends this `X-Correlation-Id` instead of a fresh random one.
    pub fn correlation_id(mut self, id: Uuid) -> Self {
        self.options.correlation_id = Some(id);
        self
    }

    /// Sets parameter `index` of the operation (the generated setters call this).
    pub(crate) fn param<T, V>(
        self,
        index: usize,
        value: V,
        field: fn(&mut I) -> &mut Option<T>,
    ) -> Self
    where
        V: TryInto<T>,
        V::Error: fmt::Display,
    {
        self.set(index, value, field, |_, _| Ok(()))
    }

    /// Sets a whole-number parameter, checked against the spec's `minimum` and `maximum` as
    /// the caller gave it, so that the message names the value and the limit (a conversion
    /// error alone would not).
    pub(crate) fn int_param<T, V>(
        mut self,
        index: usize,
        value: V,
        field: fn(&mut I) -> &mut Option<T>,
    ) -> Self
    where
        V: TryInto<T> + Whole,
        V::Error: fmt::Display,
    {
        if let Some(p) = I::OPERATION.params.get(index)
            && let Err(e) = p.limits.check_int(p.name, value.whole())
        {
            self.given |= bit(index);
            self.problems.push(e);
            return self;
        }
        self.param(index, value, field)
    }

    /// Sets a text parameter, checked against the spec's `maxLength`.
    #[allow(
        dead_code,
        reason = "the glue of a string parameter with maxLength calls it; the spec has none today"
    )]
    pub(crate) fn text_param<T, V>(
        self,
        index: usize,
        value: V,
        field: fn(&mut I) -> &mut Option<T>,
    ) -> Self
    where
        V: TryInto<T>,
        V::Error: fmt::Display,
        T: AsRef<str>,
    {
        self.set(index, value, field, |p, v| {
            p.limits.check_len(p.name, v.as_ref())
        })
    }

    fn set<T, V>(
        mut self,
        index: usize,
        value: V,
        field: fn(&mut I) -> &mut Option<T>,
        check: impl FnOnce(&Param, &T) -> std::result::Result<(), String>,
    ) -> Self
    where
        V: TryInto<T>,
        V::Error: fmt::Display,
    {
        self.given |= bit(index);
        let Some(p) = I::OPERATION.params.get(index) else {
            return self;
        };
        match value.try_into() {
            Ok(v) => match check(p, &v) {
                Ok(()) => *field(&mut self.input) = Some(v),
                Err(e) => self.problems.push(e),
            },
            Err(e) => self.problems.push(format!("{}: {e}", p.name)),
        }
        self
    }

    /// Sets the whole request body (the generated `body` setter calls this).
    pub(crate) fn set_body<V>(mut self, value: V) -> Self
    where
        V: TryInto<I::Body>,
        V::Error: fmt::Display,
    {
        match value.try_into() {
            Ok(b) => self.body = Some(b.into()),
            Err(e) => self.problems.push(format!("body: {e}")),
        }
        self
    }

    /// Changes the body's draft, starting from an empty one (the generated property
    /// setters call this).
    pub(crate) fn body_with(mut self, f: impl FnOnce(I::Draft) -> I::Draft) -> Self {
        self.body = Some(f(self.body.take().unwrap_or_default()));
        self
    }

    /// The input as the setters left it (for the paged walk's first page).
    pub(crate) fn input(&self) -> &I {
        &self.input
    }

    /// Checks the input and sends the call through the client's pipeline: the token, the
    /// tenant, the correlation id, and retries as the operation's idempotency and the
    /// client's [`RetryPolicy`](crate::RetryPolicy) allow.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) before anything is sent
    /// when a required value is missing or breaks a documented limit; otherwise the API's
    /// or the transport's error. Every error carries the call's correlation id.
    pub fn send(self) -> impl Future<Output = Result<Response<I::Value>>> + Send + 'static {
        let Self {
            client,
            options,
            input,
            given,
            body,
            mut problems,
        } = self;
        let op = I::OPERATION;
        for (i, p) in op.params.iter().enumerate() {
            if p.required && given & bit(i) == 0 {
                problems.push(format!("missing {}: set it with .{}(…)", p.name, p.setter));
            }
        }
        let body = match body {
            Some(draft) => match I::Body::try_from(draft) {
                Ok(b) => Some(b),
                Err(e) => {
                    problems.push(format!("body: {e}"));
                    None
                }
            },
            None => {
                if op.body.is_required() {
                    problems.push("missing the request body: set it with .body(…)".to_string());
                }
                None
            }
        };
        let ready = if problems.is_empty() {
            Ok(Ready { input, body })
        } else {
            Err(Error::invalid_input(problems.join("; ")))
        };
        send(client, op, options, ready)
    }

    /// A builder filled from a call by name: the parameters and the body deserialize
    /// into the same input that the typed setters fill, after the same limits.
    fn from_args(client: &Client, args: Args) -> Result<Self> {
        let op = I::OPERATION;
        let mut call = Self::new(client);
        call.options.tenant = args.tenant;
        call.options.correlation_id = args.correlation_id;
        for (i, p) in op.params.iter().enumerate() {
            if let Some(value) = args.params.get(p.name) {
                call.given |= bit(i);
                if let Err(e) = p.limits.check_json(p.name, value) {
                    call.problems.push(e);
                }
            }
        }
        call.input = serde_path_to_error::deserialize(Value::Object(args.params))
            .map_err(|e| Error::invalid_input(format!("{}: {}", e.path(), e.inner())))?;
        if let Some(body) = args.body {
            if !op.body.is_some() {
                return Err(Error::invalid_input(format!(
                    "{} takes no request body",
                    op.id
                )));
            }
            // The path names the property that breaks the spec (`customerUser.displayName`).
            let body: I::Body = serde_path_to_error::deserialize(body).map_err(|e| {
                Error::invalid_input(format!(
                    "the request body is not valid: {}: {}",
                    e.path(),
                    e.inner()
                ))
            })?;
            call.body = Some(body.into());
        }
        Ok(call)
    }
}

/// A whole number of any of Rust's integer types, which a setter of a whole-number
/// parameter takes and checks against the spec's range before converting it.
pub trait Whole {
    /// The value, widened.
    fn whole(&self) -> i128;
}

macro_rules! whole {
    ($($t:ty),*) => {$(
        impl Whole for $t {
            fn whole(&self) -> i128 {
                i128::from(*self)
            }
        }
        impl Whole for std::num::NonZero<$t> {
            fn whole(&self) -> i128 {
                i128::from(self.get())
            }
        }
    )*};
}
whole!(i8, i16, i32, i64, u8, u16, u32, u64);

impl Whole for isize {
    fn whole(&self) -> i128 {
        *self as i128
    }
}

impl Whole for usize {
    fn whole(&self) -> i128 {
        *self as i128
    }
}

/// The bit of parameter `index` in [`CallBuilder`]'s record of what was given; the
/// generator refuses an operation with more than 64 parameters.
fn bit(index: usize) -> u64 {
    u32::try_from(index)
        .ok()
        .and_then(|i| 1u64.checked_shl(i))
        .unwrap_or(0)
}

/// The entry point of operation `I` for calls by name, which [`Operation`] keeps.
pub(crate) fn dispatch<I: CallInput>(
    client: &Client,
    args: Args,
) -> BoxFuture<'static, Result<Response<Value>>> {
    let call = CallBuilder::<I>::from_args(client, args);
    Box::pin(async move { to_json(call?.send().await?) })
}

/// A typed answer as JSON.
fn to_json<T: Serialize>(done: Response<T>) -> Result<Response<Value>> {
    let value = serde_json::to_value(&done.value).map_err(|e| {
        Error::new(ErrorKind::MalformedResponse)
            .with_detail(format!("the answer could not be turned into JSON: {e}"))
            .with_correlation_id(done.correlation_id)
            .with_attempts(done.attempts)
    })?;
    Ok(Response {
        value,
        status: done.status,
        correlation_id: done.correlation_id,
        attempts: done.attempts,
    })
}

/// A checked input, with its body: everything an attempt needs.
struct Ready<I: CallInput> {
    input: I,
    body: Option<I::Body>,
}

/// What a call may set beside its parameters: the tenant and the correlation id.
#[derive(Debug, Default, Clone)]
pub(crate) struct CallOptions {
    pub(crate) tenant: Option<String>,
    pub(crate) correlation_id: Option<Uuid>,
}

/// Sends one call of `op` through the pipeline.
///
/// Not an `async fn`: the returned future is the instrumented call itself, with no layer
/// around it that would keep a second copy of the call's values.
fn send<I: CallInput>(
    client: Client,
    op: &'static Operation,
    options: CallOptions,
    input: Result<Ready<I>>,
) -> impl Future<Output = Result<Response<I::Value>>> + Send + 'static {
    let correlation_id = options.correlation_id.unwrap_or_else(Uuid::new_v4);
    let span = tracing::info_span!(
        "cockpit.request",
        otel.name = op.id,
        operation = op.id,
        http.request.method = op.method.as_str(),
        url.template = op.path,
        correlation_id = %correlation_id,
        http.response.status_code = Empty,
        attempts = Empty,
        duration_ms = Empty,
        error.kind = Empty,
        pressure.waited_ms = Empty,
        retry.refused = Empty,
    );
    async move { run(&client, op, options.tenant, correlation_id, input).await }.instrument(span)
}

/// The call, inside its span; records how it ended on the span.
async fn run<I: CallInput>(
    client: &Client,
    op: &'static Operation,
    tenant: Option<String>,
    correlation_id: Uuid,
    input: Result<Ready<I>>,
) -> Result<Response<I::Value>> {
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

async fn attempts<I: CallInput>(
    client: &Client,
    op: &'static Operation,
    tenant: Option<String>,
    correlation_id: Uuid,
    input: Result<Ready<I>>,
    started: Instant,
) -> Result<Response<I::Value>> {
    let Ready { input, mut body } = input.map_err(|e| e.with_correlation_id(correlation_id))?;
    let sends_body = body.is_some();
    let inner = &client.inner;
    let tenant = match tenant {
        None => inner.tenant_header.clone(),
        Some(t) => check_tenant(&t)
            .and_then(|()| header_value(&t))
            .map_err(|e| Error::invalid_input(e).with_correlation_id(correlation_id))?,
    };
    let policy = &inner.retry;
    let pressure = &inner.pressure;
    let mut attempts = 0;
    let mut replayed_401 = false;
    // What the last retry spent from the budget, which a success puts back.
    let mut spent = 0;
    let mut waited = std::time::Duration::ZERO;
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
        let (slot, wait) = pressure.slot().await;
        if !wait.is_zero() {
            waited = waited.saturating_add(wait);
            tracing::Span::current().record("pressure.waited_ms", waited.as_millis() as u64);
        }
        attempts = attempts.saturating_add(1);
        let err = match input.attempt(body.take(), &raw).await {
            Ok(value) => {
                drop(slot);
                pressure.succeeded();
                pressure.refund(if spent == 0 {
                    crate::pressure::SUCCESS_REFUND
                } else {
                    spent
                });
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
                        match crate::decode::recover::<I::Value>(&body) {
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
                            cockpit_generated::Error::<I::ErrorBody>::InvalidResponsePayload(
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
        // The API pushed back: every call of the client slows down, not only this one.
        if err.is_rate_limited()
            || (err.status() == Some(reqwest::StatusCode::SERVICE_UNAVAILABLE)
                && err.retry_after().is_some())
        {
            pressure.pushed_back(&slot, err.retry_after().map(|w| policy.delay(1, Some(w))));
        }
        drop(slot);
        if err.kind() == ErrorKind::Unauthorized && !replayed_401 && inner.tokens.can_refresh() {
            // A 401 was not processed: drop the refused token and replay once.
            inner.tokens.invalidate(&bearer);
            replayed_401 = true;
            body = again(sends_body, &transport).map_err(|why| err.and_detail(&why))?;
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
        let cost = if err.is_timeout() {
            crate::pressure::TIMEOUT_RETRY_COST
        } else {
            crate::pressure::RETRY_COST
        };
        if !pressure.spend(cost) {
            let (left, capacity) = pressure.budget().unwrap_or_default();
            tracing::Span::current().record("retry.refused", "the retry budget is spent");
            return Err(err.and_detail(&format!(
                "not sent again: the client's retry budget is spent ({left} of {capacity} \
                 tokens left, a retry costs {cost}); the API is failing many calls \
                 (RetryPolicy::retry_budget sets the budget)"
            )));
        }
        spent = cost;
        body = again(sends_body, &transport).map_err(|why| err.clone().and_detail(&why))?;
        tracing::debug!(
            attempt = attempts,
            delay_ms = delay.as_millis() as u64,
            error.kind = err.kind().as_str(),
            "retrying"
        );
        tokio::time::sleep(delay).await;
    }
}

/// The body for the next attempt, when the call has one: progenitor's builder took the
/// last one, so it is read back from the bytes that were sent (the same bytes go again).
/// Only a retry pays for this; the first attempt sends the caller's value, with no copy.
fn again<B: DeserializeOwned>(
    sends_body: bool,
    transport: &CallTransport,
) -> std::result::Result<Option<B>, String> {
    if !sends_body {
        return Ok(None);
    }
    transport
        .sent_body()
        .map(Some)
        .map_err(|why| format!("it was not sent again: {why}"))
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
