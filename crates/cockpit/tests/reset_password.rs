//! reset-password through the facade against a local mock: what goes over the wire, and
//! what each documented (and some undocumented) answer turns into.

use std::time::Duration;

use cockpit::{Client, ErrorKind, Operation, RetryPolicy, SecretString, types::CustomerUserInput};
use cockpit_test_support::*;
use serde_json::json;
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

fn header(req: &wiremock::Request, name: &str) -> Option<String> {
    req.headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn sends_the_documented_request_with_a_given_correlation_id() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(format!(
            "/v1/Customers/{CUSTOMER}/users/{USER}/reset-password"
        )))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let done = client(&server.uri())
        .reset_customer_user_password()
        .customer_id(uuid(CUSTOMER))
        .customer_user_id(uuid(USER))
        .provider_instance_id(uuid(PROVIDER_INSTANCE))
        .customer_user(CustomerUserInput {
            temporary_password: Some("Temp-Pa55!".into()),
            ..user()
        })
        .correlation_id(uuid(CORRELATION))
        .send()
        .await
        .expect("200 is success");
    assert_eq!(done.status, 200);
    assert_eq!(done.correlation_id, uuid(CORRELATION));
    assert_eq!(done.attempts, 1);

    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    let req = &received[0];
    assert_eq!(req.method.as_str(), "PATCH");
    assert_eq!(
        req.url.path(),
        format!("/v1/Customers/{CUSTOMER}/users/{USER}/reset-password")
    );
    assert_eq!(
        header(req, "authorization"),
        Some(format!("Bearer {TOKEN}"))
    );
    assert_eq!(header(req, "x-tenant").as_deref(), Some(TENANT));
    assert_eq!(
        header(req, "x-correlation-id").as_deref(),
        Some(CORRELATION)
    );
    assert_eq!(
        header(req, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        header(req, "user-agent"),
        Some(format!("cockpit/{}", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(header(req, "api-version"), None);
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        json!({
            "providerInstanceId": PROVIDER_INSTANCE,
            "customerUser": {
                "displayName": "Ada Lovelace",
                "email": "ada@contoso.example",
                "firstName": "Ada",
                "location": "PT",
                "temporaryPassword": "Temp-Pa55!",
                "domain": "contoso.example"
            }
        })
    );
}

#[tokio::test]
async fn generates_a_fresh_v4_correlation_id_per_call_and_returns_it() {
    let server = answering(ResponseTemplate::new(200)).await;
    let client = client(&server.uri());
    let first = reset(&client).await.unwrap();
    let second = reset(&client).await.unwrap();
    assert_ne!(first.correlation_id, second.correlation_id);
    assert_eq!(first.correlation_id.get_version_num(), 4);
    let received = server.received_requests().await.unwrap();
    assert_eq!(
        header(&received[0], "x-correlation-id"),
        Some(first.correlation_id.to_string())
    );
    assert_eq!(
        header(&received[1], "x-correlation-id"),
        Some(second.correlation_id.to_string())
    );
}

#[tokio::test]
async fn a_per_call_tenant_overrides_the_clients() {
    let server = answering(ResponseTemplate::new(200)).await;
    let client = client(&server.uri());
    client
        .reset_customer_user_password()
        .customer_id(uuid(CUSTOMER))
        .customer_user_id(uuid(USER))
        .provider_instance_id(uuid(PROVIDER_INSTANCE))
        .customer_user(user())
        .tenant("other.portal.example")
        .send()
        .await
        .unwrap();
    reset(&client).await.unwrap();
    let received = server.received_requests().await.unwrap();
    assert_eq!(
        header(&received[0], "x-tenant").as_deref(),
        Some("other.portal.example")
    );
    assert_eq!(header(&received[1], "x-tenant").as_deref(), Some(TENANT));
}

#[tokio::test]
async fn documented_error_bodies_become_typed_api_errors() {
    for (status, kind) in [
        (400u16, ErrorKind::BadRequest),
        (404, ErrorKind::NotFound),
        (500, ErrorKind::Server),
    ] {
        let server = answering(ResponseTemplate::new(status).set_body_json(json!({
            "statusCode": status,
            "type": "ValidationError",
            "description": "One or more validation errors occurred.",
            "correlationId": "server-side-id",
            "errors": [{"propertyName": "customerUser.email", "description": ["is required", "is too long"]}]
        })))
        .await;
        let err = reset(&client(&server.uri())).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{status}");
        // A 4xx is a refusal; a 500 may have done the change.
        assert_eq!(err.may_have_been_processed(), status == 500, "{status}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        let sent = header(
            &server.received_requests().await.unwrap()[0],
            "x-correlation-id",
        );
        assert_eq!(err.correlation_id().map(|id| id.to_string()), sent);
        assert_eq!(err.server_correlation_id(), Some("server-side-id"));
        let api = err.api_error().expect("the body decodes");
        assert_eq!(api.status_code, Some(i32::from(status)));
        assert_eq!(api.error_type.as_deref(), Some("ValidationError"));
        assert_eq!(
            api.description.as_deref(),
            Some("One or more validation errors occurred.")
        );
        assert_eq!(api.errors.len(), 1);
        assert_eq!(
            api.errors[0].property_name.as_deref(),
            Some("customerUser.email")
        );
        assert_eq!(api.errors[0].descriptions, ["is required", "is too long"]);
        assert!(!err.is_retryable(), "{status} may have been processed");
        assert_eq!(
            err.to_string(),
            format!(
                "{kind} ({status}): ValidationError: One or more validation errors occurred. \
                 (correlation id {}, server correlation id server-side-id)",
                sent.unwrap()
            )
        );
    }
}

#[tokio::test]
async fn unauthorized_and_forbidden_without_a_body_have_their_kinds() {
    for (status, kind) in [
        (401u16, ErrorKind::Unauthorized),
        (403, ErrorKind::Forbidden),
    ] {
        let server = answering(ResponseTemplate::new(status)).await;
        let err = reset(&client(&server.uri())).await.unwrap_err();
        assert_eq!(err.kind(), kind);
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert!(err.correlation_id().is_some());
        assert_eq!(err.body(), Some(""));
        // A static token cannot be refreshed, so a 401 is not replayed.
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn server_errors_without_json_keep_status_and_raw_body() {
    let html = "<html><body>Internal Server Error</body></html>";
    let server = answering(ResponseTemplate::new(500).set_body_raw(html, "text/html")).await;
    let err = reset(&client(&server.uri())).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(err.body(), Some(html));
    assert!(err.api_error().is_none());

    let server = answering(ResponseTemplate::new(502)).await;
    let err = reset(&client(&server.uri())).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(502));
    assert_eq!(err.body(), Some(""));
    assert!(
        err.to_string()
            .starts_with("server error (502) (correlation id "),
        "{err}"
    );
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_not_retried() {
    let server = answering(ResponseTemplate::new(200).set_delay(Duration::from_secs(5))).await;
    let client = Client::builder()
        .base_url(server.uri())
        .tenant(TENANT)
        .bearer_token(SecretString::from(TOKEN))
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = reset(&client).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(err.is_timeout());
    assert!(!err.is_retryable(), "the reset may have been processed");
    assert!(err.correlation_id().is_some());
    assert_eq!(err.attempts(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_refused_connection_is_a_connection_error() {
    let base = refused_address().await;
    let err = reset(&client(&base)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert!(err.is_retryable(), "nothing reached the server");
    assert!(err.status().is_none());
    assert!(err.correlation_id().is_some());
    assert_eq!(err.attempts(), 1);
}

#[tokio::test]
async fn invalid_input_is_refused_before_anything_is_sent() {
    let server = answering(ResponseTemplate::new(200)).await;
    let client = client(&server.uri());

    // A body whose generated builder lacks required fields.
    let err = client
        .reset_customer_user_password()
        .customer_id(uuid(CUSTOMER))
        .customer_user_id(uuid(USER))
        .provider_instance_id(uuid(PROVIDER_INSTANCE))
        .customer_user(CustomerUserInput::builder().location(Some("PT".to_string())))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.correlation_id().is_some());
    assert_eq!(err.attempts(), 0);
    assert!(err.is_before_sending());
    assert!(
        err.to_string().starts_with(
            "invalid input: body: error converting supplied value for customer_user: no value supplied for display_name"
        ),
        "{err}"
    );

    // The spec's maxLength limits, through the generated types, for a body given as JSON.
    let op = Operation::find("resetCustomerUserPassword").unwrap();
    let with = |field: &str, value: String| {
        let mut user =
            json!({"displayName": "Ada", "email": null, "location": "PT", "domain": "d"});
        user[field] = json!(value);
        client
            .call(op)
            .param("customerId", CUSTOMER)
            .param("customerUserId", USER)
            .body_json(json!({"providerInstanceId": PROVIDER_INSTANCE, "customerUser": user}))
    };
    for (field, value, limit) in [
        ("displayName", "x".repeat(51), 50),
        ("email", "e".repeat(49), 48),
        ("firstName", "é".repeat(51), 50),
        ("lastName", "l".repeat(51), 50),
    ] {
        let err = with(field, value).send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{field}");
        assert!(
            err.to_string()
                .contains(&format!("longer than {limit} characters")),
            "{err}"
        );
        assert!(err.is_before_sending());
    }
    // Exactly at the limits is fine (counted in characters, not bytes), through both paths.
    with("displayName", "é".repeat(50)).send().await.unwrap();
    with("email", "e".repeat(48)).send().await.unwrap();
    let at_limit = CustomerUserInput {
        display_name: Some("é".repeat(50).parse().unwrap()),
        email: Some("e".repeat(48).parse().unwrap()),
        ..user()
    };
    reset_as(&client, at_limit).await.unwrap();
    assert!("é".repeat(51).parse::<cockpit::Limited<50>>().is_err());
    assert_eq!(server.received_requests().await.unwrap().len(), 3);

    let err = client
        .reset_customer_user_password()
        .customer_id(uuid(CUSTOMER))
        .customer_user(user())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string().split(" (correlation id").next().unwrap(),
        "invalid input: missing customerUserId: set it with .customer_user_id(…); \
         body: no value supplied for provider_instance_id",
    );

    let err = client
        .reset_customer_user_password()
        .customer_id(uuid(CUSTOMER))
        .customer_user_id(uuid(USER))
        .provider_instance_id(uuid(PROVIDER_INSTANCE))
        .customer_user(user())
        .tenant("portal.example\r\nX-Injected: 1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("X-Tenant cannot carry"), "{err}");

    assert_eq!(
        server.received_requests().await.unwrap().len(),
        3,
        "only the valid calls were sent"
    );
}

#[tokio::test]
async fn bad_configuration_fails_the_build_naming_the_setting() {
    let base = || {
        Client::builder()
            .tenant(TENANT)
            .bearer_token(SecretString::from(TOKEN))
    };
    let cases = [
        (
            base().tenant("portal\r\nevil: 1"),
            "invalid configuration: tenant \"portal\\r\\nevil: 1\" has a character that X-Tenant cannot carry",
        ),
        (base().tenant(""), "invalid configuration: tenant is empty"),
        (
            base().tenant("portal\0.example"),
            "invalid configuration: tenant \"portal\\0.example\" has a character",
        ),
        (
            base().bearer_token(SecretString::from("")),
            "invalid configuration: bearer token is empty or has a character",
        ),
        (
            base().bearer_token(SecretString::from("tok\r\nX-Evil: 1")),
            "invalid configuration: bearer token is empty or has a character",
        ),
        (
            base().bearer_token(SecretString::from("tökén")),
            "invalid configuration: bearer token is empty or has a character",
        ),
        (
            base().tenant("portál.example"),
            "invalid configuration: tenant \"portál.example\" has a character",
        ),
        (
            base().base_url("http://api.cloudcockpit.com"),
            "invalid configuration: base URL \"http://api.cloudcockpit.com\" is plain http to a host that is not loopback",
        ),
        (
            base().base_url("not a url"),
            "invalid configuration: base URL \"not a url\" is not a URL",
        ),
        (
            base().base_url("ftp://127.0.0.1"),
            "invalid configuration: base URL \"ftp://127.0.0.1\" has scheme \"ftp\"",
        ),
        (
            base().base_url("https://user:pw@api.cloudcockpit.com"),
            "invalid configuration: base URL must not carry a user name or password",
        ),
        // Each half of each rule on its own.
        (
            base().base_url("https://user@api.cloudcockpit.com"),
            "invalid configuration: base URL must not carry a user name or password",
        ),
        (
            base().base_url("https://:pw@api.cloudcockpit.com"),
            "invalid configuration: base URL must not carry a user name or password",
        ),
        (
            base().base_url("https://api.cloudcockpit.com/?x=1"),
            "invalid configuration: base URL \"https://api.cloudcockpit.com/?x=1\" must not have a query or a fragment",
        ),
        (
            base().base_url("https://api.cloudcockpit.com/#top"),
            "invalid configuration: base URL \"https://api.cloudcockpit.com/#top\" must not have a query or a fragment",
        ),
        (
            Client::builder().bearer_token(SecretString::from(TOKEN)),
            "invalid configuration: no tenant",
        ),
        (
            Client::builder().tenant(TENANT),
            "invalid configuration: no credentials",
        ),
    ];
    for (builder, expected) in cases {
        let err = builder.build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration);
        assert!(
            err.to_string().starts_with(expected),
            "{err}\n  expected: {expected}"
        );
    }
    // The first bad value wins, and loopback http, https and an explicit opt-in are fine.
    assert!(base().base_url("http://localhost:9").build().is_ok());
    assert!(base().base_url("http://[::1]:9").build().is_ok());
    assert!(base().base_url("http://127.0.0.2:9").build().is_ok());
    assert!(
        base()
            .base_url("https://api.cloudcockpit.com/")
            .build()
            .is_ok()
    );
    assert!(
        base()
            .base_url("http://10.0.0.1")
            .danger_allow_insecure_http(true)
            .build()
            .is_ok()
    );
    let c = base()
        .base_url("https://api.cloudcockpit.com/")
        .build()
        .unwrap();
    assert_eq!(c.base_url(), "https://api.cloudcockpit.com");
}

#[tokio::test]
async fn retry_policy_none_sends_once_on_503() {
    let server = answering(ResponseTemplate::new(503)).await;
    let client = Client::builder()
        .base_url(server.uri())
        .tenant(TENANT)
        .bearer_token(SecretString::from(TOKEN))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = reset(&client).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert!(err.is_retryable());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_callers_http_client_is_the_one_used_and_the_client_reports_its_settings() {
    // reqwest is built without a bundled crypto provider (see crates/generated); a
    // caller's own client needs the process-wide one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let server = answering(ResponseTemplate::new(200)).await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-from-the-caller", "1".parse().unwrap());
    let client = Client::builder()
        .base_url(server.uri())
        .tenant(TENANT)
        .bearer_token(SecretString::from(TOKEN))
        .http_client(
            reqwest::Client::builder()
                .default_headers(headers)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    assert_eq!(client.tenant(), TENANT);
    assert_eq!(client.base_url(), server.uri());
    reset(&client).await.unwrap();
    let sent = &server.received_requests().await.unwrap()[0];
    assert_eq!(sent.headers["x-from-the-caller"], "1");
}

#[tokio::test]
async fn the_connect_timeout_applies_to_connecting_only() {
    // A listener whose backlog is full: the kernel leaves further connections unanswered,
    // so connecting hangs until the connect timeout.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..8 {
        if let Ok(Ok(s)) = tokio::time::timeout(
            Duration::from_millis(100),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            held.push(s);
        }
    }
    let client = Client::builder()
        .base_url(format!("http://{addr}"))
        .tenant(TENANT)
        .bearer_token(SecretString::from(TOKEN))
        .connect_timeout(Duration::from_millis(200))
        .timeout(Duration::from_secs(20))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = reset(&client).await.unwrap_err();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "the 200 ms connect timeout, not the 20 s call timeout, ended it ({took:?}): {err}"
    );
    // Nothing reached the server: a connection error, safe to send again.
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    assert!(err.to_string().contains("could not connect"), "{err}");
    assert!(err.is_retryable());
    drop(held);
    drop(listener);
}
