//! Secrets stay secret: the exact `Debug` of everything that holds one is pinned, and the
//! token appears in no `Debug`, `Display` or TRACE-level log line of a failing call.

use std::{
    io::Write,
    sync::{Arc, Mutex},
    time::Duration,
};

use cockpit::{
    AccessToken, Client, ClientCredentials, RetryPolicy, SecretString, StaticToken,
    types::CustomerUserInput,
};
use cockpit_test_support::*;
use tracing_subscriber::fmt::format::FmtSpan;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

const CLIENT_SECRET: &str = "cs-SECRET-91b2deadbeef";

#[test]
fn debug_output_is_pinned_and_redacted() {
    assert_eq!(
        format!("{:?}", StaticToken::new(SecretString::from(TOKEN))),
        "StaticToken(** redacted **)"
    );
    assert_eq!(
        format!(
            "{:?}",
            ClientCredentials::new("app-id", SecretString::from(CLIENT_SECRET))
        ),
        "ClientCredentials { client_id: \"app-id\", client_secret: \"** redacted **\", \
         token_url: \"https://login.microsoftonline.com/4e806121-ff28-4286-ab4e-3be0a08f9ce0/oauth2/v2.0/token\", \
         scope: \"api://b92a36a4-feb8-4f47-a69c-29a180aa6d0a/.default\" }"
    );
    assert_eq!(
        format!("{:?}", AccessToken::new(SecretString::from(TOKEN), None)),
        "AccessToken { secret: \"** redacted **\", expires_at: None }"
    );
    // The generated type, with `temporaryPassword` in the `Secret` that the spec's
    // `x-rust-type` names.
    let user = CustomerUserInput {
        display_name: Some("Ada".parse().unwrap()),
        temporary_password: Some("Temp-Pa55!".into()),
        ..user()
    };
    let pinned = "CustomerUserInput { display_name: Some(\"Ada\"), \
         domain: Some(\"contoso.example\"), email: Some(\"ada@contoso.example\"), \
         first_name: Some(\"Ada\"), id: None, last_name: None, \
         location: Some(\"PT\"), temporary_password: Some(Secret(** redacted **)) }";
    assert_eq!(format!("{user:?}"), pinned);

    let builder = Client::builder()
        .base_url("https://api.cloudcockpit.com")
        .tenant(TENANT)
        .bearer_token(SecretString::from(TOKEN))
        .retry_policy(RetryPolicy::none());
    assert_eq!(
        format!("{builder:?}"),
        "ClientBuilder { base_url: Some(\"https://api.cloudcockpit.com\"), tenant: Some(\"portal.cloudcockpit.com\"), \
         provider: Some(StaticToken(** redacted **)), connect_timeout: None, timeout: None, \
         allow_insecure_http: false, retry: Some(RetryPolicy { max_attempts: 1, base_backoff: 100ms, \
         max_backoff: 5s, max_retry_after: 30s, deadline: Some(60s), retry_budget: Some(500) }), \
         max_in_flight: None, .. }"
    );
    let client = builder.build().unwrap();
    assert_eq!(
        format!("{client:?}"),
        "Client { base_url: \"https://api.cloudcockpit.com\", tenant: \"portal.cloudcockpit.com\", \
         tokens: TokenCache { provider: StaticToken(** redacted **), .. }, retry: RetryPolicy { \
         max_attempts: 1, base_backoff: 100ms, max_backoff: 5s, max_retry_after: 30s, deadline: Some(60s), \
         retry_budget: Some(500) }, .. }"
    );
    let with_credentials = Client::builder()
        .tenant(TENANT)
        .token_provider(ClientCredentials::new(
            "app-id",
            SecretString::from(CLIENT_SECRET),
        ))
        .build()
        .unwrap();
    assert!(!format!("{with_credentials:?}").contains(CLIENT_SECRET));

    // A call builder holds the body, and shows the password no more than the type does.
    let call = client
        .reset_customer_user_password()
        .customer_id(uuid(CUSTOMER))
        .customer_user(user.clone())
        .correlation_id(uuid(CORRELATION));
    assert_eq!(
        format!("{call:?}"),
        format!(
            "CallBuilder {{ operation: \"resetCustomerUserPassword\", client: {client:?}, \
             input: ResetCustomerUserPassword {{ customer_id: Some({CUSTOMER}), customer_user_id: None }}, \
             body: Some(ResetPasswordRequest {{ customer_user: Ok({pinned}), \
             provider_instance_id: Err(\"no value supplied for provider_instance_id\") }}), \
             tenant: None, correlation_id: Some({CORRELATION}), problems: [], .. }}"
        )
    );
}

/// A writer that collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything logged at `level` and above, with the span events `spans`, from now until
/// the guard is dropped, on this thread.
fn capture(level: tracing::Level, spans: FmtSpan) -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_span_events(spans)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

