//! Client-credentials tokens against a local token endpoint: caching, one fetch for many
//! callers, refresh on expiry and on 401, and token endpoint failures.

use std::time::Duration;

use cockpit::{Client, ClientCredentials, ErrorKind, RetryPolicy, SecretString};
use cockpit_test_support::*;
use serde_json::json;
use wiremock::{
    Mock, MockServer, Request, Respond, ResponseTemplate,
    matchers::{any, method, path},
};

const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
const CLIENT_SECRET: &str = "cs-SECRET-91b2deadbeef";

/// Answers each token request with a new token, `tok-1`, `tok-2`, …
struct NumberedTokens {
    expires_in: u64,
    delay: Duration,
}

impl Respond for NumberedTokens {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        // One counter for the whole test binary: the tokens are unique across tests.
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        ResponseTemplate::new(200)
            .set_body_json(json!({
                "token_type": "Bearer",
                "expires_in": self.expires_in,
                "ext_expires_in": self.expires_in,
                "access_token": format!("tok-{n}")
            }))
            .set_delay(self.delay)
    }
}

async fn token_endpoint(expires_in: u64, delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant/oauth2/v2.0/token"))
        .respond_with(NumberedTokens { expires_in, delay })
        .mount(&server)
        .await;
    server
}

fn credentials(token_server: &MockServer) -> ClientCredentials {
    ClientCredentials::new(CLIENT_ID, SecretString::from(CLIENT_SECRET))
        .token_url(format!("{}/tenant/oauth2/v2.0/token", token_server.uri()))
}

fn api_client(api: &MockServer, provider: ClientCredentials) -> Client {
    Client::builder()
        .base_url(api.uri())
        .tenant(TENANT)
        .token_provider(provider)
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap()
}

async fn api_answering(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(status))
        .mount(&server)
        .await;
    server
}

fn bearer(req: &Request) -> String {
    req.headers["authorization"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn the_token_request_is_the_documented_form() {
    let tokens = token_endpoint(3599, Duration::ZERO).await;
    let api = api_answering(200).await;
    reset(&api_client(&api, credentials(&tokens)))
        .await
        .unwrap();

    let sent = tokens.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method.as_str(), "POST");
    assert_eq!(
        sent[0].headers["content-type"].to_str().unwrap(),
        "application/x-www-form-urlencoded"
    );
    let form: std::collections::BTreeMap<String, String> =
        serde_urlencoded::from_bytes(&sent[0].body).unwrap();
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], CLIENT_SECRET);
    assert_eq!(
        form["scope"],
        "api://b92a36a4-feb8-4f47-a69c-29a180aa6d0a/.default"
    );
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form.len(), 4);

    let calls = api.received_requests().await.unwrap();
    assert!(bearer(&calls[0]).starts_with("Bearer tok-"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_request_serves_100_concurrent_calls() {
    // Unconstrained by tokio's cooperative budget: awaiting a hundred finished tasks can use
    // it up, and a wiremock server dropped then blocks on a nested executor that would spin.
    tokio::task::unconstrained(async {
        // The delay keeps the first fetch in flight while the other 99 calls arrive.
        let tokens = token_endpoint(3599, Duration::from_millis(200)).await;
        let api = api_answering(200).await;
        let client = api_client(&api, credentials(&tokens));
        // Spawn all hundred before waiting for any, so that they run at once.
        let calls: Vec<_> = (0..100)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { reset(&client).await })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert_eq!(tokens.received_requests().await.unwrap().len(), 1);
        let received = api.received_requests().await.unwrap();
        assert_eq!(received.len(), 100);
        let first = bearer(&received[0]);
        assert!(
            received.iter().all(|r| bearer(r) == first),
            "every call carried the one token"
        );
    })
    .await;
}

#[tokio::test]
async fn a_cached_token_is_reused_and_an_expiring_one_refreshed() {
    let tokens = token_endpoint(3599, Duration::ZERO).await;
    let api = api_answering(200).await;
    let client = api_client(&api, credentials(&tokens));
    reset(&client).await.unwrap();
    reset(&client).await.unwrap();
    assert_eq!(
        tokens.received_requests().await.unwrap().len(),
        1,
        "cached for an hour"
    );

    // A token within a minute of expiry is refreshed before it is used.
    let tokens = token_endpoint(30, Duration::ZERO).await;
    let api = api_answering(200).await;
    let client = api_client(&api, credentials(&tokens));
    reset(&client).await.unwrap();
    reset(&client).await.unwrap();
    assert_eq!(
        tokens.received_requests().await.unwrap().len(),
        2,
        "refreshed on expiry"
    );
    let received = api.received_requests().await.unwrap();
    assert_ne!(bearer(&received[0]), bearer(&received[1]));
}

#[tokio::test]
async fn a_401_refreshes_the_token_and_replays_once() {
    let tokens = token_endpoint(3599, Duration::ZERO).await;
    let api = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .mount(&api)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&api)
        .await;
    let done = reset(&api_client(&api, credentials(&tokens)))
        .await
        .unwrap();
    assert_eq!(done.attempts, 2);
    assert_eq!(tokens.received_requests().await.unwrap().len(), 2);
    let received = api.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    assert_ne!(
        bearer(&received[0]),
        bearer(&received[1]),
        "the replay carries the new token"
    );
    assert_eq!(
        received[0].headers["x-correlation-id"], received[1].headers["x-correlation-id"],
        "the replay keeps the correlation id"
    );
    assert!(!received[0].body.is_empty());
    assert_eq!(
        received[0].body, received[1].body,
        "the replay sends the same body"
    );
}

