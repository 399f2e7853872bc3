//! Configuration from the environment: the `COCKPIT_*` variables, read by
//! [`ClientBuilder::from_env`] and, through [`ClientBuilder::from_vars`], by the CLI, so
//! that both apply the same precedence and say the same things.

use std::{ffi::OsString, time::Duration};

use secrecy::SecretString;

use crate::{
    auth::ClientCredentials,
    client::ClientBuilder,
    error::{Error, Result},
};

/// The tenant, sent as `X-Tenant`. Required.
pub const ENV_TENANT: &str = "COCKPIT_TENANT";
/// The API's base URL; default [`DEFAULT_BASE_URL`](crate::DEFAULT_BASE_URL).
pub const ENV_BASE_URL: &str = "COCKPIT_BASE_URL";
/// A bearer token; or else the client id and secret below.
pub const ENV_TOKEN: &str = "COCKPIT_TOKEN";
/// The Api Access client id, for Microsoft Entra client credentials.
pub const ENV_CLIENT_ID: &str = "COCKPIT_CLIENT_ID";
/// The Api Access client secret.
pub const ENV_CLIENT_SECRET: &str = "COCKPIT_CLIENT_SECRET";
/// Another token endpoint than CloudCockpit's Entra tenant
/// ([`DEFAULT_TOKEN_URL`](crate::DEFAULT_TOKEN_URL)); with client credentials only.
pub const ENV_TOKEN_URL: &str = "COCKPIT_TOKEN_URL";
/// Seconds one attempt may take; default 30.
pub const ENV_TIMEOUT: &str = "COCKPIT_TIMEOUT";

impl ClientBuilder {
    /// A builder configured from the environment:
    ///
    /// | variable | what |
    /// | --- | --- |
    /// | `COCKPIT_TENANT` | the portal's domain, sent as `X-Tenant` (required) |
    /// | `COCKPIT_TOKEN` | a bearer token, or else: |
    /// | `COCKPIT_CLIENT_ID`, `COCKPIT_CLIENT_SECRET` | an Api Access's client credentials |
    /// | `COCKPIT_TOKEN_URL` | another token endpoint (tests, a proxy) |
    /// | `COCKPIT_BASE_URL` | another API server (default the documented one) |
    /// | `COCKPIT_TIMEOUT` | seconds one attempt may take (default 30) |
    ///
    /// An empty variable counts as unset. The builder's other setters still apply, after
    /// these. A missing, conflicting or malformed variable does not fail here: as with
    /// every setter, [`build`](ClientBuilder::build) returns it, as an
    /// [`ErrorKind::Configuration`](crate::ErrorKind::Configuration) error that names the
    /// variable and never shows a secret.
    ///
    /// ```no_run
    /// # async fn run() -> cockpit::Result<()> {
    /// let client = cockpit::Client::builder_from_env().build()?;
    /// client.check_credentials().await?; // fail fast, before a batch
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> ClientBuilder {
        ClientBuilder::from_vars(|name| std::env::var_os(name))
    }

    /// As [`from_env`](ClientBuilder::from_env), with each variable from `lookup` instead
    /// of the process environment: for a tool whose flags take precedence over the
    /// environment, or for tests.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<OsString>) -> ClientBuilder {
        match read(&lookup) {
            Ok(builder) => builder,
            Err(e) => ClientBuilder::default().fail(e),
        }
    }
}

