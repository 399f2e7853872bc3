//! The mock answers each outcome as the API documents it and records what it received.

use std::time::Duration;

use cockpit::{ErrorKind, SecretString, Uuid, types::CustomerUserInput};
use cockpit_mock::{ErrorBody, MockCloudCockpit, Outcome, Seed, TokenOutcome};

async fn reset(
    mock: &MockCloudCockpit,
    customer: Uuid,
    user: Uuid,
) -> cockpit::Result<cockpit::Response<()>> {
    mock.client()
        .reset_customer_user_password()
        .customer_id(customer)
        .customer_user_id(user)
        .provider_instance_id(Uuid::nil())
        .customer_user(CustomerUserInput {
            display_name: Some("Ada".parse().unwrap()),
            temporary_password: Some("Temp-Pa55!".into()),
            email: None,
            location: None,
            domain: None,
            id: None,
            first_name: None,
            last_name: None,
        })
        .send()
        .await
}

#[tokio::test]
async fn records_what_it_received_and_matches_on_ids() {
    let mock = MockCloudCockpit::start().await;
    let (customer, user) = (Uuid::new_v4(), Uuid::new_v4());
    mock.expect_reset_password()
        .customer_id(customer)
        .customer_user_id(user)
        .times(1)
        .respond(Outcome::Ok)
        .await;

    let done = reset(&mock, customer, user).await.unwrap();
    // Another customer matches no expectation: wiremock answers 404.
    let other = reset(&mock, Uuid::new_v4(), user).await.unwrap_err();
    assert_eq!(other.kind(), ErrorKind::NotFound);

    let received = mock.received_resets().await;
    assert_eq!(received.len(), 2);
    let first = &received[0];
    assert_eq!(first.operation, "resetCustomerUserPassword");
    assert_eq!(
        first.param("customerId"),
        Some(customer.to_string().as_str())
    );
    assert_eq!(
        first.param("customerUserId"),
        Some(user.to_string().as_str())
    );
    assert_eq!(first.tenant.as_deref(), Some(MockCloudCockpit::TENANT));
    assert_eq!(first.correlation_id, Some(done.correlation_id.to_string()));
    assert_eq!(first.content_type.as_deref(), Some("application/json"));
    assert!(first.has_bearer_token(MockCloudCockpit::TOKEN));
    assert!(!first.has_bearer_token("another"));
    assert_eq!(first.body["customerUser"]["displayName"], "Ada");
    assert_eq!(
        first.body["customerUser"]["temporaryPassword"],
        "Temp-Pa55!"
    );
    assert_eq!(
        first.redacted_body()["customerUser"]["temporaryPassword"],
        "** redacted **"
    );
    let debug = format!("{first:?}");
    assert!(
        !debug.contains(MockCloudCockpit::TOKEN) && !debug.contains("Temp-Pa55!"),
        "{debug}"
    );
}

#[tokio::test]
async fn answers_every_documented_outcome() {
    let body = ErrorBody {
        error_type: Some("ValidationError".into()),
        description: Some("Bad things".into()),
        errors: vec![("customerUser.email".into(), vec!["is required".into()])],
    };
    let cases = [
        (
            Outcome::BadRequest(body.clone()),
            ErrorKind::BadRequest,
            400,
            true,
        ),
        (Outcome::Unauthorized, ErrorKind::Unauthorized, 401, false),
        (Outcome::Forbidden, ErrorKind::Forbidden, 403, false),
        (
            Outcome::NotFound(body.clone()),
            ErrorKind::NotFound,
            404,
            true,
        ),
        (
            Outcome::ServerError(body.clone()),
            ErrorKind::Server,
            500,
            true,
        ),
        (
            Outcome::Raw {
                status: 502,
                body: "<html/>".into(),
                content_type: "text/html".into(),
            },
            ErrorKind::Server,
            502,
            false,
        ),
    ];
    for (outcome, kind, status, has_body) in cases {
        let mock = MockCloudCockpit::start().await;
        mock.expect_reset_password().respond(outcome).await;
        let err = reset(&mock, Uuid::new_v4(), Uuid::new_v4())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind);
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        match err.api_error() {
            Some(api) => {
                assert!(has_body, "{status}");
                assert_eq!(api.status_code, Some(i32::from(status)));
                assert_eq!(api.error_type.as_deref(), Some("ValidationError"));
                assert_eq!(
                    api.errors[0].property_name.as_deref(),
                    Some("customerUser.email")
                );
                // The mock echoes the request's correlation id, as the API does.
                assert_eq!(
                    err.server_correlation_id(),
                    err.correlation_id().map(|i| i.to_string()).as_deref()
                );
            }
            None => assert!(!has_body, "{status}"),
        }
    }
}

