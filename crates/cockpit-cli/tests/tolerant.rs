//! The CLI against answers shaped the way an ASP.NET Core service sends them, each
//! differing from the documented one: every readable answer is read, unknown properties
//! are printed as they came, drift is reported on request, and what cannot be sent back is
//! named with the flag that replaces it.

use std::process::Stdio;

use cockpit_test_support::{CUSTOMER, PROVIDER_INSTANCE, USER, cli, cli_env};
use serde_json::{Value, json};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{method, path},
};

const USER_PATH: &str =
    "/v1/Customers/3f1c9a52-8a7e-4d7c-9a55-0c1e2b3d4f50/users/b0e5f7a1-2c3d-4e5f-8a9b-0c1d2e3f4a5b";
const LIST_PATH: &str = "/v1/Customers/3f1c9a52-8a7e-4d7c-9a55-0c1e2b3d4f50/users";

/// A stored user as a .NET service may answer it: a property the spec does not have, a
/// display name longer than a request may carry, a required key absent, and nulls.
fn dotnet_user(n: usize) -> Value {
    json!({
        "id": format!("00000000-0000-4000-8000-{n:012}"),
        "displayName": format!("{n:02} A very long display name typed in the admin center"),
        "email": null,
        "firstName": null,
        "location": "PT",
        "userPrincipalName": format!("user{n}@contoso.onmicrosoft.com"),
        "assignedLicenses": [{"skuId": "c42b9cae-ea4f-4ab7-9717-81576235ccac"}]
    })
}

