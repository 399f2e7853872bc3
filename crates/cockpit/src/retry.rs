//! When a failed call is sent again, and after how long.

use crate::{
    error::{Error, ErrorKind},
    operation::Operation,
};

/// One retry classifier: from a failed attempt's error and the operation, whether the call
/// may be sent again (`Some(true)`), must not be (`Some(false)`), or this classifier has no
/// opinion (`None`).
type Classifier = fn(&Error, &Operation) -> Option<bool>;

/// The retry classifiers, in priority order: the first with an opinion decides, and with
/// none the call is not sent again. Nothing here names an operation: what differs between
/// operations is data, their [`Operation::idempotent`].
const CLASSIFIERS: &[Classifier] = &[not_processed, transient_if_idempotent];

/// The request provably never reached the server, or the server said it did not process
/// it (a refused connection, 429, 503): safe for any operation. The conversion into
/// [`Error`] marks those.
fn not_processed(err: &Error, _: &Operation) -> Option<bool> {
    err.is_retryable().then_some(true)
}

/// A timeout, a broken connection or a 5xx may have been processed: only an idempotent
/// operation may be sent again.
fn transient_if_idempotent(err: &Error, op: &Operation) -> Option<bool> {
    matches!(
        err.kind(),
        ErrorKind::Timeout | ErrorKind::Connection | ErrorKind::Server
    )
    .then_some(op.idempotent)
}

/// The error, marked retryable when the classifiers say so.
pub(crate) fn classify(err: Error, op: &Operation) -> Error {
    let retry = CLASSIFIERS
        .iter()
        .find_map(|classifier| classifier(&err, op))
        .unwrap_or(false);
    err.retryable(retry)
}
