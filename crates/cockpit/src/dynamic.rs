//! Calling an operation by its id, with parameters as text and the body as JSON: what the
//! `cockpit` CLI does for every operation in the spec. The call goes through the same
//! typed builder and pipeline as a call written in Rust.

use std::collections::BTreeMap;

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    client::Client,
    error::{Error, Result},
    operation::Operation,
    pipeline::Response,
};

impl Client {
    /// A call of `op` (one of [`OPERATIONS`](crate::OPERATIONS)) whose parameters are given
    /// by their API names as text, and whose body is JSON; its answer comes back as JSON.
    ///
    /// ```no_run
    /// # async fn run() -> cockpit::Result<()> {
    /// use cockpit::{Client, Operation, SecretString};
    ///
    /// let client = Client::builder()
    ///     .tenant("portal.cloudcockpit.com")
    ///     .bearer_token(SecretString::from(std::env::var("COCKPIT_TOKEN").unwrap_or_default()))
    ///     .build()?;
    /// let op = Operation::find("resetCustomerUserPassword").expect("in the spec");
    /// let done = client
    ///     .call(op)
    ///     .param("customerId", "3f1c9a52-8a7e-4d7c-9a55-0c1e2b3d4f50")
    ///     .param("customerUserId", "b0e5f7a1-2c3d-4e5f-8a9b-0c1d2e3f4a5b")
    ///     .body_json(serde_json::json!({
    ///         "providerInstanceId": "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d",
    ///         "customerUser": {"displayName": "Ada", "email": null, "location": "PT", "domain": "contoso.example"}
    ///     }))
    ///     .send()
    ///     .await?;
    /// println!("{} ({})", done.value, done.correlation_id);
    /// # Ok(()) }
    /// ```
    pub fn call(&self, op: &'static Operation) -> DynamicCall<'_> {
        DynamicCall {
            client: self,
            op,
            args: Args::default(),
        }
    }
}

/// A call of an operation by its id, being put together; [`send`](Self::send) sends it.
#[must_use = "nothing is sent until .send().await"]
#[derive(Debug)]
pub struct DynamicCall<'a> {
    client: &'a Client,
    op: &'static Operation,
    args: Args,
}

impl DynamicCall<'_> {
    /// Sets the parameter with this API name (such as `customerId`) from its text.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.args.params.insert(name.into(), value.into());
        self
    }

    /// Sets the JSON request body.
    pub fn body_json(mut self, body: Value) -> Self {
        self.args.body = Some(body);
        self
    }

    /// Sends another tenant than the client's in `X-Tenant`, for this call only.
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.args.tenant = Some(tenant.into());
        self
    }

    /// Sends this `X-Correlation-Id` instead of a fresh random one.
    pub fn correlation_id(mut self, id: Uuid) -> Self {
        self.args.correlation_id = Some(id);
        self
    }

    /// Checks the parameters' names and values, then sends the call.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput), before anything is
    /// sent, for a name the operation does not have, a value that does not parse as its
    /// type, a body for an operation without one, or any problem the typed builder finds;
    /// otherwise the errors of the typed call.
    pub async fn send(self) -> Result<Response<Value>> {
        let unknown: Vec<&str> = self
            .args
            .params
            .keys()
            .map(String::as_str)
            .filter(|name| self.op.param(name).is_none())
            .collect();
        if !unknown.is_empty() {
            let known: Vec<&str> = self.op.params.iter().map(|p| p.name).collect();
            return Err(Error::invalid_input(format!(
                "{} has no parameter {}; its parameters are: {}",
                self.op.id,
                unknown.join(", "),
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
        if self.args.body.is_some() && !self.op.body {
            return Err(Error::invalid_input(format!(
                "{} takes no request body",
                self.op.id
            )));
        }
        crate::generated_ops::dispatch(self.client, self.op, self.args).await
    }
}

/// The parameters and body of a [`DynamicCall`], as the generated dispatch reads them.
#[derive(Debug, Default)]
pub(crate) struct Args {
    params: BTreeMap<String, String>,
    body: Option<Value>,
    tenant: Option<String>,
    correlation_id: Option<Uuid>,
}

impl Args {
    /// The parameter `name` as `T`: its text as JSON (numbers, booleans), or else as a
    /// JSON string (uuids, enums, plain strings).
    pub(crate) fn param<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>> {
        let Some(text) = self.params.get(name) else {
            return Ok(None);
        };
        if let Ok(value) = serde_json::from_str::<T>(text) {
            return Ok(Some(value));
        }
        serde_json::from_value::<T>(Value::String(text.clone()))
            .map(Some)
            .map_err(|e| Error::invalid_input(format!("{name}: {text:?} is not valid: {e}")))
    }

    /// The body as `T`.
    pub(crate) fn body<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        let Some(body) = &self.body else {
            return Ok(None);
        };
        // The path names the property that breaks the spec (`customerUser.displayName`).
        serde_path_to_error::deserialize::<_, T>(body.clone())
            .map(Some)
            .map_err(|e| {
                Error::invalid_input(format!(
                    "the request body is not valid: {}: {}",
                    e.path(),
                    e.inner()
                ))
            })
    }

    pub(crate) fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }

    pub(crate) fn correlation_id(&self) -> Option<Uuid> {
        self.correlation_id
    }
}

/// Replaces the value of every secret property (those the spec maps to
/// [`Secret`](crate::Secret), such as `temporaryPassword`), at any depth, with
/// `** redacted **`: for printing a body that may hold one.
pub fn redact_secrets(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if !v.is_null() && crate::SECRET_PROPERTIES.contains(&key.as_str()) {
                    *v = Value::String("** redacted **".to_string());
                } else {
                    redact_secrets(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_secrets),
        _ => {}
    }
}

/// A typed answer as JSON.
pub(crate) fn to_json<T: Serialize>(done: Response<T>) -> Result<Response<Value>> {
    let value = serde_json::to_value(&done.value).map_err(|e| {
        Error::new(crate::error::ErrorKind::MalformedResponse)
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::redact_secrets;

    #[test]
    fn secrets_are_redacted_at_any_depth_and_nothing_else_is() {
        let mut body = json!({
            "temporaryPassword": "top-level",
            "customerUser": {"displayName": "Ada", "temporaryPassword": "Temp-Pa55!"},
            "items": [{"temporaryPassword": "in-an-array", "email": "a@b.example"}, 3, null],
            "unset": {"temporaryPassword": null},
            "name": "temporaryPassword"
        });
        redact_secrets(&mut body);
        assert_eq!(
            body,
            json!({
                "temporaryPassword": "** redacted **",
                "customerUser": {"displayName": "Ada", "temporaryPassword": "** redacted **"},
                "items": [{"temporaryPassword": "** redacted **", "email": "a@b.example"}, 3, null],
                "unset": {"temporaryPassword": null},
                "name": "temporaryPassword"
            })
        );
    }
}
