//! The generated client against a local server: what it sends, and how it decodes each
//! documented response of reset-password.

use cockpit_generated::{Client, Error, types};

// The generated client is tested on its own, below the facade: these few helpers are its
// own rather than cockpit-test-support's, which depends on the facade.
const CUSTOMER: &str = "3f1c9a52-8a7e-4d7c-9a55-0c1e2b3d4f50";
const USER: &str = "b0e5f7a1-2c3d-4e5f-8a9b-0c1d2e3f4a5b";
const PROVIDER_INSTANCE: &str = "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d";
const CORRELATION: &str = "0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a";

/// A server on loopback that answers every request with `template`.
async fn answering(template: wiremock::ResponseTemplate) -> wiremock::MockServer {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(template)
        .mount(&server)
        .await;
    server
}
use serde_json::json;
use uuid::Uuid;
use wiremock::{MockServer, ResponseTemplate};

fn body() -> types::ResetPasswordRequest {
    types::ResetPasswordRequest::builder()
        .provider_instance_id(PROVIDER_INSTANCE.parse::<Uuid>().unwrap())
        .customer_user(
            types::CustomerUserInput::builder()
                .display_name(Some("Ada Lovelace".to_string().try_into().unwrap()))
                .email(Some("ada@contoso.example".to_string().try_into().unwrap()))
                .first_name(Some("Ada".to_string().try_into().unwrap()))
                .location(Some("PT".to_string()))
                .domain(Some("contoso.example".to_string())),
        )
        .try_into()
        .unwrap()
}

/// What the `cockpit` facade's transport does for every operation: add the token, the
/// tenant and the correlation id, which the generated client no longer takes as parameters.
#[derive(Debug)]
struct PipelineHeaders;

impl cockpit_generated::Transport for PipelineHeaders {
    fn on_request(&self, request: &mut reqwest::Request) {
        use reqwest::header::HeaderValue;
        let headers = request.headers_mut();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            HeaderValue::from_static("Bearer test-token"),
        );
        headers.insert(
            "x-tenant",
            HeaderValue::from_static("portal.cloudcockpit.com"),
        );
        headers.insert("x-correlation-id", HeaderValue::from_static(CORRELATION));
    }

    fn on_response(&self, response: reqwest::Response) -> cockpit_generated::Received<'_> {
        cockpit_generated::Received::Ready(response)
    }
}

/// The workspace builds reqwest without a bundled crypto provider (the `cockpit` facade
/// passes a ring-based TLS configuration instead), so `Client::new` needs a process-wide
/// default, as the crate docs say.
fn client(server: &MockServer) -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::new(&server.uri(), Some(std::sync::Arc::new(PipelineHeaders)))
}

async fn call(
    server: &MockServer,
) -> Result<progenitor_client::ResponseValue<()>, Error<types::ErrorResponse>> {
    client(server)
        .reset_customer_user_password()
        .customer_id(CUSTOMER.parse::<Uuid>().unwrap())
        .customer_user_id(USER.parse::<Uuid>().unwrap())
        .body(body())
        .send()
        .await
}

#[tokio::test]
async fn sends_the_documented_request() {
    let server = answering(ResponseTemplate::new(200)).await;
    let response = call(&server).await.expect("200 is success");
    assert_eq!(response.status(), 200);

    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    let req = &received[0];
    assert_eq!(req.method.as_str(), "PATCH");
    assert_eq!(
        req.url.path(),
        format!("/v1/Customers/{CUSTOMER}/users/{USER}/reset-password")
    );
    assert_eq!(req.url.query(), None);
    let header = |name: &str| {
        req.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(
        header("authorization").as_deref(),
        Some("Bearer test-token")
    );
    assert_eq!(
        header("x-tenant").as_deref(),
        Some("portal.cloudcockpit.com")
    );
    assert_eq!(header("x-correlation-id").as_deref(), Some(CORRELATION));
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    // progenitor adds `api-version` to every request; the API documents no such header.
    assert_eq!(header("api-version"), None);

    let sent: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        sent,
        json!({
            "providerInstanceId": PROVIDER_INSTANCE,
            "customerUser": {
                "displayName": "Ada Lovelace",
                "email": "ada@contoso.example",
                "firstName": "Ada",
                "location": "PT",
                "domain": "contoso.example"
            }
        })
    );
}

