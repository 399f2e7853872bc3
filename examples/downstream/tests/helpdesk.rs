//! What a downstream crate's tests look like: the mock in-process with client
//! credentials, and the program itself against the standalone mock.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use cockpit::{ErrorKind, Uuid, operations};
use cockpit_mock::{MockCloudCockpit, Outcome, TokenOutcome};

#[tokio::test]
async fn client_credentials_end_to_end_against_the_mock_token_endpoint() {
    let mock = MockCloudCockpit::start().await;
    mock.expect(&operations::GET_CUSTOMER_USER)
        .respond(Outcome::Json(serde_json::json!({"displayName": "Ada", "email": null, "location": null, "domain": null})))
        .await;
    let client = mock
        .client_builder()
        .token_provider(mock.credentials())
        .build()
        .unwrap();
    let found = client
        .get_customer_user()
        .customer_id(Uuid::new_v4())
        .customer_user_id(Uuid::new_v4())
        .send()
        .await
        .unwrap();
    assert_eq!(found.value.display_name.unwrap().as_str(), "Ada");
    assert_eq!(mock.token_requests(), 1);
    let sent = mock.received(&operations::GET_CUSTOMER_USER).await;
    assert!(sent[0].has_bearer_token("mock-issued-1"));

    mock.tokens(TokenOutcome::Refuse {
        error: "invalid_client".into(),
        description: "AADSTS7000215: Invalid client secret provided.".into(),
    });
    mock.revoke_issued_tokens();
    let err = client
        .get_customer_user()
        .customer_id(Uuid::new_v4())
        .customer_user_id(Uuid::new_v4())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication);
}

/// The standalone mock, from `COCKPIT_MOCK_BIN` (`cargo xtask downstream` builds it and
/// sets it), and this crate's own binary configured from the environment it prints.
#[test]
fn the_program_runs_against_the_standalone_mock() {
    let bin = std::env::var("COCKPIT_MOCK_BIN")
        .expect("COCKPIT_MOCK_BIN: run these tests with `cargo xtask downstream`");
    let (customer, user) = (Uuid::new_v4(), Uuid::new_v4());
    let seed = std::env::temp_dir().join(format!("helpdesk-seed-{}.json", std::process::id()));
    std::fs::write(
        &seed,
        serde_json::json!({"expectations": [{
            "operation": "getCustomerUser",
            "params": {"customerId": customer, "customerUserId": user},
            "body": {"displayName": "Ada Lovelace", "email": null, "location": "PT", "domain": null}
        }]})
        .to_string(),
    )
    .unwrap();
    let mut server = Command::new(bin)
        .arg("--seed")
        .arg(&seed)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines: Vec<String> = BufReader::new(server.stdout.take().unwrap())
        .lines()
        .take(8)
        .map(Result::unwrap)
        .collect();
    // Client credentials: every variable the mock printed but the static token.
    let env: Vec<(String, String)> = lines
        .iter()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| *k != "COCKPIT_TOKEN")
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let output = Command::new(env!("CARGO_BIN_EXE_helpdesk"))
        .env_clear()
        .envs(env)
        .args([customer.to_string(), user.to_string()])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_file(seed);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{user}: Ada Lovelace\n")
    );
}
