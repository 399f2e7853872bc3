//! A string that the API carries in clear but that must never be printed.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A secret string in a request or response body, such as `temporaryPassword`.
///
/// The spec maps such fields here with `x-rust-type`, so that the generated types hold
/// them in this type. It serializes as the plain JSON string the API expects, and its
/// `Debug` never shows the value: a generated type that derives `Debug` stays safe to log.
/// The value is zeroed when dropped.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(SecretString::from(value.into()))
    }

    /// The value itself, for the one place that must send it.
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(** redacted **)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret::new(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret::new(value)
    }
}

impl From<SecretString> for Secret {
    fn from(value: SecretString) -> Self {
        Secret(value)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.expose_secret())
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

impl schemars::JsonSchema for Secret {
    fn schema_name() -> String {
        String::schema_name()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        String::json_schema(generator)
    }

    fn is_referenceable() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_pinned_and_serde_carries_the_value() {
        let secret = Secret::from("Temp-Pa55!");
        assert_eq!(format!("{secret:?}"), "Secret(** redacted **)");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"Temp-Pa55!\"");
        let back: Secret = serde_json::from_str("\"x\"").unwrap();
        assert_eq!(back.expose_secret(), "x");
    }
}
