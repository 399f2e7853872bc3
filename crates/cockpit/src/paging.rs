//! Paged lists as streams: every page of an operation that the spec documents with the
//! API's paging convention (a `pageNumber` parameter, and a body with `items` and
//! `hasNextPage`), walked through the one pipeline, a call a page.
//!
//! The generated builder of such an operation has `.pages()` and `.items()`; the walk is
//! here, written once. It holds one page at a time, sends the call's tenant on every page
//! and a correlation id of its own with each, starts where the builder's `page_number`
//! says (to resume), and ends with an error that names the page and its correlation id:
//! when a page fails after the pipeline's retries, and when the server would never end
//! (a page that repeats the one before, a next page promised with no items, or past the
//! total it gave).
//!
//! A page whose answer has no `hasNextPage` is not taken as the last: the walk decides from
//! `totalPages`, then `totalCount`, then whether the page was full (its `pageSize`); when
//! none of these tells, it ends with an error after that page, never short in silence.

use std::future::Future;

use futures::{Stream, TryStreamExt, stream};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    error::{Error, ErrorKind, Result},
    response::Response,
};

/// One page of a paged list.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// Its page number, as sent in `pageNumber` (the first is 1).
    pub number: i32,
    /// Its items.
    pub items: Vec<T>,
    /// `totalCount`, where the server sent it.
    pub total_count: Option<i32>,
    /// `totalPages`, where the server sent it.
    pub total_pages: Option<i32>,
    /// Whether there is a next page: as the server said in `hasNextPage`, or, where it
    /// did not say, as `totalPages`, `totalCount` or a full page told the walk.
    pub has_next_page: bool,
    /// The HTTP status of this page's answer.
    pub status: reqwest::StatusCode,
    /// The `X-Correlation-Id` that this page's call sent.
    pub correlation_id: Uuid,
    /// How many times this page's request was sent.
    pub attempts: u32,
}

/// What the walk reads of a page body; the generated glue implements it for each paged
/// response type.
pub(crate) trait Paged: Send {
    /// The type of the items.
    type Item: Send + serde::Serialize;

    /// The page's parts.
    fn into_parts(self) -> Parts<Self::Item>;
}

/// A page body, in parts.
pub(crate) struct Parts<T> {
    pub(crate) items: Vec<T>,
    pub(crate) has_next_page: Option<bool>,
    pub(crate) page_number: Option<i32>,
    pub(crate) page_size: Option<i32>,
    pub(crate) total_pages: Option<i32>,
    pub(crate) total_count: Option<i32>,
}

/// Where the walk is: the next page to fetch, and enough of the page before to tell a
/// repeat (its length, and its first and last items as JSON) without holding it.
struct Walk<F> {
    next: Next,
    fetch: F,
    previous: Option<(usize, Value, Value)>,
    /// The page the walk started from, and how many items it has had since.
    first: i32,
    walked: u64,
}

/// What the walk does after a page.
enum Next {
    Page(i32),
    Done,
    /// The page before could not tell whether it was the last: this error ends the walk,
    /// after that page was given.
    Unknown(Box<Error>),
}

/// Whether there is a page after `number`, for an answer without `hasNextPage`; `None`
/// when nothing in it tells.
fn more_after<T>(parts: &Parts<T>, number: i32, first: i32, walked: u64) -> Option<bool> {
    if let Some(total) = parts.total_pages {
        return Some(number < total);
    }
    let size = parts
        .page_size
        .and_then(|s| u64::try_from(s).ok())
        .filter(|s| *s > 0);
    if let Some(count) = parts.total_count.and_then(|c| u64::try_from(c).ok()) {
        let before = match (first, size) {
            (1, _) => Some(walked),
            (_, Some(size)) => u64::try_from(number).ok().map(|n| {
                n.saturating_sub(1)
                    .saturating_mul(size)
                    .saturating_add(parts.items.len() as u64)
            }),
            _ => None,
        };
        if let Some(before) = before {
            return Some(before < count);
        }
    }
    size.map(|size| parts.items.len() as u64 >= size)
}

