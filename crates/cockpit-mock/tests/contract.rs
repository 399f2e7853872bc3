//! The mock holds every request to the spec, as a strict server would: each case is sent
//! raw (the SDK would refuse most of them before sending), and the answer is the one the
//! pages document.

use std::time::Duration;

use cockpit::{ErrorKind, RetryPolicy, Uuid, operations, types};

use cockpit_mock::{MockCloudCockpit, Outcome};
use serde_json::{Value, json};

const CORRELATION: &str = "0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a";

/// Sends one raw HTTP/1.1 request to the mock, past the SDK's checks.
async fn send(
    mock: &MockCloudCockpit,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    cockpit_test_support::send_raw(&mock.uri(), method, path, headers, body).await
}

const AUTH: (&str, &str) = ("Authorization", "Bearer mock-token");
const TENANT: (&str, &str) = ("X-Tenant", "portal.cloudcockpit.com");
const ID: (&str, &str) = ("X-Correlation-Id", CORRELATION);
const JSON: (&str, &str) = ("Content-Type", "application/json");

fn user_path(customer: Uuid, user: Uuid) -> String {
    format!("/v1/Customers/{customer}/users/{user}")
}

fn named(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["propertyName"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn seeded() -> (MockCloudCockpit, Uuid, Uuid) {
    let mock = MockCloudCockpit::start().await;
    let customer = Uuid::new_v4();
    let user = mock.add_user(
        customer,
        serde_json::from_value(json!({"displayName": "Ada", "email": "ada@contoso.example",
            "location": "PT", "domain": "contoso.example"}))
        .unwrap(),
    );
    (mock, customer, user)
}

#[tokio::test]
async fn no_token_a_revoked_token_and_no_tenant_get_the_documented_answers() {
    let (mock, customer, user) = seeded().await;
    let path = user_path(customer, user);
    for auth in [None, Some("Bearer wrong"), Some("Basic bW9jazptb2Nr")] {
        let headers: Vec<(&str, &str)> = auth
            .map(|a| ("Authorization", a))
            .into_iter()
            .chain([TENANT])
            .collect();
        let (status, body) = send(&mock, "GET", &path, &headers, "").await;
        assert_eq!(
            (status, body),
            (401, Value::Null),
            "{auth:?}: 401 with no body"
        );
    }
    // A token the mock's endpoint issued is accepted until revoked.
    let client = mock
        .client_builder()
        .token_provider(mock.credentials())
        .build()
        .unwrap();
    let got = client
        .get_customer_user()
        .customer_id(customer)
        .customer_user_id(user)
        .send()
        .await
        .unwrap();
    assert_eq!(got.value.display_name.as_deref(), Some("Ada"));
    mock.revoke_issued_tokens();
    // The revoked token is refused (401); the SDK fetches another and replays once.
    let again = client
        .get_customer_user()
        .customer_id(customer)
        .customer_user_id(user)
        .send()
        .await
        .unwrap();
    assert_eq!(again.attempts, 2);
    assert_eq!(mock.token_requests(), 2);
    let refused = mock.received_all();
    assert_eq!(
        refused.len(),
        6,
        "3 raw, 1 call, 1 refused with the revoked token, 1 replay"
    );

    let (status, body) = send(&mock, "GET", &path, &[AUTH, ID], "").await;
    assert_eq!(status, 400);
    assert_eq!(named(&body), ["X-Tenant"]);
    assert_eq!(body["correlationId"], CORRELATION);
    assert_eq!(body["statusCode"], 400);

    // A tenant the mock was told to require.
    mock.require_tenant("other.example");
    let (status, body) = send(&mock, "GET", &path, &[AUTH, TENANT], "").await;
    assert_eq!((status, named(&body)), (400, vec!["X-Tenant".to_string()]));
}

#[tokio::test]
async fn parameters_are_checked_against_their_schemas() {
    let (mock, customer, _) = seeded().await;
    let list = format!("/v1/Customers/{customer}/users");
    for (query, property) in [
        ("providerInstanceId=abc", "providerInstanceId"),
        ("", "providerInstanceId"),
        (
            "providerInstanceId=5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d&pageNumber=3000000000",
            "pageNumber",
        ),
        (
            "providerInstanceId=5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d&pageSize=2001",
            "pageSize",
        ),
        (
            "providerInstanceId=5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d&sortPropertyName=Mail",
            "sortPropertyName",
        ),
        (
            "providerInstanceId=5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d&resellerId=r",
            "resellerId",
        ),
    ] {
        let (status, body) = send(
            &mock,
            "GET",
            &format!("{list}?{query}"),
            &[AUTH, TENANT, ID],
            "",
        )
        .await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(named(&body), [property], "{query}: {body}");
    }
    let (status, body) = send(
        &mock,
        "GET",
        &format!("/v1/Customers/not-a-uuid/users?providerInstanceId={CORRELATION}"),
        &[AUTH, TENANT],
        "",
    )
    .await;
    assert_eq!(
        (status, named(&body)),
        (400, vec!["customerId".to_string()])
    );
    let (status, body) = send(
        &mock,
        "GET",
        &format!("{list}?providerInstanceId={CORRELATION}"),
        &[AUTH, TENANT, ("X-Correlation-Id", "n")],
        "",
    )
    .await;
    assert_eq!(
        (status, named(&body)),
        (400, vec!["X-Correlation-Id".to_string()])
    );
    // An undeclared method on a known path.
    let (status, _) = send(&mock, "DELETE", &list, &[AUTH, TENANT], "").await;
    assert_eq!(status, 405);
    // A valid list answers, with no continuationToken (see the README).
    let (status, body) = send(
        &mock,
        "GET",
        &format!("{list}?providerInstanceId={CORRELATION}&pageNumber=0"),
        &[AUTH, TENANT],
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["items"], json!([]));
    assert!(body.get("continuationToken").is_none());
}

#[tokio::test]
async fn bodies_are_checked_and_nothing_invalid_is_stored() {
    let (mock, customer, user) = seeded().await;
    let path = format!("{}/reset-password", user_path(customer, user));
    let valid = json!({"providerInstanceId": CORRELATION, "customerUser": {
        "displayName": "Ada", "email": null, "location": "PT", "domain": null}});
    let mut long = valid.clone();
    long["customerUser"]["displayName"] = json!("x".repeat(51));
    let mut extra = valid.clone();
    extra["customerUser"]["userPrincipalName"] = json!("ada@contoso.example");
    let mut missing = valid.clone();
    missing["customerUser"]
        .as_object_mut()
        .unwrap()
        .remove("domain");
    let mut wrong_type = valid.clone();
    wrong_type["customerUser"]["location"] = json!(1.5);
    for (body, property) in [
        (long.to_string(), "customerUser.displayName"),
        (extra.to_string(), "customerUser.userPrincipalName"),
        (missing.to_string(), "customerUser.domain"),
        (wrong_type.to_string(), "customerUser.location"),
        ("{}".to_string(), "customerUser"),
        ("".to_string(), "body"),
        ("\u{1}\u{2}not json".to_string(), "body"),
    ] {
        let (status, answer) = send(&mock, "PATCH", &path, &[AUTH, TENANT, ID, JSON], &body).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            named(&answer).contains(&property.to_string()),
            "{property}: {answer}"
        );
        assert_eq!(answer["correlationId"], CORRELATION);
    }
    let (status, answer) = send(
        &mock,
        "PATCH",
        &path,
        &[AUTH, TENANT, ("Content-Type", "text/plain")],
        &valid.to_string(),
    )
    .await;
    assert_eq!((status, named(&answer)), (400, vec!["body".to_string()]));
    let (status, _) = send(
        &mock,
        "PATCH",
        &path,
        &[AUTH, TENANT, ID, JSON],
        &valid.to_string(),
    )
    .await;
    assert_eq!(status, 200);

    // An update that breaks the schema is refused and not stored.
    let update = user_path(customer, user);
    let bad = json!({"customerUser": {"displayName": "A", "email": null, "location": null,
        "domain": null, "firstName": [null]}, "providerInstanceId": 0});
    let (status, _) = send(
        &mock,
        "PATCH",
        &update,
        &[AUTH, TENANT, JSON],
        &bad.to_string(),
    )
    .await;
    assert_eq!(status, 400);
    let stored = mock.user(customer, user).unwrap();
    assert_eq!(stored.display_name.as_deref(), Some("Ada"));
    assert_eq!(stored.first_name, None);
}

#[tokio::test]
async fn a_503_once_then_200_through_the_sdk_retries_in_order() {
    let (mock, customer, user) = seeded().await;
    mock.expect(&operations::GET_CUSTOMER_USER)
        .customer_user_id(user)
        .up_to_n_times(1)
        .respond(Outcome::Status(503))
        .await;
    let client = mock
        .client_builder()
        .retry_policy(
            RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    let got = client
        .get_customer_user()
        .customer_id(customer)
        .customer_user_id(user)
        .send()
        .await
        .unwrap();
    assert_eq!(got.attempts, 2);
    assert_eq!(
        got.value.display_name.as_deref(),
        Some("Ada"),
        "the second answer is the state's"
    );
    let arrivals = mock.received_all();
    assert_eq!(arrivals.len(), 2);
    assert!(arrivals[0].at <= arrivals[1].at);
    assert!(
        arrivals
            .iter()
            .all(|a| a.request.operation == "getCustomerUser")
    );

    // Matching on a request header.
    mock.expect(&operations::GET_CUSTOMER_USER)
        .when_header("x-correlation-id", CORRELATION)
        .respond(Outcome::Status(404))
        .await;
    let err = client
        .get_customer_user()
        .customer_id(customer)
        .customer_user_id(user)
        .correlation_id(CORRELATION.parse().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let other = client
        .get_customer_user()
        .customer_id(customer)
        .customer_user_id(user)
        .send()
        .await;
    assert!(other.is_ok(), "another correlation id does not match");
}

#[tokio::test]
async fn realistic_answers_read_through_the_sdk() {
    let (mock, customer, user) = seeded().await;
    mock.realistic();
    let long = mock.add_user(
        customer,
        serde_json::from_value(json!({"displayName": "d".repeat(64)})).unwrap(),
    );
    let client = mock.client();
    let got = client
        .get_customer_user()
        .customer_id(customer)
        .customer_user_id(user)
        .send()
        .await
        .unwrap();
    assert_eq!(got.value.extra["userPrincipalName"], "ada@contoso.example");
    let users: Vec<types::CustomerUser> = futures::TryStreamExt::try_collect(
        client
            .list_customer_users()
            .customer_id(customer)
            .provider_instance_id(Uuid::new_v4())
            .items(),
    )
    .await
    .unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[1].id, Some(long));
    assert_eq!(users[1].display_name.as_deref().map(str::len), Some(64));
    // A request that breaks the contract gets problem details, read into the same error.
    let (status, body) = send(
        &mock,
        "GET",
        &format!("/v1/Customers/{customer}/users"),
        &[AUTH, TENANT],
        "",
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["title"], "One or more validation errors occurred.");
    assert!(body["errors"]["providerInstanceId"].is_array(), "{body}");
}

#[test]
#[should_panic(expected = "add_user: the user breaks the spec's CustomerUser")]
fn the_strict_mock_refuses_to_store_a_user_the_spec_forbids() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mock = MockCloudCockpit::start().await;
        mock.add_user(
            Uuid::new_v4(),
            serde_json::from_value(json!({"displayName": "d".repeat(64)})).unwrap(),
        );
    });
}
