//! How long to wait, and how many times: the retry policy, the doubling backoff that both
//! the retries and the token cache use, the wait a `Retry-After` header asks for, and the
//! longest wait of any kind. A leaf module: it uses nothing else of the crate's. When a
//! failed call may be sent again at all is `retry`'s question.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The longest wait or limit that any setting may ask for: backoffs, `Retry-After`,
/// deadlines and timeouts longer than a day are cut to a day, so that no sum of them can
/// overflow and no call waits past what anybody meant.
pub(crate) const LONGEST: Duration = Duration::from_secs(24 * 60 * 60);

/// The tokens of a client's retry budget unless [`RetryPolicy::retry_budget`] sets others.
pub const DEFAULT_RETRY_BUDGET: u32 = 500;

/// How failed calls are retried. On by default; [`RetryPolicy::none`] turns it off.
///
/// A call is sent again when the request cannot have been processed: the connection was
/// never made, or the server answered 429 or 503. A request that may have reached the
/// server (a timeout after sending, a 5xx, a connection that broke mid-answer) is sent
/// again only when the operation is idempotent: a GET, HEAD, PUT or DELETE, unless the
/// spec says otherwise ([`Operation::idempotent`](crate::Operation::idempotent)). A PATCH
/// or POST never is. Every attempt carries the same correlation id.
///
/// The defaults ([`RetryPolicy::default`], what a client has unless it is given another):
///
/// | setting | default |
/// | --- | --- |
/// | attempts ([`max_attempts`](RetryPolicy::max_attempts)) | 3 (the first and two retries) |
/// | backoff ([`backoff`](RetryPolicy::backoff)) | from 100 ms, doubling, up to 5 s, with full jitter |
/// | `Retry-After` honoured up to ([`max_retry_after`](RetryPolicy::max_retry_after)) | 30 s |
/// | all attempts and waits within ([`deadline`](RetryPolicy::deadline)) | 60 s |
/// | retry budget, shared by the client's calls ([`retry_budget`](RetryPolicy::retry_budget)) | 500 tokens |
///
/// The retry budget is the AWS SDKs' standard one: a retry spends 5 tokens (10 after a
/// timeout), a call that succeeds at its first attempt puts 1 back, and one that succeeds
/// after retries puts back what its last retry spent. With fewer tokens than a retry
/// costs, a failed call is returned as it is, and its message says that the budget is
/// spent. So during an outage the client sends about one request per call once some 100
/// retries have failed, rather than three.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    deadline: Option<Duration>,
    retry_budget: Option<u32>,
}

impl Default for RetryPolicy {
    /// Three attempts, backoff from 100 ms up to 5 s with full jitter, `Retry-After`
    /// honoured up to 30 s, all of it within 60 s, and a retry budget of 500 tokens.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(30),
            deadline: Some(Duration::from_secs(60)),
            retry_budget: Some(DEFAULT_RETRY_BUDGET),
        }
    }
}

impl RetryPolicy {
    /// No retries: every call is sent once. (A 401 with a token provider that can refresh
    /// is still replayed once with a new token: the refused request was not processed.)
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// At most `attempts` sends of one call, the first included (0 counts as 1).
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff before retry `n` is a random delay between zero and
    /// `min(max, base * 2^(n-1))` ("full jitter"). Each is cut to a day.
    #[must_use]
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_backoff = base.min(LONGEST);
        self.max_backoff = max.min(LONGEST).max(self.base_backoff);
        self
    }

    /// The longest `Retry-After` that is honoured; a longer one is cut to this. At most a
    /// day.
    #[must_use]
    pub fn max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max.min(LONGEST);
        self
    }

    /// No retry starts once this much time has passed since the call began (`None`: no
    /// limit other than the attempts). At most a day.
    #[must_use]
    pub fn deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline.map(|d| d.min(LONGEST));
        self
    }

    /// The tokens of the retry budget that all calls of a client share (`None`: no
    /// budget, every call retries as the rest of the policy allows). See the table above
    /// for what a retry spends and a success puts back.
    #[must_use]
    pub fn retry_budget(mut self, tokens: Option<u32>) -> Self {
        self.retry_budget = tokens;
        self
    }

    pub(crate) fn budget(&self) -> Option<u32> {
        self.retry_budget
    }

    pub(crate) fn attempts(&self) -> u32 {
        self.max_attempts
    }

    pub(crate) fn deadline_after(&self) -> Option<Duration> {
        self.deadline
    }

    /// The delay before the retry that follows attempt `attempt` (1-based).
    pub(crate) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(asked) = retry_after {
            return asked.min(self.max_retry_after);
        }
        let ceiling = doubling(self.base_backoff, self.max_backoff, attempt);
        // Integer jitter: no float that could round past the ceiling.
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=nanos))
    }
}

