//! The client's view of the API's pressure, shared by all of its calls (and its clones):
//!
//! - **The retry budget**, in the manner of the AWS SDKs' standard retry mode: a retry
//!   spends tokens from one bucket per client, a retry after a timeout spends more, and a
//!   success puts some back. With the bucket empty a failed call is not sent again, so
//!   that an outage is not met with three times the load.
//! - **Calls in flight**: at most [`ClientBuilder::max_in_flight`] attempts are on the
//!   wire at once; more wait their turn.
//! - **The shared slowdown**, an AIMD window over the calls in flight: a 429 (or a 503
//!   with `Retry-After`) halves the window and holds every call of the client until the
//!   `Retry-After` has passed, not only the call that was answered; each success widens
//!   the window again, by one call per window's worth of successes, up to the limit.
//!
//! Until the API pushes back the window is the limit, so a call pays two uncontended
//! lock round trips and waits for nothing.
//!
//! [`ClientBuilder::max_in_flight`]: crate::ClientBuilder::max_in_flight

use std::{
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    time::Duration,
};

// tokio's clock, not std's: the same instant at run time, and one that a test can pause.
use tokio::{sync::Notify, time::Instant};

/// The calls a client has on the wire at once unless
/// [`ClientBuilder::max_in_flight`](crate::ClientBuilder::max_in_flight) sets another.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

/// What a retry spends from the budget (the AWS SDKs' figure).
pub(crate) const RETRY_COST: u32 = 5;
/// What a retry after a timeout spends: a timeout says more about the server's health.
pub(crate) const TIMEOUT_RETRY_COST: u32 = 10;
/// What a call that succeeded at its first attempt puts back.
pub(crate) const SUCCESS_REFUND: u32 = 1;

/// The shared state; one per client.
#[derive(Debug)]
pub(crate) struct Pressure {
    budget: Option<Budget>,
    flow: Mutex<Flow>,
    /// Whether the window is below its limit: until then a success has nothing to widen
    /// and takes no lock.
    narrowed: AtomicBool,
    /// Woken when a call leaves the wire, so that a waiting one may go.
    wake: Notify,
}

#[derive(Debug)]
struct Budget {
    capacity: u32,
    tokens: AtomicU32,
}

#[derive(Debug)]
struct Flow {
    max: u32,
    in_flight: u32,
    /// How many calls may be in flight now: `max` until the API pushes back.
    window: f64,
    /// Counts the window's cuts: one burst of 429s, sent in the same window, cuts once.
    epoch: u64,
    /// No call is sent before this: the latest `Retry-After` that the API asked for.
    not_before: Option<Instant>,
    /// Calls waiting for a place: only then does a call leaving the wire wake one.
    waiting: u32,
}

impl Flow {
    /// A place on the wire, when the slowdown has passed and the window has room: the
    /// window's epoch.
    fn take(&mut self) -> Option<u64> {
        if let Some(t) = self.not_before {
            if t > Instant::now() {
                return None;
            }
            self.not_before = None;
        }
        if f64::from(self.in_flight) < self.window.floor().max(1.0) {
            self.in_flight = self.in_flight.saturating_add(1);
            Some(self.epoch)
        } else {
            None
        }
    }
}

/// A call's place on the wire: given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot<'a> {
    pressure: &'a Pressure,
    epoch: u64,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut flow = self.pressure.lock();
        flow.in_flight = flow.in_flight.saturating_sub(1);
        let wake = flow.waiting > 0;
        drop(flow);
        if wake {
            self.pressure.wake.notify_one();
        }
    }
}

