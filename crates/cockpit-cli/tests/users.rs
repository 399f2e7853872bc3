//! `cockpit users list|get|update`, `cockpit licenses list` and `reset-password
//! --fetch-user|--dry-run`, against the stateful mock.

use std::process::Stdio;

use cockpit::{Uuid, operations, types};
use cockpit_mock::MockCloudCockpit;
use cockpit_test_support::{PROVIDER_INSTANCE, TENANT, cli, cli_env, stored_user};
use serde_json::Value;

async fn cockpit(mock: &MockCloudCockpit, args: &[&str], env: &[(&str, &str)]) -> cli::Run {
    let mut vars = cli_env(&mock.uri());
    vars.extend(env.iter().map(|(k, v)| (*k, v.to_string())));
    cli::run(
        env!("CARGO_BIN_EXE_cockpit"),
        args,
        vars,
        "",
        Stdio::piped(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn users_list_streams_json_lines_over_every_page_and_prints_a_table() {
    let mock = cockpit_test_support::mock().await;
    let customer = Uuid::new_v4();
    let ids: Vec<Uuid> = (0..5)
        .map(|n| mock.add_user(customer, stored_user(n)))
        .collect();
    let c = customer.to_string();
    let base = [
        "users",
        "list",
        "--customer-id",
        &c,
        "--provider-instance-id",
        PROVIDER_INSTANCE,
    ];

    let run = cockpit(
        &mock,
        &[&base[..], &["--all", "--json", "--page-size", "2"]].concat(),
        &[],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    for (line, id) in lines.iter().zip(&ids) {
        assert_eq!(line["id"], id.to_string());
        assert!(line["displayName"].as_str().unwrap().starts_with("User "));
    }
    let sent = mock.received(&operations::LIST_CUSTOMER_USERS).await;
    assert_eq!(sent.len(), 3, "three pages of two");
    for (n, req) in sent.iter().enumerate() {
        assert_eq!(req.param("pageNumber"), Some((n + 1).to_string().as_str()));
        assert_eq!(req.param("pageSize"), Some("2"));
        assert_eq!(req.param("providerInstanceId"), Some(PROVIDER_INSTANCE));
        assert_eq!(req.tenant.as_deref(), Some(TENANT));
    }

    // Without --all, one page; without --json, a table, sorted as asked.
    let run = cockpit(
        &mock,
        &[&base[..], &["--page-size", "3", "--sort", "display-name"]].concat(),
        &[],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("displayName"), "{}", run.stdout);
    assert!(
        run.stdout.contains("User 2") && !run.stdout.contains("User 3"),
        "{}",
        run.stdout
    );
    let last = mock.received(&operations::LIST_CUSTOMER_USERS).await;
    assert_eq!(last.len(), 4);
    assert_eq!(last[3].param("sortPropertyName"), Some("DisplayName"));
}

#[tokio::test(flavor = "multi_thread")]
async fn users_get_update_and_licenses_list() {
    let mock = cockpit_test_support::mock().await;
    let customer = Uuid::new_v4();
    let id = mock.add_user(customer, stored_user(1));
    mock.add_license(
        customer,
        serde_json::from_value(serde_json::json!({"skuId": "sku-e3", "name": "Microsoft 365 E3", "totalLicenses": 10, "consumedLicenses": 7})).unwrap(),
    );
    let (c, u) = (customer.to_string(), id.to_string());

    let run = cockpit(
        &mock,
        &[
            "users",
            "get",
            "--customer-id",
            &c,
            "--user-id",
            &u,
            "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let got: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(got["displayName"], "User 1");

    let update = [
        "users",
        "update",
        "--customer-id",
        &c,
        "--user-id",
        &u,
        "--provider-instance-id",
        PROVIDER_INSTANCE,
    ];
    let run = cockpit(
        &mock,
        &[&update[..], &["--location", "FR", "--first-name", "Ada"]].concat(),
        &[],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout
            .starts_with(&format!("updated customer user {u}")),
        "{}",
        run.stdout
    );
    let stored = mock.user(customer, id).unwrap();
    assert_eq!(stored.location.as_deref(), Some("FR"));
    assert_eq!(stored.first_name.unwrap().as_str(), "Ada");
    assert_eq!(
        stored.display_name.unwrap().as_str(),
        "User 1",
        "kept from the fetched user"
    );
    let patch = &mock.received(&operations::UPDATE_CUSTOMER_USER).await[0];
    assert_eq!(patch.body["providerInstanceId"], PROVIDER_INSTANCE);
    assert_eq!(patch.body["customerUser"]["email"], "user1@contoso.example");

    // A field over its limit: exit 2, and no update sent.
    let long = "x".repeat(51);
    let run = cockpit(
        &mock,
        &[&update[..], &["--display-name", &long]].concat(),
        &[],
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("customerUser.displayName: longer than 50 characters"),
        "{}",
        run.stderr
    );
    assert_eq!(
        mock.received(&operations::UPDATE_CUSTOMER_USER).await.len(),
        1
    );

    let run = cockpit(
        &mock,
        &[
            "licenses",
            "list",
            "--customer-id",
            &c,
            "--provider-instance-id",
            PROVIDER_INSTANCE,
            "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let license: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(license["name"], "Microsoft 365 E3");
    assert_eq!(license["consumedLicenses"], 7);
    let run = cockpit(
        &mock,
        &[
            "licenses",
            "list",
            "--customer-id",
            &c,
            "--provider-instance-id",
            PROVIDER_INSTANCE,
        ],
        &[],
    )
    .await;
    assert!(
        run.stdout.contains("Microsoft 365 E3") && run.stdout.contains("consumed"),
        "{}",
        run.stdout
    );

    // An unknown user: exit 4.
    let other = Uuid::new_v4().to_string();
    let run = cockpit(
        &mock,
        &["users", "get", "--customer-id", &c, "--user-id", &other],
        &[],
    )
    .await;
    assert_eq!(run.code, Some(4), "{}", run.stderr);
    assert!(
        run.stderr.contains("The customer user was not found."),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reset_password_fetches_the_user_and_dry_run_sends_nothing() {
    let mock = cockpit_test_support::mock().await;
    let customer = Uuid::new_v4();
    let id = mock.add_user(customer, stored_user(7));
    let (c, u) = (customer.to_string(), id.to_string());
    let reset = [
        "reset-password",
        "--customer-id",
        &c,
        "--user-id",
        &u,
        "--provider-instance-id",
        PROVIDER_INSTANCE,
        "--fetch-user",
    ];
    let env = [("COCKPIT_TEMP_PW", "Temp-Pa55!")];

    let run = cockpit(
        &mock,
        &[
            &reset[..],
            &[
                "--email",
                "seven@contoso.example",
                "--temporary-password-env",
                "COCKPIT_TEMP_PW",
                "--dry-run",
            ],
        ]
        .concat(),
        &env,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let body: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(body["providerInstanceId"], PROVIDER_INSTANCE);
    assert_eq!(body["customerUser"]["displayName"], "User 7");
    assert_eq!(body["customerUser"]["email"], "seven@contoso.example");
    assert_eq!(body["customerUser"]["temporaryPassword"], "** redacted **");
    assert!(!run.stdout.contains("Temp-Pa55!"));
    assert!(
        mock.received_resets().await.is_empty(),
        "a dry run sends no reset"
    );
    assert_eq!(mock.received(&operations::GET_CUSTOMER_USER).await.len(), 1);

    let run = cockpit(
        &mock,
        &[
            &reset[..],
            &[
                "--email",
                "seven@contoso.example",
                "--temporary-password-env",
                "COCKPIT_TEMP_PW",
            ],
        ]
        .concat(),
        &env,
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let sent = mock.received_resets().await;
    assert_eq!(sent.len(), 1);
    let body: types::ResetPasswordRequest = sent[0].body_as().unwrap();
    assert_eq!(body.customer_user.display_name.unwrap().as_str(), "User 7");
    assert_eq!(
        body.customer_user.email.unwrap().as_str(),
        "seven@contoso.example"
    );
    assert_eq!(body.customer_user.id, Some(id));
    assert_eq!(
        sent[0].body["customerUser"]["temporaryPassword"],
        "Temp-Pa55!"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_exits_2_with_nothing_sent() {
    let mock = cockpit_test_support::mock().await;
    let customer = Uuid::new_v4();
    mock.add_user(customer, stored_user(1));
    let c = customer.to_string();
    let list = [
        "users",
        "list",
        "--customer-id",
        &c,
        "--provider-instance-id",
        PROVIDER_INSTANCE,
    ];
    for (extra, env, expected) in [
        (
            &["--page-size", "0"][..],
            &[][..],
            // clap holds the flag to the spec's range.
            "invalid value '0' for '--page-size <PAGE_SIZE>': 0 is not in 1..=2000",
        ),
        (
            &["--page-size", "2001"][..],
            &[][..],
            "invalid value '2001' for '--page-size <PAGE_SIZE>': 2001 is not in 1..=2000",
        ),
        (
            &["--sort", "email"][..],
            &[][..],
            "invalid value 'email' for '--sort <SORT>'",
        ),
        (
            &[][..],
            &[("COCKPIT_TENANT", "evil\r\nX-Injected: 1")][..],
            "tenant",
        ),
    ] {
        let run = cockpit(&mock, &[&list[..], extra].concat(), env).await;
        assert_eq!(run.code, Some(2), "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{extra:?}: {}", run.stderr);
    }
    let run = cockpit(
        &mock,
        &[
            "users",
            "list",
            "--customer-id",
            "not-a-uuid",
            "--provider-instance-id",
            PROVIDER_INSTANCE,
        ],
        &[],
    )
    .await;
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("--customer-id"), "{}", run.stderr);
    assert!(
        mock.received(&operations::LIST_CUSTOMER_USERS)
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_subcommand_has_the_connection_flags_under_their_own_heading() {
    let mock = cockpit_test_support::mock().await;
    for args in [
        &["users", "list", "--help"][..],
        &["users", "update", "--help"][..],
        &["licenses", "list", "--help"][..],
        &["reset-password", "--help"][..],
        &["list-customer-users", "--help"][..],
    ] {
        let run = cockpit(&mock, args, &[]).await;
        assert_eq!(run.code, Some(0), "{args:?}");
        let (own, connection) = run
            .stdout
            .split_once("\nConnection:\n")
            .unwrap_or_else(|| panic!("{args:?}: {}", run.stdout));
        assert!(
            connection.contains("--tenant") && connection.contains("--base-url"),
            "{args:?}"
        );
        assert!(
            !own.contains("--tenant"),
            "{args:?}: the tenant flag is among the subcommand's own"
        );
    }
}