/// `base` doubled for each of the `n` failures in a row after the first, up to `max`: the
/// ceiling of the backoff after failure `n` (1-based).
pub(crate) fn doubling(base: Duration, max: Duration, n: u32) -> Duration {
    let exp = n.saturating_sub(1).min(20);
    base.saturating_mul(1_u32.checked_shl(exp).unwrap_or(u32::MAX))
        .min(max)
}

/// The delay that a `Retry-After` header asks for: seconds, or an HTTP date; at most
/// [`LONGEST`]. The policy's [`max_retry_after`](RetryPolicy::max_retry_after) caps how
/// long a retry waits, in [`RetryPolicy::delay`].
pub(crate) fn asked_wait(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    let asked = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => httpdate::parse_http_date(value)
            .ok()?
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    };
    Some(asked.min(LONGEST))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date_and_the_wait_is_capped() {
        assert_eq!(asked_wait(&headers("2")), Some(Duration::from_secs(2)));
        assert_eq!(
            asked_wait(&headers("3600")),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(asked_wait(&headers(&u64::MAX.to_string())), Some(LONGEST));
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(5));
        let asked = asked_wait(&headers(&soon)).unwrap();
        assert!(
            asked <= Duration::from_secs(5) && asked >= Duration::from_secs(3),
            "{asked:?}"
        );
        let past = httpdate::fmt_http_date(SystemTime::now() - Duration::from_secs(60));
        assert_eq!(asked_wait(&headers(&past)), Some(Duration::ZERO));
        assert_eq!(asked_wait(&headers("soon")), None);
        assert_eq!(asked_wait(&HeaderMap::new()), None);
        // The policy waits no longer than its cap, whatever the server asked.
        let policy = RetryPolicy::default().max_retry_after(Duration::from_secs(10));
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(10)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn the_backoff_doubles_from_the_second_failure_up_to_its_ceiling() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(1);
        let waits: Vec<_> = (0..7).map(|n| doubling(base, max, n).as_millis()).collect();
        assert_eq!(waits, [100, 100, 200, 400, 800, 1000, 1000]);
        assert_eq!(doubling(base, Duration::MAX, u32::MAX), base * (1 << 20));
    }

    #[test]
    fn backoff_is_jittered_below_an_exponential_ceiling() {
        let policy =
            RetryPolicy::default().backoff(Duration::from_millis(100), Duration::from_millis(350));
        for _ in 0..200 {
            assert!(policy.delay(1, None) <= Duration::from_millis(100));
            assert!(policy.delay(2, None) <= Duration::from_millis(200));
            assert!(policy.delay(3, None) <= Duration::from_millis(350));
            assert!(policy.delay(40, None) <= Duration::from_millis(350));
        }
        let spread: std::collections::BTreeSet<_> =
            (0..50).map(|_| policy.delay(3, None)).collect();
        assert!(spread.len() > 10, "full jitter spreads the delays");
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn no_wait_is_longer_than_a_day() {
        let day = Duration::from_secs(86_400);
        let policy = RetryPolicy::default()
            .max_retry_after(Duration::MAX)
            .backoff(Duration::MAX, Duration::MAX)
            .deadline(Some(Duration::MAX));
        assert_eq!(policy.delay(1, Some(Duration::MAX)), day);
        assert!(policy.delay(30, None) <= day);
        assert_eq!(policy.deadline_after(), Some(day));
    }

    #[test]
    fn none_sends_once() {
        assert_eq!(RetryPolicy::none().attempts(), 1);
        assert_eq!(RetryPolicy::default().max_attempts(0).attempts(), 1);
    }
}