fn reset_body() -> cockpit::types::CustomerUserInput {
    CustomerUserInput {
        display_name: Some("Ada".parse().unwrap()),
        temporary_password: Some("Temp-Pa55!".into()),
        email: None,
        location: None,
        domain: None,
        id: None,
        first_name: None,
        last_name: None,
    }
}

async fn reset_with(client: &cockpit::Client) -> cockpit::Result<cockpit::Response<()>> {
    client
        .reset_customer_user_password()
        .customer_id(Uuid::new_v4())
        .customer_user_id(Uuid::new_v4())
        .provider_instance_id(Uuid::nil())
        .customer_user(reset_body())
        .send()
        .await
}

#[tokio::test]
async fn client_credentials_end_to_end_against_the_token_endpoint() {
    let mock = MockCloudCockpit::start().await;
    mock.expect_reset_password().respond(Outcome::Ok).await;
    let client = mock
        .client_builder()
        .token_provider(mock.credentials())
        .build()
        .unwrap();
    client.check_credentials().await.unwrap();
    assert_eq!(mock.token_requests(), 1);
    reset_with(&client).await.unwrap();
    reset_with(&client).await.unwrap();
    assert_eq!(mock.token_requests(), 1, "cached for its hour");
    let sent = mock.received_resets().await;
    assert!(sent.iter().all(|r| r.has_bearer_token("mock-issued-1")));

    // A revoked token: the API answers 401, the client fetches a new one and replays.
    mock.revoke_issued_tokens();
    let done = reset_with(&client).await.unwrap();
    assert_eq!(done.attempts, 2);
    assert_eq!(mock.token_requests(), 2);
    let sent = mock.received_resets().await;
    assert!(sent[2].has_bearer_token("mock-issued-1"));
    assert!(sent[3].has_bearer_token("mock-issued-2"));

    // Wrong credentials are refused as Entra refuses them.
    let wrong = mock
        .client_builder()
        .token_provider(
            cockpit::ClientCredentials::new("someone", SecretString::from("wrong"))
                .token_url(mock.token_url()),
        )
        .build()
        .unwrap();
    let err = wrong.check_credentials().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert_eq!(err.oauth_error().unwrap().error, "invalid_client");
    assert_eq!(err.correlation_id(), None, "no call was made");
}

#[tokio::test]
async fn the_token_endpoint_can_refuse_fail_and_issue_short_lived_tokens() {
    let mock = MockCloudCockpit::start().await;
    mock.expect_reset_password().respond(Outcome::Ok).await;
    let client = || {
        mock.client_builder()
            .token_provider(mock.credentials())
            .build()
            .unwrap()
    };
    mock.tokens(TokenOutcome::Refuse {
        error: "unauthorized_client".into(),
        description: "AADSTS700016: Application not found.".into(),
    });
    let err = reset_with(&client()).await.unwrap_err();
    assert_eq!(err.oauth_error().unwrap().error, "unauthorized_client");
    assert_eq!(err.token_endpoint_status().map(|s| s.as_u16()), Some(400));

    mock.tokens(TokenOutcome::Fail { status: 503 });
    let err = reset_with(&client()).await.unwrap_err();
    assert!(
        err.to_string().contains("the token endpoint failed"),
        "{err}"
    );
    assert_eq!(err.token_endpoint_status().map(|s| s.as_u16()), Some(503));
    assert!(mock.received_resets().await.is_empty());

    // Thirty seconds is inside the client's refresh margin: every call fetches anew.
    mock.tokens(TokenOutcome::Issue {
        lifetime: Duration::from_secs(30),
    });
    let before = mock.token_requests();
    let short = client();
    reset_with(&short).await.unwrap();
    reset_with(&short).await.unwrap();
    assert_eq!(mock.token_requests() - before, 2);
}

