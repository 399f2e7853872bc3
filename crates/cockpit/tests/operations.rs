//! Every operation of the spec, through the one pipeline: what goes over the wire, what a
//! documented success and a 404 become, and which failures are sent again. Nothing here
//! names an operation: the calls are made by id from `cockpit::OPERATIONS`, with
//! parameters and bodies made from the spec, so an operation added to the spec is covered
//! by `cargo xtask codegen` alone.

use std::time::Duration;

use cockpit::{ErrorKind, OPERATIONS};
use cockpit_test_support::{
    spec::{self, call, path, spec},
    *,
};
use serde_json::{Value, json};
use wiremock::ResponseTemplate;

#[test]
fn the_spec_has_a_get_like_and_a_patch_like_operation() {
    assert!(
        OPERATIONS
            .iter()
            .any(|op| op.idempotent && op.method == "GET")
    );
    assert!(
        OPERATIONS
            .iter()
            .any(|op| !op.idempotent && op.method == "PATCH")
    );
    let ids: Vec<_> = OPERATIONS.iter().map(|op| op.id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
}

#[tokio::test]
async fn every_operation_sends_the_pipeline_headers_and_decodes_its_success() {
    let spec = spec();
    for op in OPERATIONS {
        let body = spec::success(&spec, op);
        let template = match &body {
            Some(body) => ResponseTemplate::new(200).set_body_json(body),
            None => ResponseTemplate::new(200),
        };
        let server = answering(template).await;
        let done = call(&client(&server.uri()), &spec, op)
            .send()
            .await
            .unwrap();
        assert_eq!(done.status, 200, "{}", op.id);
        assert_eq!(done.correlation_id, uuid(CORRELATION));
        assert_eq!(done.attempts, 1);
        // The typed decode, turned back into JSON, is what the server sent.
        assert_eq!(done.value, body.unwrap_or(Value::Null), "{}", op.id);

        let received = server.received_requests().await.unwrap();
        assert_eq!(received.len(), 1, "{}", op.id);
        let req = &received[0];
        assert_eq!(req.method.as_str(), op.method, "{}", op.id);
        assert_eq!(req.url.path(), path(op), "{}", op.id);
        let header = |name: &str| {
            req.headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        assert_eq!(
            header("authorization"),
            Some(format!("Bearer {TOKEN}")),
            "{}",
            op.id
        );
        assert_eq!(header("x-tenant").as_deref(), Some(TENANT), "{}", op.id);
        assert_eq!(
            header("x-correlation-id").as_deref(),
            Some(CORRELATION),
            "{}",
            op.id
        );
        assert_eq!(header("api-version"), None, "{}", op.id);
        for p in op
            .params
            .iter()
            .filter(|p| p.location == cockpit::ParamIn::Query)
        {
            assert!(
                req.url.query_pairs().any(|(k, _)| k == p.name),
                "{}: query parameter {} not sent",
                op.id,
                p.name
            );
        }
        if op.body.is_some() {
            let sent: Value = serde_json::from_slice(&req.body).unwrap();
            assert!(sent.is_object(), "{}: {sent}", op.id);
        }
        // A per-call tenant replaces the client's.
        call(&client(&server.uri()), &spec, op)
            .tenant("other.example")
            .send()
            .await
            .unwrap();
        let received = server.received_requests().await.unwrap();
        assert_eq!(
            received[1].headers.get("x-tenant").unwrap(),
            "other.example",
            "{}",
            op.id
        );
    }
}

#[tokio::test]
async fn every_operation_turns_a_404_into_not_found_with_the_api_error() {
    let spec = spec();
    for op in OPERATIONS {
        let server = answering(ResponseTemplate::new(404).set_body_json(json!({
            "statusCode": 404, "type": "NotFound", "description": "Nothing here.",
            "correlationId": CORRELATION, "errors": null
        })))
        .await;
        let err = call(&client(&server.uri()), &spec, op)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{}: {err}", op.id);
        assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
        assert_eq!(err.correlation_id(), Some(uuid(CORRELATION)));
        let api = err.api_error().expect("the error body decodes");
        assert_eq!(api.error_type.as_deref(), Some("NotFound"));
        assert_eq!(api.description.as_deref(), Some("Nothing here."));
        assert!(!format!("{err} {err:?}").contains(TOKEN), "{}", op.id);
        assert_eq!(err.attempts(), 1);
        assert!(!err.is_timeout() && !err.is_before_sending() && !err.is_rate_limited());
        // The server's correlation id is ours: the message does not repeat it.
        assert_eq!(
            err.to_string(),
            format!("not found (404): NotFound: Nothing here. (correlation id {CORRELATION})")
        );
        // Debug shows every field, structured, and no secret.
        assert_eq!(
            format!("{err:?}"),
            format!(
                "Error {{ kind: NotFound, status: 404, correlation_id: \"{CORRELATION}\", \
                 api: ApiError {{ status_code: Some(404), error_type: Some(\"NotFound\"), \
                 description: Some(\"Nothing here.\"), title: None, \
                 correlation_id: Some(\"{CORRELATION}\"), trace_id: None, \
                 errors: [] }}, body: {:?}, attempts: 1 }}",
                err.body().unwrap()
            )
        );
    }
}

#[tokio::test]
async fn a_500_is_sent_again_only_for_an_idempotent_operation() {
    let spec = spec();
    for op in OPERATIONS {
        let server = answering(ResponseTemplate::new(500)).await;
        let err = call(&retrying(&server.uri()), &spec, op)
            .send()
            .await
            .unwrap_err();
        let sent = server.received_requests().await.unwrap().len();
        assert_eq!(err.kind(), ErrorKind::Server, "{}", op.id);
        if op.idempotent {
            assert_eq!(sent, 3, "{}: retried up to the limit", op.id);
            assert_eq!(err.attempts(), 3);
        } else {
            assert_eq!(sent, 1, "{}: a 500 may have been processed", op.id);
            assert!(!err.is_retryable());
        }
        // Every attempt carries the same correlation id.
        for req in server.received_requests().await.unwrap() {
            assert_eq!(req.headers.get("x-correlation-id").unwrap(), CORRELATION);
        }
    }
}

#[tokio::test]
async fn a_dropped_connection_is_sent_again_only_for_an_idempotent_operation() {
    let spec = spec();
    for op in OPERATIONS {
        // The head arrives and the connection closes before the promised body.
        let (base, count) =
            raw_server(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"partial\":").await;
        let err = call(&retrying(&base), &spec, op).send().await.unwrap_err();
        let sent = count.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(err.kind(), ErrorKind::Connection, "{}: {err}", op.id);
        assert_eq!(sent, if op.idempotent { 3 } else { 1 }, "{}", op.id);
    }
}

#[tokio::test]
async fn a_503_is_sent_again_for_any_operation() {
    let spec = spec();
    for op in OPERATIONS {
        let server = answering(ResponseTemplate::new(503)).await;
        let err = call(&retrying(&server.uri()), &spec, op)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Server);
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            3,
            "{}",
            op.id
        );
    }
}

