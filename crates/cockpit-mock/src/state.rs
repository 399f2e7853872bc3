//! The mock's state: customers, their users and their licenses. It answers get, list
//! (paged, as `pageNumber`, `pageSize` and `sortPropertyName` ask), update (which changes
//! the stored user) and reset-password for what it holds, and a 404 with the documented
//! error body for an id it does not know. An expectation set with `expect` takes
//! precedence over it.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard},
};

use cockpit::{Operation, Uuid, operations, types};
use serde_json::{Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

use crate::{MockCloudCockpit, Received};

/// One customer's data.
#[derive(Debug, Default, Clone)]
struct Customer {
    /// Users in the order they were added, as the API's JSON.
    users: Vec<Value>,
    licenses: Vec<Value>,
}

/// The customers, by id.
#[derive(Debug, Default)]
pub(crate) struct State(Mutex<BTreeMap<Uuid, Customer>>);

impl State {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<Uuid, Customer>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The operations the state answers.
const ANSWERED: [&Operation; 5] = [
    &operations::LIST_CUSTOMER_USERS,
    &operations::GET_CUSTOMER_USER,
    &operations::UPDATE_CUSTOMER_USER,
    &operations::RESET_CUSTOMER_USER_PASSWORD,
    &operations::LIST_CUSTOMER_LICENSES,
];

impl MockCloudCockpit {
    /// Adds a customer with no users and no licenses (adding one twice keeps the first).
    pub fn add_customer(&self, customer: Uuid) {
        self.state.lock().entry(customer).or_default();
    }

    /// Adds a user to a customer (added if new), and returns the user's id: its `id`, or
    /// a new one when it has none.
    ///
    /// # Panics
    ///
    /// When the user breaks the spec's `CustomerUser` schema (a display name over 50
    /// characters, a property the spec does not have) and the mock is not
    /// [`realistic`](Self::realistic): the strict mock answers only what the spec allows,
    /// so a test that stores such a user has a setup error. Realistic answers may carry it.
    pub fn add_user(&self, customer: Uuid, mut user: types::CustomerUser) -> Uuid {
        let id = *user.id.get_or_insert_with(Uuid::new_v4);
        let mut json = serde_json::to_value(&user).unwrap_or(Value::Null);
        crate::contract::with_required_nulls("CustomerUser", &mut json);
        if !self.contract.is_realistic() {
            let problems = self.contract.schema_problems("CustomerUser", &json);
            assert!(
                problems.is_empty(),
                "add_user: the user breaks the spec's CustomerUser, which the strict mock never answers: {}; call .realistic() first to answer it anyway",
                problems.join("; ")
            );
        }
        self.state
            .lock()
            .entry(customer)
            .or_default()
            .users
            .push(json);
        id
    }

    /// Adds a license to a customer (added if new).
    pub fn add_license(&self, customer: Uuid, license: types::CustomerLicense) {
        let json = serde_json::to_value(&license).unwrap_or(Value::Null);
        self.state
            .lock()
            .entry(customer)
            .or_default()
            .licenses
            .push(json);
    }

    /// A stored user as it is now (after any update), typed.
    pub fn user(&self, customer: Uuid, user: Uuid) -> Option<types::CustomerUser> {
        let state = self.state.lock();
        let json = find(state.get(&customer)?, user)?;
        serde_json::from_value(json.clone()).ok()
    }

    /// Adds parsed seed customers.
    pub(crate) fn add_customers(&self, customers: &[SeedCustomer]) {
        for (id, users, licenses) in customers {
            self.add_customer(*id);
            for user in users {
                self.add_user(*id, user.clone());
            }
            for license in licenses {
                self.add_license(*id, license.clone());
            }
        }
    }
}

/// One customer of a seed: its id, users and licenses.
pub(crate) type SeedCustomer = (Uuid, Vec<types::CustomerUser>, Vec<types::CustomerLicense>);

/// Customers from JSON: `[{"id": …, "users": [customerUser, …], "licenses": [license, …]}]`,
/// each checked as the spec's types.
pub(crate) fn parse_customers(customers: &[Value]) -> Result<Vec<SeedCustomer>, String> {
    let mut out = Vec::new();
    let components = crate::contract::components();
    // The strict mock answers only what the spec allows: a seed holds nothing else.
    let check = |at: String, name: &str, value: &Value| -> Result<(), String> {
        let problems = crate::contract::schema_problems(&components, name, value);
        match problems.is_empty() {
            true => Ok(()),
            false => Err(format!("{at}: {}", problems.join("; "))),
        }
    };
    for (i, c) in customers.iter().enumerate() {
        let id: Uuid = serde_json::from_value(c["id"].clone())
            .map_err(|e| format!("customers[{i}].id: {e}"))?;
        let mut users = Vec::new();
        for (j, u) in c["users"].as_array().into_iter().flatten().enumerate() {
            check(format!("customers[{i}].users[{j}]"), "CustomerUser", u)?;
            users.push(
                serde_json::from_value(u.clone())
                    .map_err(|e| format!("customers[{i}].users[{j}]: {e}"))?,
            );
        }
        let mut licenses = Vec::new();
        for (j, l) in c["licenses"].as_array().into_iter().flatten().enumerate() {
            check(
                format!("customers[{i}].licenses[{j}]"),
                "CustomerLicense",
                l,
            )?;
            licenses.push(
                serde_json::from_value(l.clone())
                    .map_err(|e| format!("customers[{i}].licenses[{j}]: {e}"))?,
            );
        }
        out.push((id, users, licenses));
    }
    Ok(out)
}

fn find(customer: &Customer, user: Uuid) -> Option<&Value> {
    let id = user.to_string();
    customer.users.iter().find(|u| u["id"] == id.as_str())
}

/// Answers from the state; as a .NET service would when the contract says realistic.
pub(crate) struct Stateful(
    pub(crate) Arc<State>,
    pub(crate) Arc<crate::contract::Contract>,
);

/// A stored user as a .NET service answers it: every property the spec has, `null` where
/// it holds none, and the user principal name the list sorts by, which the spec does not
/// have.
fn realistic_user(user: &Value) -> Value {
    let mut out = user.clone();
    if let Some(map) = out.as_object_mut() {
        for key in [
            "id",
            "displayName",
            "email",
            "firstName",
            "lastName",
            "location",
            "temporaryPassword",
            "domain",
        ] {
            map.entry(key).or_insert(Value::Null);
        }
        let upn = user["email"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                format!(
                    "{}@contoso.onmicrosoft.com",
                    user["id"].as_str().unwrap_or("user")
                )
            });
        map.insert("userPrincipalName".into(), Value::String(upn));
    }
    out
}

impl Respond for Stateful {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let correlation = request
            .headers
            .get("x-correlation-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let error = |status: u16, kind: &str, description: &str| {
            ResponseTemplate::new(status).set_body_json(json!({
                "statusCode": status,
                "type": kind,
                "description": description,
                "correlationId": correlation,
                "errors": null,
            }))
        };
        let Some((op, received)) = ANSWERED
            .iter()
            .find_map(|op| Received::of(op, request).map(|r| (*op, r)))
        else {
            return error(404, "NotFound", "The resource was not found.");
        };
        let id = |name: &str| received.param(name).and_then(|v| v.parse::<Uuid>().ok());
        let realistic = self.1.is_realistic();
        let mut state = self.0.lock();
        let Some(customer) = id("customerId").and_then(|c| state.get_mut(&c)) else {
            return error(404, "NotFound", "The customer was not found.");
        };
        if op.id == operations::LIST_CUSTOMER_USERS.id {
            return list(customer, &received, realistic)
                .unwrap_or_else(|e| error(400, "BadRequest", &e));
        }
        if op.id == operations::LIST_CUSTOMER_LICENSES.id {
            return ResponseTemplate::new(200).set_body_json(&customer.licenses);
        }
        let Some(user) = id("customerUserId") else {
            return error(404, "NotFound", "The customer user was not found.");
        };
        let Some(stored) = customer
            .users
            .iter_mut()
            .find(|u| u["id"] == user.to_string().as_str())
        else {
            return error(404, "NotFound", "The customer user was not found.");
        };
        if op.id == operations::GET_CUSTOMER_USER.id {
            if realistic {
                return ResponseTemplate::new(200).set_body_json(realistic_user(stored));
            }
            return ResponseTemplate::new(200).set_body_json(&*stored);
        }
        if op.id == operations::UPDATE_CUSTOMER_USER.id
            && let Some(fields) = received.body["customerUser"].as_object()
        {
            // The stored user takes every field the update sends; its id stays.
            for (key, value) in fields {
                if key != "id" {
                    stored[key] = value.clone();
                }
            }
        }
        ResponseTemplate::new(200)
    }
}

