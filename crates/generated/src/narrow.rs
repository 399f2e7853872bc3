//! The checks of a conversion from a tolerant response type to its strict request copy,
//! which `cargo xtask codegen` writes for every schema that both directions use.

use crate::types::error::ConversionError;

/// The problems found in one conversion, all of them, so that one error names each.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct Problems(Vec<String>);

impl Problems {
    /// A value read from a response, as the request type that sends it back: the
    /// request's limits are checked here. `None`, with the property named, where it breaks
    /// one. The value passes through JSON, as it does on the wire, so that any request
    /// type takes any response type that has the same JSON.
    pub fn narrow<F, T>(&mut self, name: &str, value: F) -> Option<T>
    where
        F: serde::Serialize,
        T: serde::de::DeserializeOwned,
    {
        let read = match serde_json::to_value(value) {
            Ok(read) => read,
            Err(e) => {
                self.0.push(format!("{name}: {e}"));
                return None;
            }
        };
        let absent = read.is_null();
        match T::deserialize(read) {
            Ok(v) => Some(v),
            Err(_) if absent => {
                self.0.push(format!(
                    "{name}: the answer had no value, and a request requires one"
                ));
                None
            }
            Err(e) => {
                self.0.push(format!("{name}: {e}"));
                None
            }
        }
    }
}

impl From<Problems> for ConversionError {
    fn from(problems: Problems) -> Self {
        ConversionError::from(problems.0.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limited;

    #[test]
    fn a_value_over_a_request_limit_or_missing_is_named() {
        let mut p = Problems::default();
        let ok: Option<Option<Limited<3>>> = p.narrow("a", Some("abc".to_string()));
        assert_eq!(ok.flatten().as_deref().map(String::as_str), Some("abc"));
        let long: Option<Option<Limited<3>>> = p.narrow("b", Some("abcd".to_string()));
        assert!(long.is_none());
        let missing: Option<uuid::Uuid> = p.narrow("c", None::<uuid::Uuid>);
        assert!(missing.is_none());
        assert_eq!(
            ConversionError::from(p).to_string(),
            "b: longer than 3 characters; c: the answer had no value, and a request requires one"
        );
    }
}