#[tokio::test]
async fn required_nullable_fields_are_sent_as_null() {
    let server = answering(ResponseTemplate::new(200)).await;
    let body: types::ResetPasswordRequest = types::ResetPasswordRequest::builder()
        .provider_instance_id(PROVIDER_INSTANCE.parse::<Uuid>().unwrap())
        .customer_user(
            types::CustomerUserInput::builder()
                .display_name(None)
                .email(None)
                .location(None)
                .domain(None),
        )
        .try_into()
        .unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Without a transport, the generated client alone.
    Client::new(&server.uri(), None)
        .reset_customer_user_password()
        .customer_id(CUSTOMER.parse::<Uuid>().unwrap())
        .customer_user_id(USER.parse::<Uuid>().unwrap())
        .body(body)
        .send()
        .await
        .unwrap();
    let received = server.received_requests().await.unwrap();
    let sent: serde_json::Value = serde_json::from_slice(&received[0].body).unwrap();
    assert_eq!(
        sent["customerUser"],
        json!({"displayName": null, "email": null, "location": null, "domain": null})
    );
    // The pipeline's headers are the transport's to add: the generated client sends none.
    for name in [
        "authorization",
        "x-tenant",
        "x-correlation-id",
        "api-version",
    ] {
        assert!(received[0].headers.get(name).is_none(), "{name}");
    }
}

#[tokio::test]
async fn decodes_each_documented_error_body() {
    for status in [400u16, 404, 500] {
        let error_body = json!({
            "statusCode": status,
            "type": "ValidationError",
            "description": "One or more validation errors occurred.",
            "correlationId": CORRELATION,
            "errors": [{"propertyName": "customerUser.email", "description": ["is required", "is too long"]}]
        });
        let server = answering(ResponseTemplate::new(status).set_body_json(error_body)).await;
        match call(&server).await {
            Err(Error::ErrorResponse(value)) => {
                assert_eq!(value.status(), status);
                assert_eq!(value.status_code, Some(i32::from(status)));
                assert_eq!(value.type_.as_deref(), Some("ValidationError"));
                assert_eq!(
                    value.description.as_deref(),
                    Some("One or more validation errors occurred.")
                );
                assert_eq!(value.correlation_id.as_deref(), Some(CORRELATION));
                let errors = value.errors.as_ref().unwrap();
                assert_eq!(errors.len(), 1);
                assert_eq!(
                    errors[0].property_name.as_deref(),
                    Some("customerUser.email")
                );
                assert_eq!(
                    errors[0].description.as_deref(),
                    Some(&["is required".to_string(), "is too long".to_string()][..])
                );
            }
            other => panic!("{status}: expected a typed error body, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn documented_bodiless_errors_keep_their_status() {
    for status in [401u16, 403] {
        let server = answering(ResponseTemplate::new(status)).await;
        match call(&server).await {
            Err(Error::UnexpectedResponse(response)) => assert_eq!(response.status(), status),
            other => panic!("{status}: expected UnexpectedResponse, got {other:?}"),
        }
    }
}

/// A transport that records what the generated code set before it, and the status of the
/// response it was handed.
#[derive(Debug, Default)]
struct Recording {
    headers: std::sync::Mutex<Vec<String>>,
    status: std::sync::Mutex<Option<u16>>,
}

impl cockpit_generated::Transport for Recording {
    fn on_request(&self, request: &mut reqwest::Request) {
        *self.headers.lock().unwrap() = request
            .headers()
            .keys()
            .map(|k| k.as_str().to_string())
            .collect();
    }

    fn on_response(&self, response: reqwest::Response) -> cockpit_generated::Received<'_> {
        *self.status.lock().unwrap() = Some(response.status().as_u16());
        cockpit_generated::Received::Ready(response)
    }
}

#[tokio::test]
async fn the_transport_sees_each_request_without_api_version_and_each_response() {
    let server = answering(ResponseTemplate::new(200)).await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let recording = std::sync::Arc::new(Recording::default());
    let client = Client::new_with_client(&server.uri(), http, Some(recording.clone()));
    client
        .reset_customer_user_password()
        .customer_id(CUSTOMER.parse::<Uuid>().unwrap())
        .customer_user_id(USER.parse::<Uuid>().unwrap())
        .body(body())
        .send()
        .await
        .unwrap();
    // The hook removed progenitor's `api-version` before the transport saw the request.
    assert_eq!(
        *recording.headers.lock().unwrap(),
        ["accept", "content-type"]
    );
    assert_eq!(*recording.status.lock().unwrap(), Some(200));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