/// One page of a customer's users, as the request asks.
///
/// A `pageNumber` below 1 is a page with no items: the page documents no error for this
/// operation, and no page comes before the first. `continuationToken` is left out: the pages
/// show it only as `"string"` in an example, so neither `null` nor a made-up token is
/// known to be what the API sends. Realistic answers send it as `null`, leave out
/// `hasPreviousPage`, and give each user the .NET shape ([`realistic_user`]).
fn list(
    customer: &Customer,
    received: &Received,
    realistic: bool,
) -> Result<ResponseTemplate, String> {
    let number = |name: &str, default: i64| -> Result<i64, String> {
        received.param(name).map_or(Ok(default), |v| {
            v.parse::<i64>()
                .map_err(|_| format!("{name} {v:?} is not a number"))
        })
    };
    let page = number("pageNumber", 1)?;
    let size = number("pageSize", 25)?;
    // The spec's range, as a strict server holds a request to it.
    if let Some(p) = operations::LIST_CUSTOMER_USERS.param("pageSize") {
        p.limits.check_int(p.name, size.into())?;
    }
    let mut users: Vec<&Value> = customer.users.iter().collect();
    let key = match received.param("sortPropertyName") {
        Some("DisplayName") => Some("displayName"),
        // The customer user has no user principal name of its own in the spec; its
        // email is the nearest.
        Some("UserPrincipalName") => Some("email"),
        Some(other) => return Err(format!("sortPropertyName {other:?} is not known")),
        None => None,
    };
    if let Some(key) = key {
        users.sort_by(|a, b| a[key].as_str().cmp(&b[key].as_str()));
    }
    let total = users.len();
    let size_u = usize::try_from(size).unwrap_or(25);
    let pages = total.div_ceil(size_u);
    let items: Vec<Value> = match usize::try_from(page.saturating_sub(1)) {
        Ok(before) if page >= 1 => users
            .into_iter()
            .skip(before.saturating_mul(size_u))
            .take(size_u)
            .map(|u| {
                if realistic {
                    realistic_user(u)
                } else {
                    u.clone()
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    let page_u = usize::try_from(page).unwrap_or(0);
    let mut body = json!({
        "items": items,
        "paginationParameters": {"pageNumber": page, "pageSize": size},
        "totalPages": pages,
        "totalCount": total,
        "hasPreviousPage": page > 1,
        "hasNextPage": page_u < pages,
    });
    if realistic && let Some(map) = body.as_object_mut() {
        map.remove("hasPreviousPage");
        map.insert("continuationToken".into(), Value::Null);
    }
    Ok(ResponseTemplate::new(200).set_body_json(body))
}
