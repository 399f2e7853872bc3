//! What the spec says of each operation, as data: the pipeline reads its idempotency, the
//! CLI its parameters and their limits, the mock its method and path. Each operation also
//! carries its own entry point for calls by name ([`Client::call`]), so that nothing
//! dispatches on operation ids.

use std::fmt;

use futures::future::BoxFuture;
use reqwest::Method;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{client::Client, error::Result, response::Response};

/// One operation of the API, as the spec describes it. The constants in
/// [`operations`](crate::operations) and the list [`OPERATIONS`](crate::OPERATIONS) are
/// generated from the spec by `cargo xtask codegen`.
#[non_exhaustive]
pub struct Operation {
    /// The spec's `operationId`, such as `resetCustomerUserPassword`.
    pub id: &'static str,
    /// The CLI subcommand that calls it: the kebab-case of its id.
    pub command: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The path template, such as `/v1/Customers/{customerId}/users`.
    pub path: &'static str,
    /// The spec's one-line summary.
    pub summary: &'static str,
    /// Whether sending the request twice has the effect of sending it once: from the
    /// method (GET, HEAD, PUT, DELETE are), unless the spec's `x-cockpit-idempotent` says
    /// otherwise. An idempotent operation is also retried after a timeout, a broken
    /// connection or a 5xx.
    pub idempotent: bool,
    /// The path, query and header parameters that a caller sets (the token, tenant and
    /// correlation id are the pipeline's, and not among them).
    pub params: &'static [Param],
    /// The request body it takes.
    pub body: Body,
    /// Sends a call whose parameters and body are JSON (see [`Client::call`]).
    pub(crate) dispatch: Dispatch,
}

/// The entry point of an operation for calls by name: its generated input, read from JSON,
/// sent through the typed builder.
pub(crate) type Dispatch = fn(&Client, Args) -> BoxFuture<'static, Result<Response<Value>>>;

/// A call by name: parameters by their API names as JSON values, the body as JSON.
#[derive(Debug, Default)]
pub(crate) struct Args {
    pub(crate) params: Map<String, Value>,
    pub(crate) body: Option<Value>,
    pub(crate) tenant: Option<String>,
    pub(crate) correlation_id: Option<Uuid>,
}

impl Operation {
    /// The parameter with this API name, if the operation has it.
    pub fn param(&self, name: &str) -> Option<&'static Param> {
        self.params.iter().find(|p| p.name == name)
    }
}

// An operation is known by its id; its entry point is a function pointer, which has no
// meaningful equality or text of its own.
impl PartialEq for Operation {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Operation {}

impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Operation")
            .field("id", &self.id)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("idempotent", &self.idempotent)
            .field("params", &self.params)
            .field("body", &self.body)
            .finish_non_exhaustive()
    }
}

/// The request body of an [`Operation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    /// It takes none.
    None,
    /// A JSON body.
    Json {
        /// Whether the API requires it.
        required: bool,
    },
}

impl Body {
    /// Whether the operation takes a body.
    pub fn is_some(self) -> bool {
        matches!(self, Body::Json { .. })
    }

    /// Whether the operation requires a body.
    pub fn is_required(self) -> bool {
        matches!(self, Body::Json { required: true })
    }
}

/// One parameter of an [`Operation`].
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Param {
    /// Its name in the API, such as `customerId`.
    pub name: &'static str,
    /// The builder's setter for it, such as `customer_id`.
    pub setter: &'static str,
    /// The CLI's flag for it, without the dashes, such as `customer-id`.
    pub flag: &'static str,
    /// Where it goes.
    pub location: ParamIn,
    /// Whether the API requires it.
    pub required: bool,
    /// The spec's description.
    pub description: &'static str,
    /// What its JSON value is.
    pub kind: Kind,
    /// A short name for its type: `uuid`, `int32`, `string`, or the values of an enum
    /// joined by `|`.
    pub hint: &'static str,
    /// The spec's limits on its value.
    pub limits: Limits,
}

/// Where a [`Param`] goes in the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamIn {
    /// A segment of the path.
    Path,
    /// The query string.
    Query,
    /// A header.
    Header,
}

/// What a [`Param`]'s value is in JSON: how a value given as text is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// A string (uuids, enums and dates included).
    String,
    /// A whole number.
    Integer,
    /// A number.
    Number,
    /// `true` or `false`.
    Boolean,
}

/// The spec's limits on a [`Param`]'s value: `minimum`, `maximum` and `maxLength`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The smallest value allowed.
    pub minimum: Option<i64>,
    /// The largest value allowed.
    pub maximum: Option<i64>,
    /// The most characters allowed.
    pub max_length: Option<u64>,
}

impl Limits {
    /// Checks a whole number against `minimum` and `maximum`, naming the parameter: what
    /// the SDK checks before sending, and what the mock holds a request to.
    pub fn check_int(&self, name: &str, n: i128) -> std::result::Result<(), String> {
        if let Some(min) = self.minimum.filter(|min| n < i128::from(*min)) {
            return Err(format!("{name}: {n} is below the minimum of {min}"));
        }
        if let Some(max) = self.maximum.filter(|max| n > i128::from(*max)) {
            return Err(format!("{name}: {n} is over the maximum of {max}"));
        }
        Ok(())
    }