#[tokio::test]
async fn a_second_401_is_the_unauthorized_error() {
    let tokens = token_endpoint(3599, Duration::ZERO).await;
    let api = api_answering(401).await;
    let err = reset(&api_client(&api, credentials(&tokens)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert_eq!(err.attempts(), 2);
    assert_eq!(api.received_requests().await.unwrap().len(), 2);
    assert_eq!(tokens.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn token_endpoint_failures_are_authentication_errors_without_the_secret() {
    let invalid_client = ResponseTemplate::new(400).set_body_json(json!({
        "error": "invalid_client",
        "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1",
        "error_codes": [7000215]
    }));
    let cases: Vec<(&str, ResponseTemplate, &str)> = vec![
        (
            "invalid_client",
            invalid_client,
            "authentication failed (token endpoint 400): the token endpoint refused the client \
             credentials: invalid_client: AADSTS7000215: Invalid client secret provided (correlation id ",
        ),
        (
            "5xx",
            ResponseTemplate::new(503).set_body_string("busy"),
            "authentication failed (token endpoint 503): the token endpoint failed; try again later (correlation id ",
        ),
        (
            "404",
            ResponseTemplate::new(404).set_body_raw("<html>Not Found</html>", "text/html"),
            "authentication failed (token endpoint 404): the token endpoint gave no OAuth answer: \
             check the token URL (COCKPIT_TOKEN_URL) (correlation id ",
        ),
        (
            "a token in a refusal",
            ResponseTemplate::new(409).set_body_json(json!({"access_token": "issued-in-409"})),
            "authentication failed (token endpoint 409): the token endpoint gave no OAuth answer",
        ),
        (
            "malformed",
            ResponseTemplate::new(200).set_body_string("{not json"),
            "authentication failed (token endpoint 200): the token endpoint's answer is not the documented JSON (correlation id ",
        ),
        (
            "not bearer",
            ResponseTemplate::new(200).set_body_json(json!({
                "token_type": "mac", "expires_in": 3599, "access_token": "issued-mac-token"
            })),
            "authentication failed (token endpoint 200): the token endpoint issued a token of type \"mac\", not Bearer (correlation id ",
        ),
        (
            "no token type",
            ResponseTemplate::new(200).set_body_json(json!({
                "expires_in": 3599, "access_token": "issued-token"
            })),
            "authentication failed (token endpoint 200): the token endpoint's answer has no token_type (correlation id ",
        ),
        (
            "timeout",
            ResponseTemplate::new(200).set_delay(Duration::from_secs(5)),
            "authentication failed: the token endpoint 127.0.0.1 did not answer in time (correlation id ",
        ),
    ];
    for (name, answer, expected) in cases {
        let tokens = MockServer::start().await;
        Mock::given(any()).respond_with(answer).mount(&tokens).await;
        let api = api_answering(200).await;
        let client = Client::builder()
            .base_url(api.uri())
            .tenant(TENANT)
            .token_provider(credentials(&tokens))
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let err = reset(&client).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Authentication, "{name}");
        assert!(err.to_string().starts_with(expected), "{name}: {err}");
        assert_eq!(err.attempts(), 0, "{name}: the API call was not sent");
        // The token endpoint's status is never taken for the API's.
        assert_eq!(err.status(), None, "{name}");
        let token_status = err.token_endpoint_status().map(|s| s.as_u16());
        let expected_status = match name {
            "invalid_client" => Some(400),
            "5xx" => Some(503),
            "404" => Some(404),
            "a token in a refusal" => Some(409),
            "timeout" => None,
            _ => Some(200),
        };
        assert_eq!(token_status, expected_status, "{name}");
        assert!(
            !format!("{err} {err:?}").contains("issued-"),
            "{name}: {err:?}"
        );
        // The raw answer is kept to tell a wrong URL from a failing endpoint.
        if name == "404" {
            assert_eq!(err.body(), Some("<html>Not Found</html>"));
        }
        assert!(api.received_requests().await.unwrap().is_empty(), "{name}");
        if name == "invalid_client" {
            let oauth = err.oauth_error().unwrap();
            assert_eq!(oauth.error, "invalid_client");
            assert!(
                oauth
                    .error_description
                    .as_deref()
                    .unwrap()
                    .starts_with("AADSTS7000215")
            );
        }
        for text in [err.to_string(), format!("{err:?}"), format!("{client:?}")] {
            assert!(!text.contains(CLIENT_SECRET), "{name}: {text}");
        }
    }
}

#[tokio::test]
async fn a_plain_http_token_url_off_loopback_is_refused_before_sending() {
    let api = api_answering(200).await;
    let provider = ClientCredentials::new(CLIENT_ID, SecretString::from(CLIENT_SECRET))
        .token_url("http://login.example.invalid/token");
    let err = reset(&api_client(&api, provider)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Configuration);
    assert!(
        err.to_string()
            .contains("token URL \"http://login.example.invalid/token\" is plain http"),
        "{err}"
    );
    assert!(api.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_token_that_a_header_cannot_carry_is_refused_before_the_api_call() {
    let tokens = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": "tok\r\nX-Injected: 1"
        })))
        .mount(&tokens)
        .await;
    let api = api_answering(200).await;
    let err = reset(&api_client(&api, credentials(&tokens)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert!(
        err.to_string().starts_with(
            "authentication failed: the access token is empty or has characters that an HTTP header cannot carry"
        ),
        "{err}"
    );
    assert!(err.is_before_sending());
    assert!(api.received_requests().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_token_endpoint_gets_one_request_from_100_calls_and_one_more_after_a_backoff() {
    tokio::task::unconstrained(async {
        let tokens = MockServer::start().await;
        // The delay keeps the failing fetch in flight while the other 99 calls arrive.
        Mock::given(any())
            .respond_with(
                ResponseTemplate::new(401)
                    .set_body_json(json!({"error": "invalid_client"}))
                    .set_delay(Duration::from_millis(200)),
            )
            .mount(&tokens)
            .await;
        let api = api_answering(200).await;
        let client = api_client(&api, credentials(&tokens));
        let calls: Vec<_> = (0..100)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { reset(&client).await })
            })
            .collect();
        for call in calls {
            let err = call.await.unwrap().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Authentication);
            assert_eq!(err.oauth_error().unwrap().error, "invalid_client");
        }
        let sent = || async { tokens.received_requests().await.unwrap().len() };
        assert_eq!(sent().await, 1, "the 99 waiting calls shared the failure");

        // Within the backoff a call fails at once, with no request.
        let err = reset(&client).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Authentication);
        assert_eq!(sent().await, 1);

        // After it, one call asks again; the next backoff is longer (1 s).
        tokio::time::sleep(Duration::from_millis(600)).await;
        reset(&client).await.unwrap_err();
        assert_eq!(sent().await, 2);
        // 0.7 s after the second failure: past the first backoff (0.5 s), inside the
        // doubled one (1 s).
        tokio::time::sleep(Duration::from_millis(700)).await;
        reset(&client).await.unwrap_err();
        assert_eq!(sent().await, 2, "the backoff doubled");
        assert!(api.received_requests().await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn any_expires_in_is_taken_without_panic() {
    // (expires_in, whether the token is still fresh for the next call). Absent or null is
    // the documented default of 10 minutes; a huge one is cut to a day.
    let cases = [
        (json!(u64::MAX), true),
        (json!(1e300), true),
        (json!("3599"), true),
        (json!("30"), false),
        (json!(3599.5), true),
        (json!(null), true),
        (json!(0), false),
        (json!(59), false),
    ];
    assert_eq!(cockpit::DEFAULT_TOKEN_LIFETIME, Duration::from_secs(600));
    for (expires_in, cached) in cases {
        let tokens = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "token_type": "bearer", "expires_in": expires_in, "access_token": "issued-token"
            })))
            .mount(&tokens)
            .await;
        let api = api_answering(200).await;
        let client = api_client(&api, credentials(&tokens));
        reset(&client).await.unwrap();
        reset(&client).await.unwrap();
        let fetched = tokens.received_requests().await.unwrap().len();
        assert_eq!(fetched, if cached { 1 } else { 2 }, "{expires_in}");
        // `bearer` compares the token type without regard to case, and sends "Bearer".
        let sent = api.received_requests().await.unwrap();
        assert_eq!(bearer(&sent[0]), "Bearer issued-token");
    }

    // A negative or non-numeric one makes the answer malformed, and nothing is sent.
    for (expires_in, shown) in [
        (json!(-1), "-1"),
        (json!(i64::MIN), "-9223372036854775808"),
        (json!("soon"), "\"soon\""),
        (json!({"nested": 1}), "a JSON object"),
    ] {
        let tokens = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "token_type": "Bearer", "expires_in": expires_in, "access_token": "issued-token"
            })))
            .mount(&tokens)
            .await;
        let api = api_answering(200).await;
        let client = api_client(&api, credentials(&tokens));
        let err = reset(&client).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Authentication, "{expires_in}");
        assert!(
            err.to_string().contains(&format!(
                "the token endpoint's expires_in is {shown}, not a number of seconds"
            )),
            "{err}"
        );
        assert!(!err.to_string().contains("issued-token"));
        assert!(api.received_requests().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_401_against_an_older_token_keeps_the_newer_one() {
    // Two calls carry token 1, which the API refuses. The first 401 comes at once: that
    // call fetches token 2 and succeeds with it. The second 401 (for token 1 as well) comes
    // later, and must not drop token 2, which the replay then uses.
    let tokens = token_endpoint(3599, Duration::ZERO).await;
    let api = MockServer::start().await;
    let state = std::sync::Arc::new(std::sync::Mutex::new((None::<String>, 0_u32)));
    Mock::given(any())
        .respond_with(move |req: &Request| {
            let token = bearer(req);
            let mut state = state.lock().unwrap();
            state.1 += 1;
            let refused = state.0.get_or_insert_with(|| token.clone()) == &token;
            // The second request with token 1 is refused late.
            let delay = if refused && state.1 == 2 { 300 } else { 0 };
            ResponseTemplate::new(if refused { 401 } else { 200 })
                .set_delay(Duration::from_millis(delay))
        })
        .mount(&api)
        .await;
    let client = api_client(&api, credentials(&tokens));
    // Both calls wait for the one token fetch, so both send token 1.
    let (a, b) = tokio::join!(reset(&client), reset(&client));
    a.unwrap();
    b.unwrap();
    // A third fetch would mean the late 401 dropped the newer token.
    assert_eq!(tokens.received_requests().await.unwrap().len(), 2);
    let sent = api.received_requests().await.unwrap();
    assert_eq!(sent.len(), 4);
    assert_eq!(
        bearer(&sent[2]),
        bearer(&sent[3]),
        "both replays carried token 2"
    );
}

#[tokio::test]
async fn check_credentials_fetches_a_token_and_calls_no_api() {
    let tokens = token_endpoint(3599, Duration::ZERO).await;
    let api = api_answering(200).await;
    let client = api_client(&api, credentials(&tokens));
    client.check_credentials().await.unwrap();
    assert_eq!(tokens.received_requests().await.unwrap().len(), 1);
    // The token it fetched serves the calls that follow.
    reset(&client).await.unwrap();
    assert_eq!(tokens.received_requests().await.unwrap().len(), 1);
    assert_eq!(api.received_requests().await.unwrap().len(), 1);

    let refusing = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .mount(&refusing)
        .await;
    let api = api_answering(200).await;
    let err = api_client(&api, credentials(&refusing))
        .check_credentials()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert_eq!(err.correlation_id(), None, "no call was made");
    assert!(api.received_requests().await.unwrap().is_empty());
}