#[tokio::test]
async fn every_operation_reads_a_429_as_rate_limited_with_the_wait_it_asked_for() {
    let spec = spec();
    for op in OPERATIONS {
        let server = answering(ResponseTemplate::new(429).insert_header("retry-after", "7")).await;
        let err = call(&client(&server.uri()), &spec, op)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooManyRequests, "{}", op.id);
        assert!(err.is_rate_limited());
        assert!(err.is_retryable(), "a 429 was not processed");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(
            err.to_string(),
            format!(
                "too many requests (429): the server asked to wait 7 s (correlation id {CORRELATION})"
            )
        );
        // Whole seconds from one second up; under a second, milliseconds.
        let server = answering(ResponseTemplate::new(429).insert_header("retry-after", "1")).await;
        let err = call(&client(&server.uri()), &spec, op)
            .send()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("asked to wait 1 s "), "{err}");
        let past = "Thu, 01 Jan 2015 00:00:00 GMT";
        let server = answering(ResponseTemplate::new(429).insert_header("retry-after", past)).await;
        let err = call(&client(&server.uri()), &spec, op)
            .send()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("asked to wait 0 ms "), "{err}");
        // Without Retry-After, the message says nothing of a wait.
        let server = answering(ResponseTemplate::new(429)).await;
        let err = call(&client(&server.uri()), &spec, op)
            .send()
            .await
            .unwrap_err();
        assert!(err.is_rate_limited());
        assert_eq!(err.retry_after(), None);
        assert_eq!(
            err.to_string(),
            format!("too many requests (429) (correlation id {CORRELATION})")
        );
        // Other errors are not rate limits.
        let server = answering(ResponseTemplate::new(503)).await;
        let err = call(&client(&server.uri()), &spec, op)
            .send()
            .await
            .unwrap_err();
        assert!(!err.is_rate_limited());
    }
}

