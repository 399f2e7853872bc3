//! A helpdesk's workflow, end to end against the embedded mock with no network: list a
//! customer's users, pick one by name, and reset its password with the details the API
//! holds for it (as `cockpit reset-password --fetch-user` does).
//!
//! Run it with `cargo run -p cockpit-mock --example helpdesk`.

use cockpit::{Uuid, types::CustomerUser};
use cockpit_mock::MockCloudCockpit;
use futures::TryStreamExt;

fn user(name: &str, email: &str) -> Result<CustomerUser, Box<dyn std::error::Error>> {
    // What the API holds, as an answer reads it: a response type is made with its builder.
    Ok(CustomerUser::builder()
        .display_name(Some(name.to_string()))
        .email(Some(email.to_string()))
        .location(Some("PT".to_string()))
        .domain(Some("contoso.example".to_string()))
        .try_into()?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockCloudCockpit::start().await;
    let (customer, provider_instance) = (Uuid::new_v4(), Uuid::new_v4());
    for (name, email) in [
        ("Grace Hopper", "grace@contoso.example"),
        ("Ada Lovelace", "ada@contoso.example"),
        ("Alan Turing", "alan@contoso.example"),
    ] {
        mock.add_user(customer, user(name, email)?);
    }
    // Client credentials, through the mock's token endpoint.
    let client = mock
        .client_builder()
        .token_provider(mock.credentials())
        .build()?;
    client.check_credentials().await?;

    // 1. List the customer's users, a page of two at a time.
    let users: Vec<CustomerUser> = client
        .list_customer_users()
        .customer_id(customer)
        .provider_instance_id(provider_instance)
        .page_size(2)
        .items()
        .try_collect()
        .await?;
    println!("1. {} users:", users.len());
    for u in &users {
        println!("   {:?}", u.display_name.as_deref());
    }

    // 2. Pick one by name.
    let picked = users
        .iter()
        .find(|u| {
            u.display_name
                .as_ref()
                .is_some_and(|n| n.as_str() == "Ada Lovelace")
        })
        .and_then(|u| u.id)
        .ok_or("no Ada Lovelace")?;
    println!("2. picked {picked}");

    // 3. Get its details and reset its password with them.
    let details = client
        .get_customer_user()
        .customer_id(customer)
        .customer_user_id(picked)
        .provider_instance_id(provider_instance)
        .send()
        .await?
        .value;
    let done = client
        .reset_customer_user_password()
        .customer_id(customer)
        .customer_user_id(picked)
        .provider_instance_id(provider_instance)
        .customer_user(details)
        .send()
        .await?;
    println!(
        "3. password reset (status {}, correlation id {})",
        done.status.as_u16(),
        done.correlation_id
    );
    let sent = &mock.received_resets().await[0];
    println!(
        "   the server received: {}",
        serde_json::to_string(&sent.redacted_body())?
    );
    println!("   token requests: {}", mock.token_requests());
    Ok(())
}
