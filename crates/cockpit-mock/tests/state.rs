//! The mock's state: users and licenses seeded from code or JSON, answered by get, list
//! (with real paging and sorting), update and reset, and a 404 for an unknown id.

use cockpit::{ErrorKind, Uuid, types};
use cockpit_mock::{MockCloudCockpit, Seed};
use futures::TryStreamExt;

fn user(name: &str, email: &str) -> types::CustomerUser {
    types::CustomerUser::builder()
        .display_name(Some(name.to_string()))
        .email(Some(email.to_string()))
        .location(Some("PT".to_string()))
        .domain(Some("contoso.example".to_string()))
        .try_into()
        .unwrap()
}

#[tokio::test]
async fn list_pages_and_sorts_what_it_holds() {
    let mock = MockCloudCockpit::start().await;
    let customer = Uuid::new_v4();
    for n in (0..25).rev() {
        mock.add_user(
            customer,
            user(&format!("User {n:02}"), &format!("z{n:02}@x.example")),
        );
    }
    let client = mock.client();
    let list = || {
        client
            .list_customer_users()
            .customer_id(customer)
            .provider_instance_id(Uuid::new_v4())
    };
    let pages: Vec<_> = list().page_size(10).pages().try_collect().await.unwrap();
    assert_eq!(pages.len(), 3);
    assert_eq!(
        pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(),
        [10, 10, 5]
    );
    assert_eq!(pages[0].total_count, Some(25));
    assert_eq!(pages[0].total_pages, Some(3));
    // Stored order, then sorted by display name.
    let first = pages[0].items[0].display_name.as_ref().unwrap().to_string();
    assert_eq!(first, "User 24");
    let sorted: Vec<String> = list()
        .page_size(7)
        .sort_property_name(types::ListCustomerUsersSortPropertyName::DisplayName)
        .items()
        .map_ok(|u| u.display_name.unwrap().to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        sorted,
        (0..25).map(|n| format!("User {n:02}")).collect::<Vec<_>>()
    );
    // The 404 of an unknown customer carries the documented error body.
    let err = client
        .list_customer_users()
        .customer_id(Uuid::new_v4())
        .provider_instance_id(Uuid::new_v4())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        err.api_error().unwrap().description.as_deref(),
        Some("The customer was not found.")
    );
    assert_eq!(
        err.server_correlation_id(),
        err.correlation_id().map(|c| c.to_string()).as_deref()
    );
}

#[tokio::test]
async fn get_update_and_reset_change_and_answer_for_the_stored_user() {
    let mock = MockCloudCockpit::start().await;
    let customer = Uuid::new_v4();
    let id = mock.add_user(customer, user("Ada", "ada@x.example"));
    let client = mock.client();
    let got = client
        .get_customer_user()
        .customer_id(customer)
        .customer_user_id(id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.value.id, Some(id));
    assert_eq!(got.value.display_name.unwrap().as_str(), "Ada");

    client
        .update_customer_user()
        .customer_id(customer)
        .customer_user_id(id)
        .provider_instance_id(Uuid::new_v4())
        .customer_user(
            types::CustomerUserInput::try_from(user("Ada Lovelace", "ada@contoso.example"))
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let stored = mock.user(customer, id).unwrap();
    assert_eq!(stored.display_name.unwrap().as_str(), "Ada Lovelace");
    assert_eq!(stored.email.unwrap().as_str(), "ada@contoso.example");
    assert_eq!(stored.id, Some(id));

    client
        .reset_customer_user_password()
        .customer_id(customer)
        .customer_user_id(id)
        .provider_instance_id(Uuid::new_v4())
        .customer_user(user("Ada Lovelace", "ada@contoso.example"))
        .send()
        .await
        .unwrap();
    let err = client
        .get_customer_user()
        .customer_id(customer)
        .customer_user_id(Uuid::new_v4())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        err.api_error().unwrap().description.as_deref(),
        Some("The customer user was not found.")
    );
}

#[tokio::test]
async fn customers_users_and_licenses_seed_from_json() {
    let customer = Uuid::new_v4();
    let seed = Seed::from_json(
        &serde_json::json!({"customers": [{
            "id": customer,
            "users": [{"displayName": "Ada", "email": null, "location": "PT", "domain": null}],
            "licenses": [{"skuId": "sku-e3", "name": "Microsoft 365 E3", "availableLicenses": 3,
                          "isSelected": true, "totalLicenses": 10, "consumedLicenses": 7,
                          "suspendedLicenses": 0}]
        }]})
        .to_string(),
    )
    .unwrap();
    assert_eq!(seed.customers(), 1);
    let mock = MockCloudCockpit::start().await;
    mock.seed(&seed).await;
    let licenses = mock
        .client()
        .list_customer_licenses()
        .customer_id(customer)
        .provider_instance_id(Uuid::new_v4())
        .send()
        .await
        .unwrap()
        .value;
    assert_eq!(licenses.len(), 1);
    assert_eq!(licenses[0].name.as_deref(), Some("Microsoft 365 E3"));
    assert_eq!(licenses[0].consumed_licenses, Some(7));

    let bad = Seed::from_json(
        r#"{"customers": [{"id": "3f1c9a52-8a7e-4d7c-9a55-0c1e2b3d4f50", "users": [{"displayName": 1}]}]}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(bad.starts_with("customers[0].users[0]: "), "{bad}");
}
