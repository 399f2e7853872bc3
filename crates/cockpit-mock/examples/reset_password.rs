//! The main job, end to end: one reset-password call through the `cockpit` SDK.
//!
//! With no configuration it starts the embedded mock CloudCockpit on loopback, makes the
//! call against it, and prints what the server received (the token redacted) and the
//! outcome. Given `COCKPIT_BASE_URL`, `COCKPIT_TENANT`, credentials (`COCKPIT_TOKEN`, or
//! `COCKPIT_CLIENT_ID` and `COCKPIT_CLIENT_SECRET`) and the ids (`COCKPIT_CUSTOMER_ID`,
//! `COCKPIT_CUSTOMER_USER_ID`, `COCKPIT_PROVIDER_INSTANCE_ID`), the same command calls
//! that API instead.
//!
//! Run it with `cargo run -p cockpit-mock --example reset_password`.

use std::env;

use cockpit::{Client, ClientCredentials, SecretString, Uuid, types::CustomerUserInput};
use cockpit_mock::{MockCloudCockpit, Outcome};

fn var(name: &str) -> Result<String, String> {
    env::var(name).map_err(|_| format!("{name} is not set"))
}

fn id(name: &str) -> Result<Uuid, String> {
    Uuid::parse_str(&var(name)?).map_err(|e| format!("{name} is not a UUID: {e}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The spec's type: parsing a limited field checks its documented maxLength.
    let user = CustomerUserInput {
        id: None,
        display_name: Some("Ada Lovelace".parse()?),
        email: Some("ada@contoso.example".parse()?),
        first_name: Some("Ada".parse()?),
        last_name: Some("Lovelace".parse()?),
        location: Some("PT".into()),
        temporary_password: None,
        domain: Some("contoso.example".into()),
    };

    let (client, ids, mock) = match env::var("COCKPIT_BASE_URL") {
        Ok(base) => {
            println!("calling {base}");
            let builder = Client::builder()
                .base_url(base)
                .tenant(var("COCKPIT_TENANT")?);
            let builder = match env::var("COCKPIT_TOKEN") {
                Ok(token) => builder.bearer_token(SecretString::from(token)),
                Err(_) => builder.token_provider(ClientCredentials::new(
                    var("COCKPIT_CLIENT_ID")?,
                    SecretString::from(var("COCKPIT_CLIENT_SECRET")?),
                )),
            };
            let ids = (
                id("COCKPIT_CUSTOMER_ID")?,
                id("COCKPIT_CUSTOMER_USER_ID")?,
                id("COCKPIT_PROVIDER_INSTANCE_ID")?,
            );
            (builder.build()?, ids, None)
        }
        Err(_) => {
            let mock = MockCloudCockpit::start().await;
            mock.expect_reset_password()
                .times(1)
                .respond(Outcome::Ok)
                .await;
            println!("started the embedded mock CloudCockpit at {}", mock.uri());
            let ids = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
            (mock.client(), ids, Some(mock))
        }
    };

    let (customer_id, customer_user_id, provider_instance_id) = ids;
    let outcome = client
        .reset_customer_user_password()
        .customer_id(customer_id)
        .customer_user_id(customer_user_id)
        .provider_instance_id(provider_instance_id)
        .customer_user(user)
        .send()
        .await;

    if let Some(mock) = &mock {
        for received in mock.received_resets().await {
            println!("the server received:");
            println!(
                "  PATCH /v1/Customers/{}/users/{}/reset-password",
                received.param("customerId").unwrap_or_default(),
                received.param("customerUserId").unwrap_or_default()
            );
            println!(
                "  Authorization: {}",
                if received.has_bearer_token(MockCloudCockpit::TOKEN) {
                    "Bearer ** redacted **"
                } else {
                    "(missing or wrong)"
                }
            );
            println!(
                "  X-Tenant: {}",
                received.tenant.as_deref().unwrap_or("(missing)")
            );
            println!(
                "  X-Correlation-Id: {}",
                received.correlation_id.as_deref().unwrap_or("(missing)")
            );
            println!(
                "  Content-Type: {}",
                received.content_type.as_deref().unwrap_or("(missing)")
            );
            println!(
                "  {}",
                serde_json::to_string_pretty(&received.redacted_body())?.replace('\n', "\n  ")
            );
        }
    }
    match outcome {
        Ok(done) => {
            println!(
                "outcome: password reset (status {}, correlation id {}, {} attempt(s))",
                done.status.as_u16(),
                done.correlation_id,
                done.attempts
            );
            Ok(())
        }
        Err(e) => {
            println!("outcome: {e}");
            Err(e.into())
        }
    }
}
