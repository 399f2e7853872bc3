//! Paged lists: `.pages()` and `.items()` of listCustomerUsers against a local server that
//! pages as the API's convention says, and against servers that misbehave.

use std::{collections::BTreeMap, sync::Mutex, time::Duration};

use cockpit::{Client, ErrorKind, RetryPolicy, SecretString};
use cockpit_test_support::*;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

fn user(n: usize) -> Value {
    json!({
        "id": format!("00000000-0000-4000-8000-{n:012}"),
        "displayName": format!("User {n}"),
        "email": format!("user{n}@contoso.example"),
        "location": "PT",
        "domain": "contoso.example"
    })
}

/// Serves `total` users in pages as `pageNumber` and `pageSize` ask, and fails page `p`
/// with a 500 the number of times `failures[p]` says.
struct Users {
    total: usize,
    failures: Mutex<BTreeMap<i64, usize>>,
    /// Top-level keys that this server leaves out of every page.
    omit: &'static [&'static str],
}

impl Respond for Users {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let q: BTreeMap<String, String> = req.url.query_pairs().into_owned().collect();
        let page: i64 = q.get("pageNumber").map_or(1, |p| p.parse().unwrap());
        let size: usize = q.get("pageSize").map_or(25, |p| p.parse().unwrap());
        if let Some(left) = self.failures.lock().unwrap().get_mut(&page)
            && *left > 0
        {
            *left -= 1;
            return ResponseTemplate::new(500);
        }
        let start = (page as usize - 1) * size;
        let end = (start + size).min(self.total);
        let items: Vec<Value> = (start.min(end)..end).map(user).collect();
        let pages = self.total.div_ceil(size);
        let mut body = json!({
            "items": items,
            "paginationParameters": {"pageNumber": page, "pageSize": size},
            "totalPages": pages,
            "totalCount": self.total,
            "hasPreviousPage": page > 1,
            "hasNextPage": (page as usize) < pages,
            "continuationToken": null
        });
        for key in self.omit {
            body.as_object_mut().unwrap().remove(*key);
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

async fn serving_without(total: usize, omit: &'static [&'static str]) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(Users {
            total,
            failures: Mutex::default(),
            omit,
        })
        .mount(&server)
        .await;
    server
}

/// A page without `hasNextPage` is not taken as the last: the walk decides from
/// `totalPages`, then `totalCount`, then a full page, and says so when nothing tells.
#[tokio::test]
async fn without_has_next_page_the_walk_decides_from_the_rest_or_says_it_cannot() {
    for (omit, how) in [
        (&["hasNextPage"][..], "totalPages"),
        (&["hasNextPage", "totalPages"][..], "totalCount"),
        (
            &["hasNextPage", "totalPages", "totalCount"][..],
            "a full page",
        ),
    ] {
        let omit: &'static [&'static str] = omit;
        for total in [0, 4, 5, 6] {
            let server = serving_without(total, omit).await;
            let client = client(&server.uri());
            let ids: Vec<_> = list(&client)
                .page_size(2)
                .items()
                .map_ok(|u| u.display_name.unwrap())
                .try_collect()
                .await
                .unwrap_or_else(|e| panic!("{how}, {total} users: {e}"));
            let want: Vec<_> = (0..total).map(|n| format!("User {n}")).collect();
            assert_eq!(ids, want, "decided from {how}, {total} users");
            // A full last page costs one more request, for an empty page.
            let requests = server.received_requests().await.unwrap().len();
            let full_last = how == "a full page" && total % 2 == 0;
            assert_eq!(
                requests,
                total.div_ceil(2).max(1) + usize::from(full_last && total > 0),
                "{how}, {total}"
            );
        }
    }

    // totalCount alone (no page size in the answer): counted from the first page; and, with
    // the page size, from a resumed page.
    let server = serving_without(5, &["hasNextPage", "totalPages", "paginationParameters"]).await;
    let counted = client(&server.uri());
    let all: Vec<_> = list(&counted)
        .page_size(2)
        .items()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    // Four users: page 2 of 2 is full, and the count, not the fullness, says it is the last.
    let server = serving_without(4, &["hasNextPage", "totalPages"]).await;
    let resumed = client(&server.uri());
    let rest: Vec<_> = list(&resumed)
        .page_size(2)
        .page_number(2)
        .items()
        .map_ok(|u| u.display_name.unwrap())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rest, ["User 2", "User 3"]);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    // Nothing tells: the walk gives the page it has, then ends with an error naming the
    // next page, never short in silence.
    let server = serving_without(
        5,
        &[
            "hasNextPage",
            "totalPages",
            "totalCount",
            "paginationParameters",
        ],
    )
    .await;
    let client = client(&server.uri());
    let mut pages = std::pin::pin!(list(&client).page_size(2).pages());
    let first = pages.next().await.unwrap().unwrap();
    assert_eq!(first.items.len(), 2);
    let err = pages.next().await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MalformedResponse);
    assert_eq!(err.page(), Some(2));
    assert!(
        err.to_string()
            .contains("has no hasNextPage, and no totalPages, totalCount or pageSize"),
        "{err}"
    );
    assert!(pages.next().await.is_none());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

