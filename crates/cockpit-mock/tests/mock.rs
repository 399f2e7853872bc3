//! The mock answers each outcome as the API documents it and records what it received.

use cockpit::{ErrorKind, Uuid, types::CustomerUser};
use cockpit_mock::{ErrorBody, MockCloudCockpit, Outcome};

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
        .customer_user(CustomerUser {
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