impl Pressure {
    /// A client's state: a full budget of `budget` tokens (`None`: no budget), and at most
    /// `max_in_flight` calls on the wire (at least one).
    pub(crate) fn new(budget: Option<u32>, max_in_flight: usize) -> Self {
        let max = u32::try_from(max_in_flight).unwrap_or(u32::MAX).max(1);
        Pressure {
            budget: budget.map(|capacity| Budget {
                capacity,
                tokens: AtomicU32::new(capacity),
            }),
            flow: Mutex::new(Flow {
                max,
                in_flight: 0,
                window: f64::from(max),
                epoch: 0,
                not_before: None,
                waiting: 0,
            }),
            narrowed: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Flow> {
        // The state stays consistent whatever panicked while it was held: every change
        // is one assignment.
        self.flow.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until the API's slowdown has passed and the window has room, and takes a
    /// place on the wire. Returns how long it waited (zero when it did not).
    pub(crate) async fn slot(&self) -> (Slot<'_>, Duration) {
        // The common case, before the API ever pushed back: one lock, no clock, no waiter.
        {
            let mut flow = self.lock();
            if let Some(epoch) = flow.take() {
                return (
                    Slot {
                        pressure: self,
                        epoch,
                    },
                    Duration::ZERO,
                );
            }
        }
        let since = Instant::now();
        loop {
            // Registered before the check, so that a place given back between the check
            // and the wait is not missed.
            let wake = self.wake.notified();
            tokio::pin!(wake);
            wake.as_mut().enable();
            let hold = {
                let mut flow = self.lock();
                let hold = flow.not_before.filter(|t| *t > Instant::now());
                if hold.is_none()
                    && let Some(epoch) = flow.take()
                {
                    return (
                        Slot {
                            pressure: self,
                            epoch,
                        },
                        since.elapsed(),
                    );
                }
                flow.waiting = flow.waiting.saturating_add(1);
                hold
            };
            match hold {
                Some(until) => tokio::time::sleep_until(until).await,
                None => wake.await,
            }
            let mut flow = self.lock();
            flow.waiting = flow.waiting.saturating_sub(1);
        }
    }

    /// The API pushed back on the call sent in `slot` (429, or 503 with `Retry-After`):
    /// halve the window (from the calls in flight, if fewer), once for the calls sent in
    /// the same window, and hold every call for `wait`.
    pub(crate) fn pushed_back(&self, slot: &Slot<'_>, wait: Option<Duration>) {
        let mut flow = self.lock();
        if slot.epoch == flow.epoch {
            // Half of what was in flight (this call included), as TCP halves its flight
            // size: a window far above what the caller sends would take several cuts to
            // slow anything.
            let flying = f64::from(flow.in_flight.max(1));
            flow.window = (flow.window.min(flying) / 2.0).max(1.0);
            flow.epoch = flow.epoch.wrapping_add(1);
            self.narrowed.store(true, Ordering::Relaxed);
        }
        if let Some(wait) = wait.filter(|w| !w.is_zero()) {
            let until = Instant::now().checked_add(wait);
            flow.not_before = flow.not_before.max(until);
        }
    }

    /// A call succeeded: widen the window by one call per window's worth of successes.
    pub(crate) fn succeeded(&self) {
        if !self.narrowed.load(Ordering::Relaxed) {
            return;
        }
        let mut flow = self.lock();
        let max = f64::from(flow.max);
        if flow.window < max {
            flow.window = (flow.window + 1.0 / flow.window).min(max);
        }
        if flow.window >= max {
            self.narrowed.store(false, Ordering::Relaxed);
        }
    }

    /// Spends `cost` tokens for a retry: false, and nothing spent, when the budget has
    /// fewer. Always true without a budget.
    pub(crate) fn spend(&self, cost: u32) -> bool {
        let Some(budget) = &self.budget else {
            return true;
        };
        budget
            .tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| t.checked_sub(cost))
            .is_ok()
    }

    /// Puts `tokens` back, up to the budget's capacity.
    pub(crate) fn refund(&self, tokens: u32) {
        if let Some(budget) = &self.budget {
            let _ = budget
                .tokens
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                    (t < budget.capacity).then(|| t.saturating_add(tokens).min(budget.capacity))
                });
        }
    }