// One thread, so that the thread-local subscriber sees the connection tasks too.
#[tokio::test(flavor = "current_thread")]
async fn a_failing_call_leaks_no_token_in_errors_or_trace_logs() {
    let (captured, _guard) = capture(tracing::Level::TRACE, FmtSpan::CLOSE);

    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0"))
        .mount(&server)
        .await;
    let client = Client::builder()
        .base_url(server.uri())
        .tenant(TENANT)
        .bearer_token(SecretString::from(TOKEN))
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(2)
                .backoff(Duration::ZERO, Duration::ZERO),
        )
        .build()
        .unwrap();
    let err = reset(&client).await.unwrap_err();
    assert_eq!(err.attempts(), 2);

    // The token did go over the wire, so its absence below is not for want of using it.
    let received = server.received_requests().await.unwrap();
    assert_eq!(
        received[0].headers["authorization"],
        format!("Bearer {TOKEN}").as_str()
    );

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let id = err.correlation_id().unwrap().to_string();
    assert!(
        logs.contains("cockpit.request"),
        "the call's span was logged:\n{logs}"
    );
    assert!(
        logs.contains(&id),
        "the span carries the correlation id:\n{logs}"
    );
    assert!(logs.contains("retrying"), "the retry is traced:\n{logs}");
    assert!(
        logs.contains("attempts=2"),
        "the span records the attempts:\n{logs}"
    );
    for (what, text) in [
        ("Display", err.to_string()),
        ("Debug", format!("{err:?}")),
        ("alternate Debug", format!("{err:#?}")),
        ("client Debug", format!("{client:?}")),
        ("TRACE logs", logs.clone()),
    ] {
        assert!(!text.contains(TOKEN), "{what} shows the token:\n{text}");
        assert!(
            !text.contains("Temp-Pa55"),
            "{what} shows a password:\n{text}"
        );
    }
}

/// Every error path, under one TRACE-level subscriber, with a distinctive token from a
/// client-credentials provider and a distinctive client secret: neither appears in any
/// error's `Display` or `Debug`, nor in the logs.
#[tokio::test(flavor = "current_thread")]
async fn no_error_path_leaks_the_token_or_the_client_secret() {
    use cockpit::ClientCredentials;
    use serde_json::json;
    use wiremock::matchers::path;

    const ISSUED: &str = "issued-SECRET-0b5e55ed";
    let (captured, _guard) = capture(tracing::Level::TRACE, FmtSpan::FULL);

    let tokens = MockServer::start().await;
    Mock::given(path("/good"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": ISSUED
        })))
        .mount(&tokens)
        .await;
    Mock::given(path("/refused"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_client", "error_description": "bad secret"
        })))
        .mount(&tokens)
        .await;

    let answers = [
        ResponseTemplate::new(400).set_body_json(json!({"statusCode": 400, "type": "Bad"})),
        ResponseTemplate::new(401),
        ResponseTemplate::new(403),
        ResponseTemplate::new(404).set_body_string("<html>nope</html>"),
        ResponseTemplate::new(500).set_body_string("{broken"),
        ResponseTemplate::new(502),
        ResponseTemplate::new(503).insert_header("retry-after", "0"),
        ResponseTemplate::new(307).insert_header("location", "http://127.0.0.2:9/elsewhere"),
        ResponseTemplate::new(200).set_delay(Duration::from_secs(3)),
    ];
    let mut texts = Vec::new();
    for answer in answers {
        let api = MockServer::start().await;
        Mock::given(any()).respond_with(answer).mount(&api).await;
        for token_path in ["/good", "/refused"] {
            let client = Client::builder()
                .base_url(api.uri())
                .tenant(TENANT)
                .token_provider(
                    ClientCredentials::new("app", SecretString::from(CLIENT_SECRET))
                        .token_url(format!("{}{token_path}", tokens.uri())),
                )
                .timeout(Duration::from_millis(200))
                .retry_policy(RetryPolicy::default().backoff(Duration::ZERO, Duration::ZERO))
                .build()
                .unwrap();
            let err = reset(&client).await.unwrap_err();
            texts.push(err.to_string());
            texts.push(format!("{err:?}"));
            texts.push(format!("{client:?}"));
            let mut source = std::error::Error::source(&err);
            while let Some(s) = source {
                texts.push(s.to_string());
                source = s.source();
            }
        }
        // The issued token did go over the wire to the API.
        let received = api.received_requests().await.unwrap();
        assert!(
            received
                .iter()
                .any(|r| r.headers["authorization"] == format!("Bearer {ISSUED}").as_str())
        );
    }
    // A refused connection too.
    let client = Client::builder()
        .base_url(refused_address().await)
        .tenant(TENANT)
        .bearer_token(SecretString::from(TOKEN))
        .build()
        .unwrap();
    let err = reset(&client).await.unwrap_err();
    texts.push(err.to_string());
    texts.push(format!("{err:?}"));

    texts.push(String::from_utf8(captured.0.lock().unwrap().clone()).unwrap());
    assert!(texts.len() > 50);
    for text in &texts {
        for secret in [ISSUED, CLIENT_SECRET, TOKEN] {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
    }
}

