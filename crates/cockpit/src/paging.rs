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

use std::future::Future;

use futures::{Stream, TryStreamExt, stream};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    error::{Error, ErrorKind, Result},
    pipeline::Response,
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
    /// Whether the server said there is a next page.
    pub has_next_page: bool,
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
    pub(crate) has_next_page: bool,
    pub(crate) page_number: Option<i32>,
    pub(crate) total_pages: Option<i32>,
    pub(crate) total_count: Option<i32>,
}

/// Where the walk is: the next page to fetch, and enough of the page before to tell a
/// repeat (its length, and its first and last items as JSON) without holding it.
struct Walk<F> {
    next: Option<i32>,
    fetch: F,
    previous: Option<(usize, Value, Value)>,
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
        next: Some(first),
        fetch,
        previous: None,
    };
    stream::try_unfold(walk, |mut walk| async move {
        let Some(number) = walk.next else {
            return Ok(None);
        };
        let done = (walk.fetch)(number)
            .await
            .map_err(|e| e.with_page(number))?;
        let parts = done.value.into_parts();
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
        if parts.has_next_page && parts.items.is_empty() {
            return Err(endless(
                "the server says there is a next page, and sent no items on this one".into(),
            ));
        }
        if let Some(total) = parts
            .total_pages
            .filter(|t| parts.has_next_page && number >= *t)
        {
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
        walk.next = if parts.has_next_page {
            Some(number.checked_add(1).ok_or_else(|| {
                endless("the server says there is a page after the last page number".into())
            })?)
        } else {
            None
        };
        let page = Page {
            number,
            items: parts.items,
            total_count: parts.total_count,
            total_pages: parts.total_pages,
            has_next_page: parts.has_next_page,
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
pub(crate) fn first_page(page_number: &std::result::Result<Option<i32>, String>) -> i32 {
    match page_number {
        Ok(Some(n)) => *n,
        _ => 1,
    }
}
