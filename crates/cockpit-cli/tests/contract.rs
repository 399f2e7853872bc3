//! Contract tests: the SDK and the CLI against Prism, an OpenAPI mock that nobody here
//! wrote, serving `openapi/cloudcockpit.yaml` with request validation on (`--errors`).
//!
//! Prism answers a request that breaks the spec with a 4xx and an `sl-violations` header,
//! so every successful call below passed its validation; and the deliberately invalid
//! requests show that the check can fail.
//!
//! Prism comes from npm (`npm ci`, pinned by package-lock.json). `cargo xtask test` installs
//! it and runs these tests; a plain `cargo test` skips them.

use std::process::Command;

use cockpit::{Client, ErrorKind, RetryPolicy, SecretString, types::CustomerUserInput};
use cockpit_test_support::{
    CUSTOMER, PROVIDER_INSTANCE, TENANT, TOKEN, USER, cli, cli_env, prism::Prism, reset_as, spec,
    uuid,
};

/// A client for Prism; `prefer` picks a documented response (`Prefer: code=404`).
fn client(base: &str, prefer: Option<u16>) -> Client {
    let mut builder = Client::builder()
        .base_url(base)
        .tenant(TENANT)
        .bearer_token(SecretString::from(TOKEN))
        .retry_policy(RetryPolicy::none());
    if let Some(code) = prefer {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("prefer", format!("code={code}").parse().unwrap());
        builder = builder.http_client(
            reqwest::Client::builder()
                .default_headers(headers)
                .build()
                .unwrap(),
        );
    }
    builder.build().unwrap()
}

fn full_user() -> CustomerUserInput {
    CustomerUserInput {
        id: Some(uuid(USER)),
        display_name: Some("d".repeat(50).parse().unwrap()),
        email: Some("e".repeat(48).parse().unwrap()),
        first_name: Some("Ada".parse().unwrap()),
        last_name: Some("Lovelace".parse().unwrap()),
        location: Some("PT".into()),
        temporary_password: Some("Temp-Pa55!".into()),
        domain: Some("contoso.example".into()),
    }
}

/// A raw request around the client, for what the client itself refuses to send.
async fn raw(
    base: &str,
    tenant: Option<&str>,
    customer_user: serde_json::Value,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .patch(format!("{base}/v1/Customers/{CUSTOMER}/users/{USER}/reset-password"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"providerInstanceId": PROVIDER_INSTANCE, "customerUser": customer_user}));
    if let Some(tenant) = tenant {
        request = request.header("X-Tenant", tenant);
    }
    request.send().await.unwrap()
}

