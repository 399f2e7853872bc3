//! Retries: sent again only when the request cannot have been processed, with the same
//! correlation id, and never a reset twice once it may have reached the server.

use std::time::{Duration, Instant};

use cockpit::{Client, ErrorKind, RetryPolicy, SecretString};
use cockpit_test_support::*;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

fn retrying(base: &str, policy: RetryPolicy) -> Client {
    Client::builder()
        .base_url(base)
        .tenant(TENANT)
        .bearer_token(SecretString::from(TOKEN))
        .retry_policy(policy)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_503_with_retry_after_is_retried_after_the_delay_with_the_same_correlation_id() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let started = Instant::now();
    let done = reset(&retrying(&server.uri(), RetryPolicy::default()))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    assert_eq!(done.attempts, 2);
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    let ids: Vec<_> = received
        .iter()
        .map(|r| r.headers["x-correlation-id"].clone())
        .collect();
    assert_eq!(ids[0], ids[1]);
    assert_eq!(ids[0].to_str().unwrap(), done.correlation_id.to_string());
    assert_eq!(
        received[0].body, received[1].body,
        "the same body both times"
    );
}

#[tokio::test]
async fn a_429_with_an_http_date_is_retried() {
    let server = MockServer::start().await;
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    Mock::given(any())
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", date.as_str()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let done = reset(&retrying(&server.uri(), RetryPolicy::default()))
        .await
        .unwrap();
    assert_eq!(done.attempts, 2);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn every_attempt_sends_the_same_body_secret_and_all() {
    // The first attempt moves the body into the generated client; the others read it back
    // from the bytes it sent. Both must be the caller's value, to the byte.
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let mut user = user();
    user.display_name = Some("Zoë Ångström-Łukasz \"Z\" 😀".parse().unwrap());
    user.temporary_password = Some("P@ss w0rd\u{e9}!".to_string().into());
    user.location = None;
    let done = reset_as(&retrying(&server.uri(), RetryPolicy::default()), user)
        .await
        .unwrap();
    assert_eq!(done.attempts, 3);
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 3);
    let first: serde_json::Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(
        first["customerUser"]["temporaryPassword"],
        "P@ss w0rd\u{e9}!"
    );
    assert_eq!(first["customerUser"]["location"], serde_json::Value::Null);
    assert_eq!(
        first["customerUser"]["displayName"],
        "Zoë Ångström-Łukasz \"Z\" 😀"
    );
    assert_eq!(received[0].body, received[1].body);
    assert_eq!(received[0].body, received[2].body);
}