#[tokio::test]
async fn expectations_can_delay_add_headers_and_answer_with_no_body() {
    let mock = MockCloudCockpit::start().await;
    let customer = Uuid::new_v4();
    mock.expect_reset_password()
        .customer_id(customer)
        .header("Retry-After", "3")
        .respond(Outcome::Status(429))
        .await;
    mock.expect_reset_password()
        .delay(Duration::from_millis(400))
        .respond(Outcome::Ok)
        .await;
    let err = reset(&mock, customer, Uuid::new_v4()).await.unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(err.body(), Some(""));

    let impatient = mock
        .client_builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let err = reset_with(&impatient).await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
}

#[tokio::test]
async fn a_received_body_decodes_as_the_spec_type() {
    let mock = MockCloudCockpit::start().await;
    mock.expect_reset_password().respond(Outcome::Ok).await;
    let provider_instance = Uuid::new_v4();
    mock.client()
        .reset_customer_user_password()
        .customer_id(Uuid::new_v4())
        .customer_user_id(Uuid::new_v4())
        .provider_instance_id(provider_instance)
        .customer_user(reset_body())
        .send()
        .await
        .unwrap();
    let sent: cockpit::types::ResetPasswordRequest =
        mock.received_resets().await[0].body_as().unwrap();
    assert_eq!(sent.provider_instance_id, provider_instance);
    assert_eq!(sent.customer_user.display_name.unwrap().as_str(), "Ada");
    // The typed body keeps the secret out of Debug.
    let debug = format!("{:?}", sent.customer_user.temporary_password);
    assert!(!debug.contains("Temp-Pa55!"), "{debug}");
}

#[tokio::test]
async fn a_seed_answers_as_its_json_says_and_a_bad_one_is_refused() {
    let customer = Uuid::new_v4();
    let user = Uuid::new_v4();
    let seed = Seed::from_json(
        &serde_json::json!({
            "expectations": [
                {"operation": "getCustomerUser", "params": {"customerId": customer},
                 "body": {"id": user, "displayName": "Ada", "email": null, "location": "PT", "domain": "contoso.example"}},
                {"operation": "getCustomerUser", "status": 404,
                 "body": {"statusCode": 404, "type": "NotFound", "description": "No such user."}}
            ],
            "tokenLifetimeSecs": 120
        })
        .to_string(),
    )
    .unwrap();
    assert_eq!(seed.len(), 2);
    let mock = MockCloudCockpit::start().await;
    mock.seed(&seed).await;
    let found = mock
        .client()
        .get_customer_user()
        .customer_id(customer)
        .customer_user_id(user)
        .send()
        .await
        .unwrap();
    assert_eq!(found.value.id, Some(user));
    assert_eq!(found.value.display_name.unwrap().as_str(), "Ada");
    let err = mock
        .client()
        .get_customer_user()
        .customer_id(Uuid::new_v4())
        .customer_user_id(user)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        err.api_error().unwrap().description.as_deref(),
        Some("No such user.")
    );

    for (bad, expected) in [
        (
            r#"{"expectations": [{"operation": "nope"}]}"#,
            "expectations[0]: no operation \"nope\" in the spec (it has ",
        ),
        (
            r#"{"expectations": [{"operation": "getCustomerUser", "params": {"userId": 1}}]}"#,
            "expectations[0]: getCustomerUser has no path or query parameter \"userId\"",
        ),
        (
            r#"{"expectation": []}"#,
            "not a seed: unknown field `expectation`",
        ),
    ] {
        let err = Seed::from_json(bad).unwrap_err().to_string();
        assert!(err.starts_with(expected), "{err}");
    }
}