/// The README's subscriber (INFO, with span closes) shows how a call ended: the failed
/// call's WARN event with its error code, the span's status, attempts and duration, and
/// the token fetch as a span of its own with the endpoint's host and outcome. No secret.
#[tokio::test(flavor = "current_thread")]
async fn the_readme_subscriber_shows_how_calls_and_token_fetches_end() {
    use serde_json::json;

    let (captured, _guard) = capture(tracing::Level::INFO, FmtSpan::CLOSE);

    const ISSUED: &str = "issued-SECRET-5ca1ab1e";
    let tokens = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": ISSUED
        })))
        .mount(&tokens)
        .await;
    let api = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .mount(&api)
        .await;
    let client = Client::builder()
        .base_url(api.uri())
        .tenant(TENANT)
        .token_provider(
            ClientCredentials::new("app", SecretString::from(CLIENT_SECRET))
                .token_url(format!("{}/token", tokens.uri())),
        )
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = reset(&client).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(500));

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let failed = logs
        .lines()
        .find(|l| l.contains("call failed"))
        .unwrap_or_else(|| panic!("a failed call logs an event:\n{logs}"));
    assert!(failed.contains("WARN"), "{failed}");
    assert!(failed.contains("error.kind=\"server\""), "{failed}");
    assert!(
        failed.contains("operation=\"resetCustomerUserPassword\""),
        "{failed}"
    );
    let closed = logs
        .lines()
        .find(|l| {
            l.contains("cockpit.request") && l.contains("close") && !l.contains("cockpit.token")
        })
        .unwrap_or_else(|| panic!("the call's span closes:\n{logs}"));
    for field in [
        "http.response.status_code=500",
        "attempts=1",
        "duration_ms=",
        "error.kind=\"server\"",
    ] {
        assert!(closed.contains(field), "{field} in {closed}");
    }
    let token = logs
        .lines()
        .find(|l| l.contains("cockpit.token") && l.contains("close"))
        .unwrap_or_else(|| panic!("the token fetch is a span:\n{logs}"));
    for field in [
        "server.address=127.0.0.1",
        "outcome=\"issued\"",
        "duration_ms=",
    ] {
        assert!(token.contains(field), "{field} in {token}");
    }
    assert!(
        !logs.contains(ISSUED) && !logs.contains(CLIENT_SECRET),
        "{logs}"
    );
}

/// What the client's shared state decided is named in the call's span: how long a call
/// waited for a place on the wire (`pressure.waited_ms`), and a retry that the budget
/// refused (`retry.refused`), with the refusal's reason in the error too.
#[tokio::test(flavor = "current_thread")]
async fn the_span_names_the_wait_for_a_place_and_a_retry_the_budget_refused() {
    let (captured, _guard) = capture(tracing::Level::INFO, FmtSpan::CLOSE);

    // One place on the wire, answers that take 200 ms: the second of two calls waits.
    let slow = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(200)))
        .mount(&slow)
        .await;
    let one_at_a_time = Client::builder()
        .base_url(slow.uri())
        .tenant(TENANT)
        .bearer_token(SecretString::from(TOKEN))
        .max_in_flight(1)
        .build()
        .unwrap();
    let (a, b) = tokio::join!(reset(&one_at_a_time), reset(&one_at_a_time));
    a.unwrap();
    b.unwrap();
    assert_eq!(slow.received_requests().await.unwrap().len(), 2);

    // A budget of one retry: the second retry is refused.
    let down = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503))
        .mount(&down)
        .await;
    let budgeted = Client::builder()
        .base_url(down.uri())
        .tenant(TENANT)
        .bearer_token(SecretString::from(TOKEN))
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(3)
                .backoff(Duration::ZERO, Duration::ZERO)
                .retry_budget(Some(5)),
        )
        .build()
        .unwrap();
    let err = reset(&budgeted).await.unwrap_err();
    assert_eq!(err.attempts(), 2, "the budget paid for one retry of two");
    assert_eq!(down.received_requests().await.unwrap().len(), 2);
    assert!(err.to_string().contains("retry budget is spent"), "{err}");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let closes: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("cockpit.request") && l.contains("close"))
        .collect();
    assert_eq!(closes.len(), 3, "{logs}");
    let waited: Vec<u64> = closes
        .iter()
        .filter_map(|l| {
            let at = l.find("pressure.waited_ms=")? + "pressure.waited_ms=".len();
            l[at..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(
        waited.len(),
        1,
        "only the call that waited says so:\n{logs}"
    );
    assert!(
        waited[0] >= 150,
        "it waited for the first call's answer:\n{logs}"
    );
    let refused: Vec<&&str> = closes
        .iter()
        .filter(|l| l.contains("retry.refused=\"the retry budget is spent\""))
        .collect();
    assert_eq!(refused.len(), 1, "{logs}");
}