#[tokio::test]
async fn every_operation_says_when_an_error_body_is_unreadable_and_keeps_it() {
    let spec = spec();
    let unreadable = [
        ResponseTemplate::new(400).set_body_raw("upstream said no", "text/plain"),
        ResponseTemplate::new(400)
            .set_body_raw(r#"{"statusCode": 400, "type": "Bad"#, "application/json"),
        ResponseTemplate::new(500).set_body_raw("<html>oops</html>", "text/html"),
    ];
    for op in OPERATIONS {
        for template in unreadable.clone() {
            let server = answering(template).await;
            let err = call(&client(&server.uri()), &spec, op)
                .send()
                .await
                .unwrap_err();
            let status = err.status().unwrap().as_u16();
            let kind = if status == 400 {
                "bad request"
            } else {
                "server error"
            };
            assert_eq!(
                err.to_string(),
                format!(
                    "{kind} ({status}): the error body is not the documented JSON (see its body) \
                     (correlation id {CORRELATION})"
                ),
                "{}",
                op.id
            );
            assert!(err.api_error().is_none());
            // The body stays, as the server sent it.
            let body = err.body().unwrap();
            assert!(
                [
                    "upstream said no",
                    "{\"statusCode\": 400, \"type\": \"Bad",
                    "<html>oops</html>"
                ]
                .contains(&body),
                "{body}"
            );
        }
        // An error with no body at all says nothing of one.
        let server = answering(ResponseTemplate::new(403)).await;
        let err = call(&client(&server.uri()), &spec, op)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("forbidden (403) (correlation id {CORRELATION})")
        );
    }
}

/// Every documented success body, of every operation, is read with its known values
/// intact after each way a real service may differ from the spec: an unknown property at
/// each object level (kept, and given back), each property `null` or absent, each limited
/// string twice its limit, a byte-order mark, and integers written as `2.0`. The bodies
/// and their variations are made from the spec, so a new operation is covered with no new
/// test.
#[tokio::test]
async fn every_operation_reads_what_a_real_service_may_send() {
    let spec = spec();
    let mut checked = 0;
    for op in OPERATIONS {
        let (Some(schema), Some(body)) =
            (spec::success_schema(&spec, op), spec::success(&spec, op))
        else {
            continue;
        };
        // (what, the raw answer, what the decode must give back as JSON)
        let mut cases: Vec<(String, Vec<u8>, Value)> = Vec::new();
        for at in spec::objects(&body) {
            let mut sent = body.clone();
            sent.pointer_mut(&at)
                .and_then(Value::as_object_mut)
                .unwrap()
                .insert(
                    "unknownToTheSpec".into(),
                    json!({"nested": [1, "two", null]}),
                );
            cases.push((
                format!("an unknown property at {at:?}"),
                sent.to_string().into_bytes(),
                sent,
            ));
        }
        for (at, name) in spec::properties(&body) {
            let mut absent = body.clone();
            absent
                .pointer_mut(&at)
                .and_then(Value::as_object_mut)
                .unwrap()
                .remove(&name);
            let mut null = body.clone();
            null.pointer_mut(&at)
                .and_then(Value::as_object_mut)
                .unwrap()
                .insert(name.clone(), Value::Null);
            // An absent value and a `null` both read as none, which is not written back.
            cases.push((
                format!("{at}/{name} null"),
                null.to_string().into_bytes(),
                absent.clone(),
            ));
            cases.push((
                format!("{at}/{name} absent"),
                absent.to_string().into_bytes(),
                absent,
            ));
        }
        for (at, max) in spec::limited_strings(&spec, schema, &body) {
            let mut long = body.clone();
            *long.pointer_mut(&at).unwrap() = Value::String("é".repeat(2 * max));
            cases.push((
                format!("{at} of {} characters", 2 * max),
                long.to_string().into_bytes(),
                long,
            ));
        }
        let mut bom = "\u{feff}".as_bytes().to_vec();
        bom.extend(body.to_string().into_bytes());
        cases.push(("a byte-order mark".into(), bom, body.clone()));
        cases.push((
            "integral floats".into(),
            spec::integral_floats(&body).into_bytes(),
            body.clone(),
        ));
        if let Value::String(text) = &body {
            // A string answer may come as plain text (ASP.NET Core's default for one).
            cases.push((
                "a string as plain text".into(),
                text.clone().into_bytes(),
                body.clone(),
            ));
        } else {
            assert!(
                cases.len() > 4,
                "{}: the body has properties to vary",
                op.id
            );
        }
        for (what, raw, want) in cases {
            let server = answering(
                ResponseTemplate::new(200).set_body_raw(raw, "application/json; charset=utf-8"),
            )
            .await;
            let done = call(&client(&server.uri()), &spec, op)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{}: {what}: {e}", op.id));
            assert_eq!(done.value, want, "{}: {what}", op.id);
            checked += 1;
        }
    }
    assert!(checked > 20, "{checked} answers checked");
}
