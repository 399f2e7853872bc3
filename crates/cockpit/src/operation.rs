//! What the spec says of each operation, as data: the pipeline reads its method's
//! idempotency, the CLI its parameters, the mock its method and path.

/// One operation of the API, as the spec describes it. The constants in
/// [`operations`](crate::operations) and the list [`OPERATIONS`](crate::OPERATIONS) are
/// generated from the spec by `cargo xtask codegen`.
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Operation {
    /// The spec's `operationId`, such as `resetCustomerUserPassword`.
    pub id: &'static str,
    /// The HTTP method, upper case.
    pub method: &'static str,
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
    /// Whether the operation takes a JSON request body.
    pub body: bool,
    /// Whether that body is required.
    pub body_required: bool,
}

impl Operation {
    /// The operation with this `operationId`, if the spec has it.
    pub fn find(id: &str) -> Option<&'static Operation> {
        crate::OPERATIONS.iter().copied().find(|op| op.id == id)
    }

    /// The parameter with this name, if the operation has it.
    pub fn param(&self, name: &str) -> Option<&'static Param> {
        self.params.iter().find(|p| p.name == name)
    }
}

/// One parameter of an [`Operation`].
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Param {
    /// Its name in the API, such as `customerId`.
    pub name: &'static str,
    /// Where it goes.
    pub location: ParamIn,
    /// Whether the API requires it.
    pub required: bool,
    /// The spec's description.
    pub description: &'static str,
    /// A short name for its type: `uuid`, `int32`, `string`, or the values of an enum
    /// joined by `|`.
    pub hint: &'static str,
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

#[cfg(test)]
mod tests {
    use crate::{OPERATIONS, operations};

    #[test]
    fn parameters_and_operations_are_found_by_their_api_names() {
        let op = &operations::RESET_CUSTOMER_USER_PASSWORD;
        assert_eq!(op.param("customerId").map(|p| p.name), Some("customerId"));
        assert_eq!(
            op.param("customerUserId").map(|p| p.name),
            Some("customerUserId")
        );
        assert!(op.param("nope").is_none());
        for op in OPERATIONS {
            assert_eq!(crate::Operation::find(op.id).map(|o| o.id), Some(op.id));
        }
        assert!(crate::Operation::find("nope").is_none());
    }
}