fn read(lookup: &impl Fn(&str) -> Option<OsString>) -> Result<ClientBuilder> {
    let var = |name: &str| -> Result<Option<String>> {
        match lookup(name) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            // The value is not shown: it may be a secret.
            Some(v) => v
                .into_string()
                .map(Some)
                .map_err(|_| Error::configuration(format!("{name} is not valid UTF-8"))),
        }
    };
    let mut builder = ClientBuilder::default();
    match var(ENV_TENANT)? {
        Some(tenant) => builder = builder.tenant(tenant),
        None => {
            return Err(Error::configuration(format!(
                "no tenant: set {ENV_TENANT} to the portal's domain, such as portal.cloudcockpit.com"
            )));
        }
    }
    if let Some(url) = var(ENV_BASE_URL)? {
        builder = builder.base_url(url);
    }
    if let Some(seconds) = var(ENV_TIMEOUT)? {
        let seconds = seconds
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|s| *s > 0)
            .ok_or_else(|| {
                Error::configuration(format!(
                    "{ENV_TIMEOUT} is {seconds:?}: give a whole number of seconds, at least 1"
                ))
            })?;
        builder = builder.timeout(Duration::from_secs(seconds));
    }
    let token_url = var(ENV_TOKEN_URL)?;
    builder = match (
        var(ENV_TOKEN)?,
        var(ENV_CLIENT_ID)?,
        var(ENV_CLIENT_SECRET)?,
    ) {
        (Some(token), None, None) => {
            if token_url.is_some() {
                return Err(Error::configuration(format!(
                    "{ENV_TOKEN_URL} is set with {ENV_TOKEN}: a token URL goes with \
                     {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} only"
                )));
            }
            builder.bearer_token(SecretString::from(token))
        }
        (None, Some(id), Some(secret)) => {
            let mut provider = ClientCredentials::new(id, SecretString::from(secret));
            if let Some(url) = token_url {
                provider = provider.token_url(url);
            }
            builder.token_provider(provider)
        }
        (Some(_), _, _) => {
            return Err(Error::configuration(format!(
                "give either {ENV_TOKEN} or {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}, not both"
            )));
        }
        (None, Some(_), None) => {
            return Err(Error::configuration(format!(
                "{ENV_CLIENT_ID} is set but {ENV_CLIENT_SECRET} is not"
            )));
        }
        (None, None, Some(_)) => {
            return Err(Error::configuration(format!(
                "{ENV_CLIENT_SECRET} is set but {ENV_CLIENT_ID} is not"
            )));
        }
        (None, None, None) => {
            return Err(Error::configuration(format!(
                "no credentials: set {ENV_TOKEN}, or {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET}"
            )));
        }
    };
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn build(vars: &[(&str, &str)]) -> Result<crate::Client> {
        let vars: Vec<(String, OsString)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        ClientBuilder::from_vars(|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .build()
    }

    #[test]
    fn a_token_or_client_credentials_configure_a_client() {
        let client = build(&[
            (ENV_TENANT, "portal.cloudcockpit.com"),
            (ENV_TOKEN, "tok-SECRET"),
            (ENV_BASE_URL, "http://127.0.0.1:9"),
        ])
        .unwrap();
        assert_eq!(client.tenant(), "portal.cloudcockpit.com");
        assert_eq!(client.base_url(), "http://127.0.0.1:9");
        let debug = format!("{client:?}");
        assert!(debug.contains("StaticToken"), "{debug}");
        assert!(!debug.contains("tok-SECRET"));

        let client = build(&[
            (ENV_TENANT, "portal.cloudcockpit.com"),
            (ENV_CLIENT_ID, "app"),
            (ENV_CLIENT_SECRET, "cs-SECRET"),
            (ENV_TOKEN_URL, "http://127.0.0.1:9/token"),
            (ENV_TIMEOUT, "5"),
        ])
        .unwrap();
        assert_eq!(client.base_url(), crate::DEFAULT_BASE_URL);
        let debug = format!("{client:?}");
        assert!(
            debug.contains("token_url: \"http://127.0.0.1:9/token\""),
            "{debug}"
        );
        assert!(!debug.contains("cs-SECRET"));
    }

    #[test]
    fn each_problem_is_a_configuration_error_naming_the_variable() {
        let t = (ENV_TENANT, "portal.cloudcockpit.com");
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[(ENV_TOKEN, "x")], "no tenant: set COCKPIT_TENANT"),
            (
                &[t],
                "no credentials: set COCKPIT_TOKEN, or COCKPIT_CLIENT_ID and COCKPIT_CLIENT_SECRET",
            ),
            (&[t, (ENV_TOKEN, "")], "no credentials"),
            (
                &[t, (ENV_TOKEN, "x"), (ENV_CLIENT_ID, "a")],
                "give either COCKPIT_TOKEN or",
            ),
            (
                &[t, (ENV_CLIENT_ID, "a")],
                "COCKPIT_CLIENT_ID is set but COCKPIT_CLIENT_SECRET is not",
            ),
            (
                &[t, (ENV_CLIENT_SECRET, "hush-77")],
                "COCKPIT_CLIENT_SECRET is set but COCKPIT_CLIENT_ID is not",
            ),
            (
                &[t, (ENV_TOKEN, "x"), (ENV_TOKEN_URL, "http://127.0.0.1/t")],
                "COCKPIT_TOKEN_URL is set with COCKPIT_TOKEN",
            ),
            (
                &[t, (ENV_TOKEN, "x"), (ENV_TIMEOUT, "soon")],
                "COCKPIT_TIMEOUT is \"soon\": give a whole number",
            ),
            (
                &[t, (ENV_TOKEN, "x"), (ENV_TIMEOUT, "0")],
                "COCKPIT_TIMEOUT is \"0\"",
            ),
            (
                &[t, (ENV_TOKEN, "x"), (ENV_BASE_URL, "http://api.example")],
                "base URL \"http://api.example\" is plain http",
            ),
        ];
        for (vars, expected) in cases {
            let err = build(vars).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Configuration, "{vars:?}");
            let shown = format!("{err} {err:?}");
            assert!(
                err.to_string()
                    .starts_with(&format!("invalid configuration: {expected}")),
                "{vars:?}: {err}"
            );
            assert!(!shown.contains("hush-77"), "{shown}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_value_that_is_not_utf8_is_named_and_not_shown() {
        use std::os::unix::ffi::OsStringExt;
        let err = ClientBuilder::from_vars(|name| match name {
            ENV_TENANT => Some(OsString::from("portal.cloudcockpit.com")),
            ENV_TOKEN => Some(OsString::from_vec(vec![0x74, 0xff, 0x6b])),
            _ => None,
        })
        .build()
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid configuration: COCKPIT_TOKEN is not valid UTF-8"
        );
    }
}