    /// Checks a text against `maxLength` (in characters), naming the parameter.
    pub(crate) fn check_len(&self, name: &str, text: &str) -> std::result::Result<(), String> {
        match self.max_length {
            Some(max) if text.chars().count() as u64 > max => {
                Err(format!("{name}: longer than {max} characters"))
            }
            _ => Ok(()),
        }
    }

    /// Checks a JSON value as [`check_int`](Self::check_int) and
    /// [`check_len`](Self::check_len) do; a value of another type is left to its
    /// deserialization, which refuses it.
    pub(crate) fn check_json(&self, name: &str, value: &Value) -> std::result::Result<(), String> {
        match value {
            Value::Number(n) => match n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)) {
                Some(n) => self.check_int(name, n),
                None => Ok(()),
            },
            Value::String(s) => self.check_len(name, s),
            _ => Ok(()),
        }
    }

    /// The limits as a phrase for help text, such as `1 to 2000` or `up to 50 characters`;
    /// empty when there are none.
    pub fn describe(&self) -> String {
        let range = match (self.minimum, self.maximum) {
            (Some(min), Some(max)) => format!("{min} to {max}"),
            (Some(min), None) => format!("at least {min}"),
            (None, Some(max)) => format!("at most {max}"),
            (None, None) => String::new(),
        };
        match self.max_length {
            Some(max) if range.is_empty() => format!("up to {max} characters"),
            Some(max) => format!("{range}, up to {max} characters"),
            None => range,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Limits;
    use crate::{OPERATIONS, Operation, operations};

    #[test]
    fn parameters_and_operations_are_found_by_their_api_names() {
        let op = &operations::RESET_CUSTOMER_USER_PASSWORD;
        assert_eq!(op.param("customerId").map(|p| p.name), Some("customerId"));
        assert_eq!(
            op.param("customerUserId").map(|p| p.setter),
            Some("customer_user_id")
        );
        assert!(op.param("nope").is_none());
        for op in OPERATIONS {
            assert_eq!(Operation::find(op.id).map(|o| o.id), Some(op.id));
        }
        assert!(Operation::find("nope").is_none());
    }

    #[test]
    fn operations_are_equal_by_id_and_show_their_data_and_bodies_answer_what_they_take() {
        let (reset, get) = (
            &operations::RESET_CUSTOMER_USER_PASSWORD,
            &operations::GET_CUSTOMER_USER,
        );
        assert_eq!(reset, reset);
        assert_ne!(reset, get);
        let shown = format!("{reset:?}");
        assert!(
            shown.starts_with("Operation { id: \"resetCustomerUserPassword\", method: PATCH"),
            "{shown}"
        );
        assert!(
            shown.ends_with(", body: Json { required: true }, .. }"),
            "{shown}"
        );
        use super::Body;
        assert!(!Body::None.is_some() && !Body::None.is_required());
        assert!(Body::Json { required: false }.is_some());
        assert!(!Body::Json { required: false }.is_required());
        assert!(Body::Json { required: true }.is_required());
    }

    #[test]
    fn limits_are_checked_on_typed_values_and_described_for_help() {
        let range = Limits {
            minimum: Some(1),
            maximum: Some(2000),
            max_length: None,
        };
        assert_eq!(range.check_int("pageSize", 1), Ok(()));
        assert_eq!(range.check_int("pageSize", 2000), Ok(()));
        assert_eq!(
            range.check_int("pageSize", 0),
            Err("pageSize: 0 is below the minimum of 1".into())
        );
        assert_eq!(
            range.check_int("pageSize", 2001),
            Err("pageSize: 2001 is over the maximum of 2000".into())
        );
        assert_eq!(
            range.check_json("pageSize", &json!(2001)),
            Err("pageSize: 2001 is over the maximum of 2000".into())
        );
        assert_eq!(
            range.check_json("pageSize", &json!(u64::MAX)),
            range.check_int("pageSize", i128::from(u64::MAX))
        );
        assert_eq!(range.check_json("pageSize", &json!(1.5)), Ok(()));
        assert_eq!(range.describe(), "1 to 2000");
        let text = Limits {
            max_length: Some(3),
            ..Limits::default()
        };
        assert_eq!(text.check_len("name", "äöü"), Ok(()));
        assert_eq!(
            text.check_json("name", &json!("abcd")),
            Err("name: longer than 3 characters".into())
        );
        assert_eq!(text.describe(), "up to 3 characters");
        assert_eq!(Limits::default().describe(), "");
        let both = Limits {
            minimum: Some(1),
            maximum: Some(5),
            max_length: Some(3),
        };
        assert_eq!(both.describe(), "1 to 5, up to 3 characters");
        // The spec's own limits reach the data, by the spec's names.
        let display_name = Limits::of_property("CustomerUser", "displayName");
        assert_eq!(display_name.max_length, Some(50));
        assert_eq!(display_name.describe(), "up to 50 characters");
        assert_eq!(
            Limits::of_property("CustomerUser", "location"),
            Limits::default()
        );
        let page_size = crate::operations::LIST_CUSTOMER_USERS
            .param("pageSize")
            .unwrap();
        assert_eq!(
            (page_size.limits.minimum, page_size.limits.maximum),
            (Some(1), Some(2000))
        );
        let low = Limits {
            minimum: Some(-5),
            ..Limits::default()
        };
        assert_eq!(low.describe(), "at least -5");
        assert_eq!(
            low.check_int("n", -6),
            Err("n: -6 is below the minimum of -5".into())
        );
    }
}
