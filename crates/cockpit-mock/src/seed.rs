//! Expectations from JSON, for the standalone server (`cargo run -p cockpit-mock -- --seed
//! FILE`) and for tests that keep their answers in files.

use std::{collections::BTreeMap, fmt, time::Duration};

use cockpit::{OPERATIONS, ParamIn};
use serde::Deserialize;
use serde_json::Value;

use crate::{MockCloudCockpit, Outcome, TokenOutcome};

/// What a mock holds and answers, as JSON:
///
/// ```json
/// {
///   "customers": [
///     {
///       "id": "3f1c9a52-8a7e-4d7c-9a55-0c1e2b3d4f50",
///       "users": [{"displayName": "Ada", "email": null, "location": "PT", "domain": null}],
///       "licenses": [{"skuId": "sku-1", "name": "Microsoft 365 E3", "totalLicenses": 10}]
///     }
///   ],
///   "expectations": [
///     {
///       "operation": "getCustomerUser",
///       "params": {"customerId": "3f1c9a52-8a7e-4d7c-9a55-0c1e2b3d4f50"},
///       "status": 200,
///       "body": {"id": "b0e5f7a1-2c3d-4e5f-8a9b-0c1d2e3f4a5b", "displayName": "Ada"},
///       "headers": {"x-example": "1"},
///       "delayMs": 0
///     }
///   ],
///   "tokenLifetimeSecs": 3600
/// }
/// ```
///
/// `customers` fill the mock's state (users and licenses in the spec's types; a user
/// without an `id` gets one). `operation` is an operationId of the spec; `params` (path
/// and query parameters, by their API names) narrow which requests match; `status`
/// defaults to 200 and `body` to none. Expectations are tried in order, before the state.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    expectations: Vec<SeedExpectation>,
    token_lifetime_secs: Option<u64>,
    #[serde(default)]
    customers: Vec<Value>,
    #[serde(skip)]
    parsed: Vec<crate::state::SeedCustomer>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SeedExpectation {
    operation: String,
    #[serde(default)]
    params: BTreeMap<String, Value>,
    status: Option<u16>,
    body: Option<Value>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    delay_ms: Option<u64>,
}

/// Why a seed was refused: its JSON, or an operation or parameter the spec does not have.
#[derive(Debug)]
pub struct SeedError(String);

impl fmt::Display for SeedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SeedError {}

impl Seed {
    /// Reads a seed, checking every operation and parameter against the spec.
    ///
    /// # Errors
    ///
    /// When the JSON is not a seed, or names an operation or a parameter that the spec
    /// does not have.
    pub fn from_json(text: &str) -> Result<Seed, SeedError> {
        let mut seed: Seed =
            serde_json::from_str(text).map_err(|e| SeedError(format!("not a seed: {e}")))?;
        seed.parsed = crate::state::parse_customers(&seed.customers).map_err(SeedError)?;
        for (i, e) in seed.expectations.iter().enumerate() {
            let Some(op) = OPERATIONS.iter().find(|op| op.id == e.operation) else {
                let known: Vec<_> = OPERATIONS.iter().map(|op| op.id).collect();
                return Err(SeedError(format!(
                    "expectations[{i}]: no operation {:?} in the spec (it has {})",
                    e.operation,
                    known.join(", ")
                )));
            };
            for name in e.params.keys() {
                if !op
                    .param(name)
                    .is_some_and(|p| matches!(p.location, ParamIn::Path | ParamIn::Query))
                {
                    return Err(SeedError(format!(
                        "expectations[{i}]: {} has no path or query parameter {name:?}",
                        op.id
                    )));
                }
            }
        }
        Ok(seed)
    }

    /// How many customers the seed holds.
    pub fn customers(&self) -> usize {
        self.parsed.len()
    }

    /// How many expectations the seed has.
    pub fn len(&self) -> usize {
        self.expectations.len()
    }

    /// Whether the seed has no expectations.
    pub fn is_empty(&self) -> bool {
        self.expectations.is_empty()
    }
}

impl MockCloudCockpit {
    /// Mounts every expectation of `seed`, in order, adds its customers, users and
    /// licenses to the state, and sets its token lifetime.
    pub async fn seed(&self, seed: &Seed) {
        self.add_customers(&seed.parsed);
        if let Some(secs) = seed.token_lifetime_secs {
            self.tokens(TokenOutcome::Issue {
                lifetime: Duration::from_secs(secs),
            });
        }
        for e in &seed.expectations {
            // `from_json` checked the operation and the parameters.
            let Some(op) = OPERATIONS.iter().copied().find(|op| op.id == e.operation) else {
                continue;
            };
            let mut expectation = self.expect(op);
            for (name, value) in &e.params {
                let value = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                expectation = expectation.param(name, value);
            }
            for (name, value) in &e.headers {
                expectation = expectation.header(name, value);
            }
            if let Some(ms) = e.delay_ms {
                expectation = expectation.delay(Duration::from_millis(ms));
            }
            let status = e.status.unwrap_or(200);
            let outcome = match (&e.body, (200..300).contains(&status)) {
                (Some(body), true) if status == 200 => Outcome::Json(body.clone()),
                (Some(body), _) => Outcome::Raw {
                    status,
                    body: body.to_string(),
                    content_type: "application/json".into(),
                },
                (None, _) => Outcome::Status(status),
            };
            expectation.respond(outcome).await;
        }
    }
}