/// Every page from `first` on, fetched with `fetch(page_number)`.
pub(crate) fn pages<'a, P, F, Fut>(
    first: i32,
    fetch: F,
) -> impl Stream<Item = Result<Page<P::Item>>> + Send + 'a
where
    P: Paged + 'a,
    F: FnMut(i32) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Response<P>>> + Send + 'a,
{
    let walk = Walk {
        next: Next::Page(first),
        fetch,
        previous: None,
        first,
        walked: 0,
    };
    stream::try_unfold(walk, |mut walk| async move {
        let number = match std::mem::replace(&mut walk.next, Next::Done) {
            Next::Page(number) => number,
            Next::Done => return Ok(None),
            Next::Unknown(e) => return Err(*e),
        };
        let done = (walk.fetch)(number)
            .await
            .map_err(|e| e.with_page(number))?;
        let parts = done.value.into_parts();
        walk.walked = walk.walked.saturating_add(parts.items.len() as u64);
        let said = parts.has_next_page;
        let has_next_page = said
            .or_else(|| more_after(&parts, number, walk.first, walk.walked))
            .unwrap_or(false);
        let endless = |what: String| {
            Error::new(ErrorKind::MalformedResponse)
                .with_status(done.status)
                .with_detail(what)
                .with_correlation_id(done.correlation_id)
                .with_attempts(done.attempts)
                .with_page(number)
        };
        if let Some(answered) = parts.page_number.filter(|n| *n != number) {
            return Err(endless(format!("the server answered page {answered}")));
        }
        if has_next_page && parts.items.is_empty() {
            return Err(endless(
                "the server says there is a next page, and sent no items on this one".into(),
            ));
        }
        if let Some(total) = parts.total_pages.filter(|t| has_next_page && number >= *t) {
            return Err(endless(format!(
                "the server says there is a next page after the last of its {total}"
            )));
        }
        let json = |item: Option<&P::Item>| {
            item.and_then(|i| serde_json::to_value(i).ok())
                .unwrap_or(Value::Null)
        };
        let shape = (
            parts.items.len(),
            json(parts.items.first()),
            json(parts.items.last()),
        );
        if shape.0 > 0 && walk.previous.as_ref() == Some(&shape) {
            return Err(endless("the page repeats the one before it".into()));
        }
        walk.previous = Some(shape);
        walk.next = if has_next_page {
            Next::Page(number.checked_add(1).ok_or_else(|| {
                endless("the server says there is a page after the last page number".into())
            })?)
        } else if said.is_none() && more_after(&parts, number, walk.first, walk.walked).is_none() {
            Next::Unknown(Box::new(endless(format!(
                "the answer for page {number} has no hasNextPage, and no totalPages, totalCount or pageSize that tells whether it is the last; page {number} was read, and the walk stops here rather than end short (resume with page_number({}))",
                number.saturating_add(1)
            )).with_page(number.saturating_add(1))))
        } else {
            Next::Done
        };
        let page = Page {
            number,
            items: parts.items,
            total_count: parts.total_count,
            total_pages: parts.total_pages,
            has_next_page,
            status: done.status,
            correlation_id: done.correlation_id,
            attempts: done.attempts,
        };
        Ok(Some((page, walk)))
    })
}

/// The items of every page, in order.
pub(crate) fn items<'a, T: Send + 'a>(
    pages: impl Stream<Item = Result<Page<T>>> + Send + 'a,
) -> impl Stream<Item = Result<T>> + Send + 'a {
    pages
        .map_ok(|page| stream::iter(page.items.into_iter().map(Ok)))
        .try_flatten()
}

/// The page to start from: the one the builder names, or the first.
pub(crate) fn first_page(page_number: Option<i32>) -> i32 {
    page_number.unwrap_or(1)
}