async fn serving(total: usize, failures: &[(i64, usize)]) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(Users {
            total,
            failures: Mutex::new(failures.iter().copied().collect()),
            omit: &[],
        })
        .mount(&server)
        .await;
    server
}

fn list(client: &Client) -> cockpit::builder::ListCustomerUsers {
    client
        .list_customer_users()
        .customer_id(uuid(CUSTOMER))
        .provider_instance_id(uuid(PROVIDER_INSTANCE))
}

fn query(req: &Request, name: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn zero_one_and_many_pages() {
    for (total, size, pages) in [(0, 25, 1), (7, 25, 1), (10, 3, 4), (4000, 2000, 2)] {
        let server = serving(total, &[]).await;
        let client = client(&server.uri());
        let walked: Vec<_> = list(&client)
            .page_size(size)
            .pages()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(walked.len(), pages, "{total} users by {size}");
        let numbers: Vec<i32> = walked.iter().map(|p| p.number).collect();
        assert_eq!(numbers, (1..=pages as i32).collect::<Vec<_>>());
        let names: Vec<String> = list(&client)
            .page_size(size)
            .items()
            .map_ok(|u| u.display_name.unwrap().to_string())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(
            names,
            (0..total).map(|n| format!("User {n}")).collect::<Vec<_>>()
        );

        // Every page went through the pipeline: the tenant on each, and a correlation id
        // of its own, which the page reports.
        let received = server.received_requests().await.unwrap();
        assert_eq!(received.len(), pages * 2);
        let ids: std::collections::BTreeSet<_> = received[..pages]
            .iter()
            .map(|r| r.headers["x-correlation-id"].to_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), pages, "a correlation id a page");
        for (req, page) in received.iter().zip(&walked) {
            assert_eq!(req.headers["x-tenant"], TENANT);
            assert_eq!(
                req.headers["x-correlation-id"],
                page.correlation_id.to_string().as_str()
            );
            assert_eq!(query(req, "pageNumber"), Some(page.number.to_string()));
            assert_eq!(query(req, "pageSize"), Some(size.to_string()));
            assert_eq!(
                query(req, "providerInstanceId").as_deref(),
                Some(PROVIDER_INSTANCE)
            );
            assert_eq!(page.total_count, Some(total as i32));
        }
    }
}

#[tokio::test]
async fn a_500_on_page_7_is_retried_and_the_walk_goes_on() {
    let server = serving(30, &[(7, 1)]).await;
    let client = retrying(&server.uri());
    let pages: Vec<_> = list(&client)
        .page_size(3)
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 10);
    assert_eq!(pages[6].attempts, 2);
    assert_eq!(pages[5].attempts, 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 11);
}

