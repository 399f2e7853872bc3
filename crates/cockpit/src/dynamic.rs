//! Calling an operation by its id, with parameters as text and the body as JSON: what the
//! `cockpit` CLI does for every operation in the spec. The call goes through the same
//! typed builder and pipeline as a call written in Rust: each operation's entry point, kept
//! in its [`Operation`], reads the arguments into its generated input.

use serde_json::Value;
use uuid::Uuid;

use crate::{
    client::Client,
    error::{Error, Result},
    operation::{Args, Kind, Operation},
    response::Response,
};

impl Client {
    /// A call of `op` (one of [`OPERATIONS`](crate::OPERATIONS)) whose parameters are given
    /// by their API names, as text or JSON, and whose body is JSON; its answer comes back as
    /// JSON. The parameters and body fill the same generated input as the typed setters,
    /// with the same checks.
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
    pub fn call(&self, op: &'static Operation) -> DynamicCall {
        DynamicCall {
            client: self.clone(),
            op,
            args: Args::default(),
            problems: Vec::new(),
        }
    }
}

/// A call of an operation by its id, being put together; [`send`](Self::send) sends it.
#[must_use = "nothing is sent until .send().await"]
#[derive(Debug)]
pub struct DynamicCall {
    client: Client,
    op: &'static Operation,
    args: Args,
    problems: Vec<String>,
}

impl DynamicCall {
    /// Sets the parameter with this API name (such as `customerId`) from its text, read as
    /// the spec's type of the parameter says: a number for an integer, `true` or `false`
    /// for a boolean, the text itself otherwise.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, text) = (name.into(), value.into());
        let Some(p) = self.op.param(&name) else {
            // Named with the others by `send`.
            self.args.params.insert(name, Value::String(text));
            return self;
        };
        let value = match p.kind {
            Kind::String => Ok(Value::String(text)),
            Kind::Integer => text
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("{name}: {text:?} is not a whole number")),
            Kind::Number => text
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
                .ok_or_else(|| format!("{name}: {text:?} is not a number")),
            Kind::Boolean => text
                .trim()
                .parse::<bool>()
                .map(Value::Bool)
                .map_err(|_| format!("{name}: {text:?} is not true or false")),
        };
        match value {
            Ok(v) => {
                self.args.params.insert(name, v);
            }
            Err(e) => self.problems.push(e),
        }
        self
    }

    /// Sets the parameter with this API name (such as `pageSize`) as a JSON value.
    pub fn param_json(mut self, name: impl Into<String>, value: Value) -> Self {
        self.args.params.insert(name.into(), value);
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
    /// sent, for a name the operation does not have, a value that does not read as its
    /// type, a body for an operation without one, or any problem the typed builder finds;
    /// otherwise the errors of the typed call.
    pub async fn send(mut self) -> Result<Response<Value>> {
        let unknown: Vec<&str> = self
            .args
            .params
            .keys()
            .map(String::as_str)
            .filter(|name| self.op.param(name).is_none())
            .collect();
        if !unknown.is_empty() {
            let known: Vec<&str> = self.op.params.iter().map(|p| p.name).collect();
            self.problems.insert(
                0,
                format!(
                    "{} has no parameter {}; its parameters are: {}",
                    self.op.id,
                    unknown.join(", "),
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            );
        }
        if !self.problems.is_empty() {
            return Err(Error::invalid_input(self.problems.join("; ")));
        }
        (self.op.dispatch)(&self.client, self.args).await
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
