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
        .deadline(Some(Duration::from_millis(300)));
    let started = Instant::now();
    let err = reset(&retrying(&base, policy)).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), ErrorKind::Connection);
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