async fn cockpit(base: &str, args: &[&str]) -> cli::Run {
    cli::run(
        env!("CARGO_BIN_EXE_cockpit"),
        args,
        cli_env(base),
        "",
        Stdio::piped(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn users_get_reads_a_dotnet_answer_and_keeps_unknown_properties() {
    let server = MockServer::start().await;
    let mut user = dotnet_user(1);
    user["displayName"] = Value::String("d".repeat(64));
    let body = format!("\u{feff}{user}");
    Mock::given(method("GET"))
        .and(path(USER_PATH))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(body, "application/json; charset=utf-8"),
        )
        .mount(&server)
        .await;
    let run = cockpit(
        &server.uri(),
        &[
            "users",
            "get",
            "--customer-id",
            CUSTOMER,
            "--user-id",
            USER,
            "--json",
            "--show-drift",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let got: Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(got["userPrincipalName"], "user1@contoso.onmicrosoft.com");
    assert_eq!(
        got["assignedLicenses"][0]["skuId"],
        "c42b9cae-ea4f-4ab7-9717-81576235ccac"
    );
    assert_eq!(got["displayName"], "d".repeat(64));
    assert!(
        got.get("domain").is_none(),
        "an absent key stays absent: {got}"
    );
    // Drift, on request: each finding once, naming what the spec should learn.
    for line in [
        "getCustomerUser answered userPrincipalName: a property the spec does not have",
        "getCustomerUser answered assignedLicenses: a property the spec does not have",
        "getCustomerUser answered displayName: longer than the spec's maxLength of 50",
    ] {
        assert!(run.stderr.contains(line), "{line}\n{}", run.stderr);
    }
    let quiet = cockpit(
        &server.uri(),
        &[
            "users",
            "get",
            "--customer-id",
            CUSTOMER,
            "--user-id",
            USER,
            "--json",
        ],
    )
    .await;
    assert_eq!(quiet.code, Some(0));
    assert!(
        quiet.stderr.is_empty(),
        "no drift unless asked: {}",
        quiet.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn users_update_names_the_flag_for_a_stored_value_no_request_may_carry() {
    let server = MockServer::start().await;
    let mut user = dotnet_user(1);
    user["displayName"] = Value::String("d".repeat(64));
    Mock::given(method("GET"))
        .and(path(USER_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(&user))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(USER_PATH))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let update = [
        "users",
        "update",
        "--customer-id",
        CUSTOMER,
        "--user-id",
        USER,
        "--provider-instance-id",
        PROVIDER_INSTANCE,
        "--location",
        "ES",
    ];
    let run = cockpit(&server.uri(), &update).await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "customerUser.displayName: longer than 50 characters (the value the API holds; give another with --display-name)"
        ),
        "{}",
        run.stderr
    );
    let sent = server.received_requests().await.unwrap();
    assert!(
        sent.iter().all(|r| r.method.as_str() == "GET"),
        "nothing was sent"
    );

    // With the flag, the update goes, and sends no property the spec forbids.
    let mut with_flag = update.to_vec();
    with_flag.extend(["--display-name", "Ada Lovelace"]);
    let run = cockpit(&server.uri(), &with_flag).await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let sent = server.received_requests().await.unwrap();
    let patch = sent.iter().find(|r| r.method.as_str() == "PATCH").unwrap();
    let body: Value = serde_json::from_slice(&patch.body).unwrap();
    assert_eq!(body["customerUser"]["displayName"], "Ada Lovelace");
    assert_eq!(body["customerUser"]["location"], "ES");
    assert_eq!(body["customerUser"]["firstName"], Value::Null);
    assert!(
        body["customerUser"].get("userPrincipalName").is_none(),
        "{body}"
    );
    assert!(
        body["customerUser"].get("assignedLicenses").is_none(),
        "{body}"
    );

    // A flag's own value over the limit is named as the flag's.
    let mut too_long = update.to_vec();
    let long = "x".repeat(51);
    too_long.extend(["--display-name", long.as_str()]);
    let run = cockpit(&server.uri(), &too_long).await;
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr
            .contains("customerUser.displayName: longer than 50 characters")
            && !run.stderr.contains("the value the API holds"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn users_list_reads_every_user_of_dotnet_pages_without_has_next_page() {
    let server = MockServer::start().await;
    for page in 1..=2 {
        let items: Vec<Value> = (0..3)
            .map(|i| dotnet_user((page - 1) * 3 + i))
            .take(if page == 2 { 2 } else { 3 })
            .collect();
        // No hasNextPage; integral floats; a BOM; an unknown envelope property.
        let body = format!(
            "\u{feff}{}",
            json!({
                "items": items,
                "paginationParameters": {"pageNumber": page as f64, "pageSize": 3.0},
                "totalPages": 2.0,
                "totalCount": 5,
                "continuationToken": null,
                "requestedAt": "2026-12-02T10:00:00Z"
            })
        );
        Mock::given(method("GET"))
            .and(path(LIST_PATH))
            .and(wiremock::matchers::query_param(
                "pageNumber",
                page.to_string(),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
            .mount(&server)
            .await;
    }
    let run = cockpit(
        &server.uri(),
        &[
            "users",
            "list",
            "--customer-id",
            CUSTOMER,
            "--provider-instance-id",
            PROVIDER_INSTANCE,
            "--page-size",
            "3",
            "--all",
            "--json",
        ],
    )
    .await;
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let users: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(users.len(), 5, "every user of both pages: {}", run.stdout);
    assert_eq!(
        users[4]["userPrincipalName"],
        "user4@contoso.onmicrosoft.com"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_cannot_be_read_is_named_by_path_in_text_and_json() {
    let server = MockServer::start().await;
    let mut user = dotnet_user(1);
    user["displayName"] = json!(5);
    Mock::given(method("GET"))
        .and(path(USER_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(&user))
        .mount(&server)
        .await;
    let args = ["users", "get", "--customer-id", CUSTOMER, "--user-id", USER];
    let run = cockpit(&server.uri(), &args).await;
    assert_eq!(run.code, Some(5));
    assert!(
        run.stderr
            .contains("displayName: invalid type: integer `5`, expected a string"),
        "{}",
        run.stderr
    );
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let run = cockpit(&server.uri(), &json_args).await;
    let err: Value = serde_json::from_str(run.stderr.trim()).unwrap();
    assert_eq!(err["error"]["code"], "malformed_response");
    assert_eq!(err["error"]["jsonPath"], "displayName");
}
