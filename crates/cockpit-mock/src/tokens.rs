//! The mock's token endpoint, shaped like Microsoft Entra's: a form POST with client
//! credentials, answered with `{token_type, expires_in, ext_expires_in, access_token}` or
//! an OAuth error.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use serde_json::json;
use wiremock::{Match, Request, Respond, ResponseTemplate};

use crate::MockCloudCockpit;

/// What the token endpoint answers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenOutcome {
    /// A new token (`mock-issued-1`, `mock-issued-2`, …) for the mock's credentials,
    /// valid for `lifetime` (`expires_in`, in whole seconds); `invalid_client` for others.
    Issue {
        /// The token's lifetime.
        lifetime: Duration,
    },
    /// 400 with this OAuth error, such as `invalid_client` or `unauthorized_client`.
    Refuse {
        /// `error`.
        error: String,
        /// `error_description`.
        description: String,
    },
    /// This status (such as 503) with no OAuth body: the endpoint itself failing.
    Fail {
        /// The status.
        status: u16,
    },
}

impl Default for TokenOutcome {
    fn default() -> Self {
        TokenOutcome::Issue {
            lifetime: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    outcome: TokenOutcome,
    issued: Vec<String>,
    revoked: BTreeSet<String>,
    requests: usize,
}

/// The token endpoint's state, shared by its responder and the API's 401 for revoked
/// tokens.
#[derive(Debug, Default)]
pub(crate) struct Tokens(Mutex<State>);

impl Tokens {
    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set(&self, outcome: TokenOutcome) {
        self.state().outcome = outcome;
    }

    pub(crate) fn revoke_issued(&self) {
        let mut state = self.state();
        let issued = state.issued.clone();
        state.revoked.extend(issued);
    }

    /// Whether the API accepts `token`: issued by the token endpoint, and not revoked.
    pub(crate) fn accepts(&self, token: &str) -> bool {
        let state = self.state();
        !state.revoked.contains(token) && state.issued.iter().any(|t| t == token)
    }

    pub(crate) fn requests(&self) -> usize {
        self.state().requests
    }
}

/// Matches requests to the token endpoint.
#[derive(Debug)]
pub(crate) struct TokenEndpoint;

impl Match for TokenEndpoint {
    fn matches(&self, request: &Request) -> bool {
        request.method.as_str() == "POST" && request.url.path() == MockCloudCockpit::TOKEN_PATH
    }
}

/// Answers token requests from the shared state.
pub(crate) struct Issuer(pub(crate) Arc<Tokens>);

impl Respond for Issuer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.state();
        state.requests += 1;
        let oauth = |status: u16, error: &str, description: &str| {
            ResponseTemplate::new(status)
                .set_body_json(json!({"error": error, "error_description": description}))
        };
        match state.outcome.clone() {
            TokenOutcome::Refuse { error, description } => oauth(400, &error, &description),
            TokenOutcome::Fail { status } => ResponseTemplate::new(status),
            TokenOutcome::Issue { lifetime } => {
                let form: Vec<(String, String)> =
                    form_urlencoded::parse(&request.body).into_owned().collect();
                let field = |name: &str| {
                    form.iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.as_str())
                };
                if field("grant_type") != Some("client_credentials") {
                    return oauth(
                        400,
                        "unsupported_grant_type",
                        "AADSTS70003: The app requested an unsupported grant type.",
                    );
                }
                if field("client_id") != Some(MockCloudCockpit::CLIENT_ID)
                    || field("client_secret") != Some(MockCloudCockpit::CLIENT_SECRET)
                {
                    return oauth(
                        401,
                        "invalid_client",
                        "AADSTS7000215: Invalid client secret provided.",
                    );
                }
                let token = format!("mock-issued-{}", state.issued.len() + 1);
                state.issued.push(token.clone());
                ResponseTemplate::new(200).set_body_json(json!({
                    "token_type": "Bearer",
                    "expires_in": lifetime.as_secs(),
                    "ext_expires_in": lifetime.as_secs(),
                    "access_token": token,
                }))
            }
        }
    }
}

/// Matches API requests that carry a revoked token, which the mock answers 401.
#[derive(Debug)]
pub(crate) struct Revoked(pub(crate) Arc<Tokens>);

impl Match for Revoked {
    fn matches(&self, request: &Request) -> bool {
        bearer(request).is_some_and(|token| self.0.state().revoked.contains(token))
    }
}

/// The token of a request's `Authorization: Bearer …`, if it has one.
pub(crate) fn bearer(request: &Request) -> Option<&str> {
    request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}