#[tokio::test]
async fn a_500_is_never_sent_twice() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let err = reset(&retrying(
        &server.uri(),
        RetryPolicy::default().max_attempts(5),
    ))
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.attempts(), 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_connection_dropped_mid_answer_is_never_sent_twice() {
    let (base, count) = raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nContent-Type: application/json\r\n\r\n{\"par",
    )
    .await;
    let err = reset(&retrying(&base, RetryPolicy::default().max_attempts(5)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
    assert!(!err.is_retryable());
    assert!(
        err.to_string()
            .contains("the connection broke while the answer was read"),
        "{err}"
    );
    assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_refused_connection_is_retried_up_to_the_limit() {
    let base = refused_address().await;
    let policy = RetryPolicy::default()
        .max_attempts(4)
        .backoff(Duration::from_millis(10), Duration::from_millis(40));
    let started = Instant::now();
    let err = reset(&retrying(&base, policy)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert_eq!(err.attempts(), 4);
    assert!(err.to_string().contains("after 4 attempts"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn no_retry_starts_after_the_deadline() {
    let base = refused_address().await;
    // Refused connections fail at once, so retries go on until the deadline stops them.
    let policy = RetryPolicy::default()
        .max_attempts(100_000)
        .backoff(Duration::from_millis(1), Duration::from_millis(1))
        .deadline(Some(Duration::from_millis(300)))
        // The budget would stop them first: 100 retries.
        .retry_budget(None);
    let started = Instant::now();
    let err = reset(&retrying(&base, policy)).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Connection);
    assert!(!err.may_have_been_processed(), "never connected");
    assert!(
        err.attempts() > 3 && err.attempts() < 100_000,
        "attempts {}",
        err.attempts()
    );
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

/// A GET of the test user: idempotent, so a 500 is retried.
async fn get_user(
    client: &Client,
) -> cockpit::Result<cockpit::Response<cockpit::types::CustomerUser>> {
    client
        .get_customer_user()
        .customer_id(uuid(CUSTOMER))
        .customer_user_id(uuid(USER))
        .provider_instance_id(uuid(PROVIDER_INSTANCE))
        .send()
        .await
}

/// `calls` GETs through `client`, 16 at a time; their outcomes.
async fn many_gets(
    client: &Client,
    calls: usize,
) -> Vec<cockpit::Result<cockpit::Response<cockpit::types::CustomerUser>>> {
    use futures::StreamExt;
    futures::stream::iter(0..calls)
        .map(|_| get_user(client))
        .buffer_unordered(16)
        .collect()
        .await
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(1))
}

#[tokio::test]
async fn during_an_outage_the_retry_budget_keeps_requests_near_one_per_call() {
    let server = answering(ResponseTemplate::new(500)).await;
    let client = retrying(&server.uri(), fast_retries());
    let results = many_gets(&client, 1000).await;
    let sent = server.received_requests().await.unwrap().len();
    // 500 tokens at 5 a retry: 100 retries, then each call is sent once.
    assert_eq!(sent, 1100, "1000 calls and the budget's 100 retries");
    assert!(sent * 10 < 1000 * 12, "under 1.2 requests per call");
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_err_and(|e| e.kind() == ErrorKind::Server))
    );
    let errors: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let attempts: u32 = errors.iter().map(|e| e.attempts()).sum();
    assert_eq!(attempts as usize, sent, "each error counts its attempts");
    // Calls in flight when the budget ran dry may have had one retry of their two.
    let refused: Vec<_> = errors
        .iter()
        .filter(|e| e.to_string().contains("budget is spent"))
        .collect();
    assert!(
        refused.len() >= 900 && refused.iter().all(|e| e.attempts() < 3),
        "{} calls were refused a retry",
        refused.len()
    );
    let message = refused[0].to_string();
    assert!(
        message.contains("not sent again: the client's retry budget is spent")
            && message.contains("RetryPolicy::retry_budget"),
        "{message}"
    );
    assert!(
        refused[0].may_have_been_processed(),
        "a 500 may have been processed"
    );

    // Without a budget, every call retries in full.
    let server = answering(ResponseTemplate::new(500)).await;
    let unlimited = retrying(&server.uri(), fast_retries().retry_budget(None));
    many_gets(&unlimited, 100).await;
    assert_eq!(server.received_requests().await.unwrap().len(), 300);
}

#[tokio::test]
async fn successes_refill_the_budget() {
    // A 500 then a 200, for every call: each retry spends 5 and its success puts 5 back,
    // so the budget never runs dry however many calls there are.
    let server = MockServer::start().await;
    let flip = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let f = flip.clone();
    Mock::given(any())
        .respond_with(move |_: &wiremock::Request| {
            if f.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
                .is_multiple_of(2)
            {
                ResponseTemplate::new(500)
            } else {
                ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": USER}))
            }
        })
        .mount(&server)
        .await;
    let client = retrying(&server.uri(), fast_retries().retry_budget(Some(10)));
    for _ in 0..50 {
        let done = get_user(&client).await.unwrap();
        assert_eq!(done.attempts, 2);
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 100);
}

#[tokio::test]
async fn a_429_with_retry_after_holds_every_call_of_the_client_not_only_its_own() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": USER})))
        .mount(&server)
        .await;
    let client = retrying(&server.uri(), RetryPolicy::default());
    let started = Instant::now();
    let throttled = tokio::spawn({
        let client = client.clone();
        async move { reset(&client).await }
    });
    while server.received_requests().await.unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Another call, after the 429 to the first: it waits out the same Retry-After.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let other = get_user(&client).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the other call waited for the Retry-After: {:?}",
        started.elapsed()
    );
    assert_eq!(other.attempts, 1, "it was held, not refused");
    let done = throttled.await.unwrap().unwrap();
    assert_eq!(done.attempts, 2);
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 3);
    assert_eq!(received[0].method.as_str(), "PATCH");
    assert_eq!(
        received
            .iter()
            .filter(|r| r.method.as_str() == "GET")
            .count(),
        1
    );

    // Another client has its own view: it does not wait.
    let own = retrying(&server.uri(), RetryPolicy::default());
    Mock::given(any())
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "5"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let _ = get_user(&retrying(&server.uri(), RetryPolicy::none())).await;
    let quick = Instant::now();
    get_user(&own).await.unwrap();
    assert!(quick.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn max_in_flight_limits_the_calls_on_the_wire() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"id": USER}))
                .set_delay(Duration::from_millis(200)),
        )
        .mount(&server)
        .await;
    let client = Client::builder()
        .base_url(server.uri())
        .tenant(TENANT)
        .bearer_token(SecretString::from(TOKEN))
        .max_in_flight(2)
        .build()
        .unwrap();
    let started = Instant::now();
    let results = many_gets(&client, 6).await;
    // Two at a time, 200 ms each: three rounds at least.
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().is_ok_and(|d| d.attempts == 1))
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 6);
}