    /// The budget's tokens now, and its capacity (for the error's words and the tests).
    pub(crate) fn budget(&self) -> Option<(u32, u32)> {
        self.budget
            .as_ref()
            .map(|b| (b.tokens.load(Ordering::Acquire), b.capacity))
    }

    /// The window now (for the tests).
    #[cfg(test)]
    fn window(&self) -> f64 {
        self.lock().window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_spent_by_retries_and_refilled_by_successes_up_to_its_capacity() {
        let p = Pressure::new(Some(12), 4);
        assert!(p.spend(TIMEOUT_RETRY_COST));
        assert!(!p.spend(RETRY_COST), "2 tokens left: a retry costs 5");
        assert_eq!(p.budget(), Some((2, 12)));
        p.refund(RETRY_COST);
        assert_eq!(p.budget(), Some((7, 12)));
        assert!(p.spend(RETRY_COST));
        p.refund(100);
        assert_eq!(p.budget(), Some((12, 12)));
        let unlimited = Pressure::new(None, 4);
        assert!((0..1000).all(|_| unlimited.spend(TIMEOUT_RETRY_COST)));
        assert_eq!(unlimited.budget(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pushback_halves_the_window_once_per_window_and_successes_widen_it_again() {
        let p = Pressure::new(None, 8);
        let mut slots = Vec::new();
        for _ in 0..6 {
            let (slot, waited) = p.slot().await;
            assert_eq!(waited, Duration::ZERO);
            slots.push(slot);
        }
        // Two 429s to calls sent in the same window: one cut, to half the six in flight.
        p.pushed_back(&slots[0], None);
        p.pushed_back(&slots[1], None);
        assert_eq!(p.window(), 3.0);
        drop(slots);
        let (c, _) = p.slot().await;
        let (d, _) = p.slot().await;
        let (e, _) = p.slot().await;
        p.pushed_back(&c, None);
        p.pushed_back(&d, None);
        assert_eq!(p.window(), 1.5);
        drop((c, d, e));
        // 1.5 lets one call in flight; successes widen it.
        p.succeeded();
        assert_eq!(p.window(), 1.5 + 1.0 / 1.5);
        p.succeeded();
        p.succeeded();
        assert!(p.window() > 3.0 && p.window() < 3.1, "{}", p.window());
        for _ in 0..200 {
            p.succeeded();
        }
        assert_eq!(p.window(), 8.0, "never above the limit");
        let floor = Pressure::new(None, 1);
        let (d, _) = floor.slot().await;
        floor.pushed_back(&d, None);
        assert_eq!(floor.window(), 1.0, "never below one call");
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_window_makes_the_next_call_wait_for_a_place() {
        let p = std::sync::Arc::new(Pressure::new(None, 2));
        let (a, _) = p.slot().await;
        let (_b, _) = p.slot().await;
        let waiting = {
            let p = p.clone();
            tokio::spawn(async move {
                let (_c, waited) = p.slot().await;
                waited
            })
        };
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert!(!waiting.is_finished(), "two in flight: the third waits");
        drop(a);
        let waited = waiting.await.unwrap();
        assert_eq!(waited, Duration::from_millis(250));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_holds_every_call_of_the_client() {
        let p = Pressure::new(None, 8);
        let (a, _) = p.slot().await;
        p.pushed_back(&a, Some(Duration::from_secs(1)));
        drop(a);
        let started = tokio::time::Instant::now();
        let (b, waited) = p.slot().await;
        assert_eq!(started.elapsed(), Duration::from_secs(1));
        assert_eq!(waited, Duration::from_secs(1));
        // The window is one call now (half of the one in flight): b leaves it first.
        drop(b);
        // Once it has passed, nothing waits.
        let (_c, waited) = p.slot().await;
        assert_eq!(waited, Duration::ZERO);
    }
}
