//! A user's program: looks up customer users by id, configured from the environment.
//!
//! `helpdesk CUSTOMER_ID USER_ID...` prints each user's display name, one a line.

use std::process::ExitCode;

use cockpit::{Client, Uuid};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("helpdesk: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let customer: Uuid = args
        .next()
        .ok_or("usage: helpdesk CUSTOMER_ID USER_ID...")?
        .parse()?;
    // The whole configuration, in one call; a bad secret fails here, once.
    let client = Client::builder_from_env().build()?;
    client.check_credentials().await?;
    for user in args {
        let found = client
            .get_customer_user()
            .customer_id(customer)
            .customer_user_id(user.parse::<Uuid>()?)
            .send()
            .await?;
        let name = found.value.display_name.map(|n| n.to_string());
        println!("{user}: {}", name.as_deref().unwrap_or("(no display name)"));
    }
    Ok(())
}
