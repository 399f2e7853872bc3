//! Drift: what an answer carries that the spec does not say. The response types read it
//! (see `cargo xtask codegen`'s tolerant reader); [`Drift`] finds it again in a decoded
//! value, so that the facade can report what the spec should learn.
//!
//! `cargo xtask codegen` implements [`Drift`] for every component schema that responses
//! use, from the spec as written: its `required` properties that are not `nullable`, its
//! `maxLength`s, and the `extra` map of unknown properties that the response type keeps.
//! The walk allocates nothing unless it finds something.

use std::fmt;

/// What differs from the spec at one JSON path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DriftKind {
    /// A property that the spec does not have.
    UnknownProperty,
    /// A property that the spec marks required and not nullable, absent or `null`.
    Missing,
    /// A string longer than the spec's `maxLength` (a limit of requests).
    OverLimit(usize),
    /// A value that the spec's enum does not list.
    UnknownValue,
}

impl fmt::Display for DriftKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriftKind::UnknownProperty => f.write_str(
                "a property the spec does not have: add it to the schema's properties",
            ),
            DriftKind::Missing => f.write_str(
                "absent or null, which the spec marks required and not nullable: make it optional or nullable",
            ),
            DriftKind::OverLimit(n) => write!(
                f,
                "longer than the spec's maxLength of {n}: the limit is the API's for requests, and stored values exceed it"
            ),
            DriftKind::UnknownValue => {
                f.write_str("a value the spec's enum does not list: add it to the enum")
            }
        }
    }
}

/// One finding: where, as a JSON path with array indexes left out (`items[].email`), and
/// what.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Found {
    /// The JSON path, such as `items[].userPrincipalName`.
    pub path: String,
    /// What differs there.
    pub kind: DriftKind,
}

/// The walk's state: the path so far, and what it found.
#[derive(Debug, Default)]
pub struct Report {
    path: String,
    found: Vec<Found>,
}

impl Report {
    /// What the walk found, in the order found, each path and kind once.
    pub fn into_found(mut self) -> Vec<Found> {
        let mut seen = std::collections::HashSet::new();
        self.found.retain(|f| seen.insert(f.clone()));
        self.found
    }

    fn push(&mut self, name: &str, kind: DriftKind) {
        let path = if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.path)
        };
        self.found.push(Found { path, kind });
    }

    /// What differs at the current path itself (an enum's unknown value).
    pub fn here(&mut self, kind: DriftKind) {
        let path = if self.path.is_empty() {
            ".".to_string()
        } else {
            self.path.clone()
        };
        self.found.push(Found { path, kind });
    }

    /// The unknown properties that a response type kept.
    pub fn unknown(&mut self, extra: &serde_json::Map<String, serde_json::Value>) {
        for name in extra.keys() {
            self.push(name, DriftKind::UnknownProperty);
        }
    }

    /// A property that the spec says is always there and never `null`.
    pub fn missing(&mut self, name: &str, absent: bool) {
        if absent {
            self.push(name, DriftKind::Missing);
        }
    }

    /// A string property with the spec's `maxLength`.
    pub fn over_limit(&mut self, name: &str, value: Option<&str>, limit: usize) {
        if let Some(v) = value
            && v.len() > limit
            && v.chars().count() > limit
        {
            self.push(name, DriftKind::OverLimit(limit));
        }
    }

    /// A property whose value is itself walked: an object, a list, or an optional one.
    pub fn nested<T: Drift + ?Sized>(&mut self, name: &str, value: &T) {
        let len = self.path.len();
        if !self.path.is_empty() {
            self.path.push('.');
        }
        self.path.push_str(name);
        value.drift(self);
        self.path.truncate(len);
    }
}

/// A decoded answer that can tell where it differs from the spec.
pub trait Drift {
    /// Adds what differs to `report`, at the report's current path.
    fn drift(&self, report: &mut Report);
}

/// A body that is one plain value (a string, a number, a uuid) has nothing of its own that
/// the spec could miss.
macro_rules! no_drift {
    ($($t:ty),*) => {$(
        impl Drift for $t {
            fn drift(&self, _: &mut Report) {}
        }
    )*};
}
no_drift!(
    (),
    String,
    bool,
    i32,
    i64,
    u32,
    u64,
    f32,
    f64,
    uuid::Uuid,
    serde_json::Value
);

impl<T: Drift> Drift for Option<T> {
    fn drift(&self, report: &mut Report) {
        if let Some(v) = self {
            v.drift(report);
        }
    }
}

impl<T: Drift> Drift for Vec<T> {
    fn drift(&self, report: &mut Report) {
        if self.is_empty() {
            return;
        }
        let len = report.path.len();
        report.path.push_str("[]");
        for item in self {
            item.drift(report);
        }
        report.path.truncate(len);
    }
}

impl<T: Drift> Drift for Box<T> {
    fn drift(&self, report: &mut Report) {
        (**self).drift(report);
    }
}

/// What a decoded answer carries that the spec does not say; empty when it is what the
/// spec documents.
pub fn drift_of<T: Drift + ?Sized>(value: &T) -> Vec<Found> {
    let mut report = Report::default();
    value.drift(&mut report);
    report.into_found()
}
