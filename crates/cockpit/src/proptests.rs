//! Property tests: decoding answers and building headers and URLs never panic, on any input.

use proptest::prelude::*;
use reqwest::{
    StatusCode,
    header::{HeaderMap, HeaderValue, RETRY_AFTER},
};

use crate::{
    check::{check_tenant, check_url, is_header_token},
    error::Error,
    transport::Seen,
    types,
};

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
        let seen = Seen { status, headers, body: body.clone().into(), truncated: false, broke: false };
        let err = Error::from_answer(seen);
        prop_assert_eq!(err.status(), Some(status));
        prop_assert!(err.body().unwrap().len() <= 3 * 16 * 1024);
        prop_assert!(err.retry_after().unwrap_or_default() <= crate::retry::LONGEST);
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

    /// The limits are the spec's (maxLength 50 and 48), through the generated types, for a
    /// user from JSON (as the CLI reads one) and from the builder alike.
    #[test]
    fn user_fields_of_any_length_are_checked_without_panic(name in ".{0,80}", email in ".{0,80}") {
        let ok = name.chars().count() <= 50 && email.chars().count() <= 48;
        let json = serde_json::json!({"displayName": name, "email": email, "location": null, "domain": null});
        prop_assert_eq!(serde_json::from_value::<types::CustomerUser>(json).is_ok(), ok);
        let built = types::CustomerUser::builder()
            .display_name(name.parse::<types::CustomerUserDisplayName>().ok())
            .email(email.parse::<types::CustomerUserEmail>().ok());
        let both = name.parse::<types::CustomerUserDisplayName>().is_ok()
            && email.parse::<types::CustomerUserEmail>().is_ok();
        prop_assert_eq!(both, ok);
        let _ = built;
    }
}