fn violations(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("sl-violations")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Prism from `npm ci`; `cargo xtask test` runs it"]
async fn sdk_and_cli_requests_pass_prism_validation_and_invalid_ones_do_not() {
    // reqwest is built without a bundled crypto provider (see crates/generated); the raw
    // and Prefer clients below need the process-wide one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let prism = Prism::start();
    let base = prism.base.as_str();

    // What the SDK sends passes validation: all fields, and required fields as null.
    let done = reset_as(&client(base, None), full_user())
        .await
        .expect("valid per Prism");
    assert_eq!(done.status, 200);
    let nulls = CustomerUserInput {
        id: None,
        display_name: None,
        email: None,
        first_name: None,
        last_name: None,
        location: None,
        temporary_password: None,
        domain: None,
    };
    reset_as(&client(base, None), nulls)
        .await
        .expect("nulls for required-nullable fields are valid");

    // What the CLI sends passes too.
    let output = Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .env_clear()
        .args([
            "reset-password",
            "--customer-id",
            CUSTOMER,
            "--user-id",
            USER,
        ])
        .args([
            "--provider-instance-id",
            PROVIDER_INSTANCE,
            "--display-name",
            "Ada",
        ])
        .args([
            "--email",
            "ada@contoso.example",
            "--location",
            "PT",
            "--domain",
            "contoso.example",
        ])
        .envs([
            ("COCKPIT_BASE_URL", base),
            ("COCKPIT_TENANT", TENANT),
            ("COCKPIT_TOKEN", TOKEN),
        ])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // And what the subcommand generated from the spec sends, body from stdin.
    let mut child = Command::new(env!("CARGO_BIN_EXE_cockpit"))
        .env_clear()
        .args(["reset-customer-user-password", "--customer-id", CUSTOMER])
        .args(["--customer-user-id", USER, "--body-json", "-", "--json"])
        .envs([
            ("COCKPIT_BASE_URL", base),
            ("COCKPIT_TENANT", TENANT),
            ("COCKPIT_TOKEN", TOKEN),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let body = serde_json::json!({
            "providerInstanceId": PROVIDER_INSTANCE,
            "customerUser": {"displayName": "Ada", "email": null, "location": "PT", "domain": "contoso.example"}
        });
        child
            .stdin
            .take()
            .unwrap()
            .write_all(body.to_string().as_bytes())
            .unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed["operation"], "resetCustomerUserPassword");
    assert_eq!(printed["status"], 200);

    // Prism rejects what breaks the spec, so the checks above can fail.
    let long = raw(
        base,
        Some(TENANT),
        serde_json::json!({
            "displayName": "x".repeat(51), "email": null, "location": null, "domain": null
        }),
    )
    .await;
    assert!(long.status().is_client_error(), "{}", long.status());
    assert!(
        violations(&long)
            .contains("customerUser.displayName must NOT have more than 50 characters"),
        "{}",
        violations(&long)
    );

    let no_tenant = raw(
        base,
        None,
        serde_json::json!({
            "displayName": "Ada", "email": null, "location": null, "domain": null
        }),
    )
    .await;
    assert!(no_tenant.status().is_client_error());
    assert!(
        violations(&no_tenant).contains("x-tenant"),
        "{}",
        violations(&no_tenant)
    );

    let snake_case = raw(
        base,
        Some(TENANT),
        serde_json::json!({
            "display_name": "Ada", "email": null, "location": null, "domain": null
        }),
    )
    .await;
    assert!(snake_case.status().is_client_error());
    assert!(!violations(&snake_case).is_empty());

    // The documented error responses, as Prism makes them from the spec.
    for (code, kind) in [
        (400, ErrorKind::BadRequest),
        (401, ErrorKind::Unauthorized),
        (403, ErrorKind::Forbidden),
        (404, ErrorKind::NotFound),
        (500, ErrorKind::Server),
    ] {
        let err = reset_as(&client(base, Some(code)), full_user())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{code}: {err}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(code));
        let documented_body = matches!(code, 400 | 404 | 500);
        assert_eq!(
            err.api_error().is_some(),
            documented_body,
            "{code}: {err:?}"
        );
        if let Some(api) = err.api_error() {
            assert!(
                api.status_code.is_some() && api.error_type.is_some(),
                "{api:?}"
            );
            assert!(!api.errors.is_empty(), "{api:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Prism from `npm ci`; `cargo xtask test` runs it"]
async fn every_operation_passes_prism_validation_through_the_sdk_and_the_cli() {
    // The Prefer clients below need the process-wide crypto provider (see crates/generated).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let prism = Prism::start();
    let base = prism.base.as_str();
    let spec = spec::spec();
    for op in cockpit::OPERATIONS {
        // The SDK: Prism validated the request, and its answer decodes as the typed body.
        let done = spec::call(&client(base, None), &spec, op)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", op.id));
        assert_eq!(done.status, 200, "{}", op.id);

        // The CLI, the body on stdin.
        let body = spec::body(&spec, op).map(|b| b.to_string());
        let run = cli::run(
            env!("CARGO_BIN_EXE_cockpit"),
            spec::cli_args(op),
            cli_env(base),
            &body.unwrap_or_default(),
            std::process::Stdio::piped(),
        )
        .await;
        assert_eq!(run.code, Some(0), "{}: {}", op.id, run.stderr);

        // Each documented error status, as Prism answers it, is the error kind for it.
        let responses = spec::operation(&spec, op)["responses"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for code in responses.keys().filter_map(|c| c.parse::<u16>().ok()) {
            if code < 400 {
                continue;
            }
            let err = spec::call(&client(base, Some(code)), &spec, op)
                .send()
                .await
                .unwrap_err();
            let expected = match code {
                400 => ErrorKind::BadRequest,
                401 => ErrorKind::Unauthorized,
                403 => ErrorKind::Forbidden,
                404 => ErrorKind::NotFound,
                429 => ErrorKind::TooManyRequests,
                500..=599 => ErrorKind::Server,
                _ => ErrorKind::UnexpectedStatus,
            };
            assert_eq!(err.kind(), expected, "{} {code}: {err}", op.id);
            assert_eq!(err.status().map(|s| s.as_u16()), Some(code));
        }
    }
}