#[tokio::test]
async fn a_page_that_keeps_failing_ends_the_walk_naming_it_and_the_walk_resumes_there() {
    let server = serving(30, &[(7, 3)]).await;
    let client = retrying(&server.uri());
    let mut pages = Box::pin(list(&client).page_size(3).pages());
    let mut seen = Vec::new();
    let err = loop {
        match pages.next().await.unwrap() {
            Ok(page) => seen.push(page.number),
            Err(e) => break e,
        }
    };
    assert!(
        pages.next().await.is_none(),
        "the stream ends after the error"
    );
    assert_eq!(seen, [1, 2, 3, 4, 5, 6]);
    assert_eq!(err.kind(), ErrorKind::Server);
    assert_eq!(err.page(), Some(7));
    assert_eq!(err.attempts(), 3);
    assert!(
        err.to_string().starts_with("server error (500) on page 7"),
        "{err}"
    );
    let failed = server.received_requests().await.unwrap();
    let last = failed.last().unwrap();
    assert_eq!(query(last, "pageNumber").as_deref(), Some("7"));
    assert_eq!(
        err.correlation_id().unwrap().to_string(),
        last.headers["x-correlation-id"].to_str().unwrap()
    );

    // Resume from the page that failed: the server has recovered.
    let rest: Vec<i32> = list(&client)
        .page_size(3)
        .page_number(err.page().unwrap())
        .pages()
        .map_ok(|p| p.number)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rest, [7, 8, 9, 10]);
}

/// A server that answers every request with `page`, whatever was asked.
async fn always(page: Value) -> MockServer {
    answering(ResponseTemplate::new(200).set_body_json(page)).await
}

#[tokio::test]
async fn a_server_that_never_ends_ends_the_walk_with_an_error() {
    let cases = [
        (
            "the same page again",
            json!({"items": [user(1), user(2)], "hasNextPage": true}),
            2,
            "malformed response (200) on page 2: the page repeats the one before it",
        ),
        (
            "a next page with no items",
            json!({"items": [], "hasNextPage": true}),
            1,
            "malformed response (200) on page 1: the server says there is a next page, and sent no items on this one",
        ),
        (
            "always page 1",
            json!({"items": [user(1)], "hasNextPage": true, "paginationParameters": {"pageNumber": 1, "pageSize": 1}}),
            2,
            "malformed response (200) on page 2: the server answered page 1",
        ),
        (
            "past its own total",
            json!({"items": [user(1)], "hasNextPage": true, "totalPages": 1}),
            1,
            "malformed response (200) on page 1: the server says there is a next page after the last of its 1",
        ),
    ];
    for (name, page, failing, message) in cases {
        let server = always(page).await;
        let client = client(&server.uri());
        let walk = tokio::time::timeout(
            Duration::from_secs(10),
            list(&client).items().collect::<Vec<_>>(),
        )
        .await
        .unwrap_or_else(|_| panic!("{name}: the walk did not end"));
        let err = walk.last().unwrap().as_ref().unwrap_err();
        assert_eq!(err.page(), Some(failing), "{name}");
        assert!(err.to_string().starts_with(message), "{name}: {err}");
        assert!(err.correlation_id().is_some());
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            failing as usize,
            "{name}"
        );
    }
}

