//! Property tests: decoding answers and building headers and URLs never panic, on any input.

use proptest::prelude::*;
use reqwest::{
    StatusCode,
    header::{HeaderMap, HeaderValue, RETRY_AFTER},
};

use std::time::Duration;

use crate::{
    auth::token_from_answer,
    backoff::{LONGEST, RetryPolicy, asked_wait},
    check::{check_tenant, check_url, is_header_token},
    error::Error,
    transport::Seen,
    types,
};

/// Any JSON value, numbers of every kind included.
fn any_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(".{0,8}", inner, 0..4).prop_map(|m| json!(m)),
        ]
    })
}

/// Any duration, from zero to `Duration::MAX`.
fn any_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        (0u64..10_000).prop_map(Duration::from_millis),
        Just(Duration::MAX),
        Just(Duration::ZERO),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_answer_decodes_to_an_error_with_its_status(
        status in 100u16..600,
        body in proptest::collection::vec(any::<u8>(), 0..20_000),
        retry_after in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let status = StatusCode::from_u16(status).unwrap();
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_bytes(&retry_after) {
            headers.insert(RETRY_AFTER, v);
        }
        let seen = Seen { status, headers, body: body.clone().into(), truncated: false, cap: 1 << 20, broke: false };
        let err = Error::from_answer(seen);
        prop_assert_eq!(err.status(), Some(status));
        prop_assert!(err.body().unwrap().len() <= 3 * 16 * 1024);
        prop_assert!(err.retry_after().unwrap_or_default() <= crate::backoff::LONGEST);
        let _ = err.to_string();
    }

    #[test]
    fn json_error_bodies_with_any_strings_decode(
        t in ".*", d in ".*", c in ".*", p in ".*", code in any::<i32>(),
    ) {
        let body = serde_json::json!({
            "statusCode": code, "type": t, "description": d, "correlationId": c,
            "errors": [{"propertyName": p, "description": [d]}]
        });
        let seen = Seen {
            status: StatusCode::BAD_REQUEST,
            headers: HeaderMap::new(),
            body: serde_json::to_vec(&body).unwrap().into(),
            truncated: false,
            cap: 1 << 20,
            broke: false,
        };
        let err = Error::from_answer(seen);
        let api = err.api_error().expect("decodes");
        prop_assert_eq!(api.error_type.as_deref(), Some(t.as_str()));
        prop_assert_eq!(api.errors[0].property_name.as_deref(), Some(p.as_str()));
        prop_assert_eq!(api.status_code, Some(code));
    }

    #[test]
    fn an_accepted_tenant_or_token_is_a_valid_header_value(s in any::<String>()) {
        if check_tenant(&s).is_ok() {
            prop_assert!(HeaderValue::from_str(&s).is_ok());
            prop_assert!(!s.contains(['\r', '\n', '\0', ' ']));
        }
        if is_header_token(&s) {
            let bearer = format!("Bearer {s}");
            prop_assert!(HeaderValue::from_str(&bearer).is_ok());
        }
    }

    #[test]
    fn an_accepted_base_url_is_https_or_loopback_http(s in any::<String>(), host in "[a-z0-9.:\\[\\]-]{0,30}") {
        for candidate in [s.clone(), format!("http://{host}"), format!("https://{host}/{s}")] {
            if let Ok(url) = check_url(&candidate, false, "base URL") {
                let loopback = match url.host() {
                    Some(url::Host::Domain(d)) => d == "localhost",
                    Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                    None => false,
                };
                prop_assert!(url.scheme() == "https" || (url.scheme() == "http" && loopback), "{}", url);
            }
        }
    }

    /// The limits are the spec's (maxLength 50 and 48), through the generated request
    /// types, for a user from JSON (as the CLI reads one), from the builder, and from a
    /// user read from an answer alike; the answer itself is read whatever the lengths.
    #[test]
    fn user_fields_of_any_length_are_checked_without_panic(name in ".{0,80}", email in ".{0,80}") {
        let ok = name.chars().count() <= 50 && email.chars().count() <= 48;
        let json = serde_json::json!({"displayName": name, "email": email, "location": null, "domain": null});
        prop_assert_eq!(serde_json::from_value::<types::CustomerUserInput>(json.clone()).is_ok(), ok);
        let read = serde_json::from_value::<types::CustomerUser>(json);
        prop_assert!(read.is_ok(), "an answer is read whatever its lengths");
        let sent = read.map(types::CustomerUserInput::try_from);
        prop_assert_eq!(sent.is_ok_and(|s| s.is_ok()), ok);
        let built = types::CustomerUserInput::builder()
            .display_name(name.parse::<crate::Limited<50>>().ok())
            .email(email.parse::<crate::Limited<48>>().ok());
        let both = name.parse::<crate::Limited<50>>().is_ok()
            && email.parse::<crate::Limited<48>>().is_ok();
        prop_assert_eq!(both, ok);
        let _ = built;
    }

    /// Any answer from a token endpoint: any status and bytes, or the documented JSON with
    /// any values in it. None panics, and the token never shows in an error.
    #[test]
    fn any_token_endpoint_answer_is_a_token_or_an_error_without_the_secret(
        status in 100u16..600,
        bytes in proptest::collection::vec(any::<u8>(), 0..2_000),
        token_type in any_json(),
        expires_in in any_json(),
        secret in "[A-Za-z0-9]{8,20}",
    ) {
        let status = StatusCode::from_u16(status).unwrap();
        let secret = format!("SECRET-{secret}");
        let _ = token_from_answer(status, &bytes);
        let body = serde_json::json!({
            "token_type": token_type, "expires_in": expires_in, "access_token": secret
        });
        let bytes = serde_json::to_vec(&body).unwrap();
        for status in [status, StatusCode::OK] {
            match token_from_answer(status, &bytes) {
                Ok(token) => {
                    prop_assert!(status.is_success());
                    prop_assert!(token_type.as_str().is_some_and(|t| t.eq_ignore_ascii_case("bearer")));
                    let _ = token.expires_at();
                }
                Err(e) => {
                    let shown = format!("{e} {e:?}");
                    prop_assert!(!shown.contains(&secret), "{}", shown);
                    prop_assert_eq!(e.status(), None);
                    prop_assert_eq!(e.token_endpoint_status(), Some(status));
                }
            }
        }
    }

    /// Any `Retry-After` header: the wait it asks for is at most a day, and the policy
    /// waits no longer than its cap.
    #[test]
    fn any_retry_after_is_bounded(
        value in proptest::collection::vec(any::<u8>(), 0..40),
        digits in "[0-9]{1,30}",
        cap in any_duration(),
        attempt in any::<u32>(),
    ) {
        let policy = RetryPolicy::default().max_retry_after(cap);
        for value in [value, digits.into_bytes()] {
            let mut headers = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_bytes(&value) {
                headers.insert(RETRY_AFTER, v);
            }
            let asked = asked_wait(&headers);
            prop_assert!(asked.unwrap_or_default() <= LONGEST);
            let delay = policy.delay(attempt, asked);
            prop_assert!(delay <= LONGEST && delay <= cap.max(Duration::from_secs(5)));
        }
    }

    /// Every duration and count of the policy and the builder, up to `Duration::MAX` and
    /// `u32::MAX`: nothing panics, and no wait is longer than a day.
    #[test]
    fn any_policy_is_clamped(
        base in any_duration(),
        max in any_duration(),
        retry_after in any_duration(),
        deadline in proptest::option::of(any_duration()),
        attempts in any::<u32>(),
        attempt in any::<u32>(),
    ) {
        let policy = any_policy(base, max, retry_after, deadline, attempts);
        prop_assert!(policy.attempts() >= 1);
        prop_assert!(policy.deadline_after().unwrap_or_default() <= LONGEST);
        prop_assert!(policy.delay(attempt, None) <= LONGEST);
        prop_assert!(policy.delay(attempt, Some(Duration::MAX)) <= LONGEST);
    }
}

fn any_policy(
    base: Duration,
    max: Duration,
    retry_after: Duration,
    deadline: Option<Duration>,
    attempts: u32,
) -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(attempts)
        .backoff(base, max)
        .max_retry_after(retry_after)
        .deadline(deadline)
}

proptest! {
    // Each case builds a client, whose TLS set-up reads the platform's certificates (some
    // 25 ms in a test build): fewer cases, with the timeouts' edges among them.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_builder_settings_build_a_client(
        base in any_duration(),
        max in any_duration(),
        deadline in proptest::option::of(any_duration()),
        attempts in any::<u32>(),
        connect in any_duration(),
        timeout in any_duration(),
    ) {
        let policy = any_policy(base, max, base, deadline, attempts);
        let client = crate::Client::builder()
            .base_url("http://127.0.0.1:9")
            .tenant("portal.cloudcockpit.com")
            .bearer_token(secrecy::SecretString::from("t"))
            .connect_timeout(connect)
            .timeout(timeout)
            .retry_policy(policy)
            .build();
        prop_assert!(client.is_ok());
    }
}