#[tokio::test]
async fn malformed_items_and_a_page_over_the_cap_are_errors_naming_the_page() {
    let server = always(json!({"items": [{"displayName": 42}], "hasNextPage": false})).await;
    let err = list(&client(&server.uri()))
        .pages()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MalformedResponse);
    assert_eq!(err.page(), Some(1));
    assert!(err.body().unwrap().contains("\"displayName\":42"));

    // A 2,000-user page fits the default cap; a smaller cap cuts it.
    let server = serving(2000, &[]).await;
    let page = list(&client(&server.uri()))
        .page_size(2000)
        .send()
        .await
        .unwrap();
    assert_eq!(page.value.items.unwrap().len(), 2000);
    let small = Client::builder()
        .base_url(server.uri())
        .tenant(TENANT)
        .bearer_token(SecretString::from(TOKEN))
        .max_response_body(64 * 1024)
        .build()
        .unwrap();
    let err = list(&small)
        .page_size(2000)
        .pages()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MalformedResponse);
    assert_eq!(err.page(), Some(1));
    assert!(err.to_string().contains("over 64 KiB and was cut"), "{err}");

    // The default cap is 16 MiB, well over a 1 MiB error body: a page of a few MiB fits.
    let long = "d".repeat(1000);
    let items: Vec<Value> = (0..2000)
        .map(|n| {
            let mut u = user(n);
            u["domain"] = json!(long);
            u
        })
        .collect();
    let big = serde_json::to_vec(&json!({"items": items, "hasNextPage": false})).unwrap();
    assert!(big.len() > 2 * 1024 * 1024, "{}", big.len());
    let server = answering(ResponseTemplate::new(200).set_body_raw(big, "application/json")).await;
    let page = list(&client(&server.uri())).send().await.unwrap();
    assert_eq!(page.value.items.unwrap().len(), 2000);

    // A body of exactly the cap is read whole; one byte less is cut.
    let body = r#"{"items":[],"hasNextPage":false}"#;
    let server = answering(ResponseTemplate::new(200).set_body_raw(body, "application/json")).await;
    let capped = |cap: usize| {
        Client::builder()
            .base_url(server.uri())
            .tenant(TENANT)
            .bearer_token(SecretString::from(TOKEN))
            .max_response_body(cap)
            .build()
            .unwrap()
    };
    let exact = capped(body.len());
    let page = list(&exact).send().await.unwrap();
    assert_eq!(page.value.items.map(|i| i.len()), Some(0));
    // And a malformed body of exactly the cap is malformed, not cut.
    let bad = r#"{"items":[1],"hasNextPage":false}"#;
    let bad_server =
        answering(ResponseTemplate::new(200).set_body_raw(bad, "application/json")).await;
    let err = list(
        &Client::builder()
            .base_url(bad_server.uri())
            .tenant(TENANT)
            .bearer_token(SecretString::from(TOKEN))
            .max_response_body(bad.len())
            .build()
            .unwrap(),
    )
    .send()
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("the answer's body is not what the spec documents"),
        "{err}"
    );
    let short = capped(body.len() - 1);
    let err = list(&short).send().await.unwrap_err();
    assert_eq!(
        err.to_string().split(" (correlation id").next().unwrap(),
        format!(
            "malformed response (200): the answer's body is over {} bytes and was cut",
            body.len() - 1
        )
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_nothing_sent() {
    let server = serving(10, &[]).await;
    let client = client(&server.uri());
    for (size, message) in [
        (0, "pageSize: 0 is below the minimum of 1"),
        (2001, "pageSize: 2001 is over the maximum of 2000"),
    ] {
        let err = list(&client).page_size(size).send().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains(message), "{err}");
        let err = list(&client)
            .page_size(size)
            .items()
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert!(err.to_string().contains(message), "{err}");
    }
    let err = list(&client)
        .tenant("evil\r\nX-Injected: 1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let err = client
        .list_customer_users()
        .customer_id(uuid(CUSTOMER))
        .send()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("missing providerInstanceId"),
        "{err}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_get_that_times_out_is_retried_and_a_patch_is_not() {
    let server = answering(ResponseTemplate::new(200).set_delay(Duration::from_millis(500))).await;
    let client = Client::builder()
        .base_url(server.uri())
        .tenant(TENANT)
        .bearer_token(SecretString::from(TOKEN))
        .timeout(Duration::from_millis(100))
        .retry_policy(
            RetryPolicy::default()
                .max_attempts(2)
                .backoff(Duration::from_millis(1), Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    let err = list(&client).send().await.unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(err.attempts(), 2);
    // Nothing is at stake for a GET: the words say how long, not "may have been processed".
    assert!(
        err.to_string()
            .starts_with("timed out: no answer within 100 ms after 2 attempts"),
        "{err}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);

    let err = client
        .update_customer_user()
        .customer_id(uuid(CUSTOMER))
        .customer_user_id(uuid(USER))
        .provider_instance_id(uuid(PROVIDER_INSTANCE))
        .customer_user(cockpit_test_support::user())
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert!(
        err.to_string()
            .contains("the request may have been processed"),
        "{err}"
    );
    assert_eq!(
        err.attempts(),
        1,
        "a PATCH that may have been processed is not sent again"
    );
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 3);
    assert_eq!(received[2].method.as_str(), "PATCH");
}
