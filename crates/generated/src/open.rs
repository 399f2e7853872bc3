//! An enum that a response carries, kept open to values the spec does not list.

use std::fmt;

/// A value of the spec's enum `T`, or one it does not list, kept as the server sent it.
///
/// `cargo xtask codegen` puts this type on every enum property of a response type, so that
/// an answer with a new value is read (and reported as drift) instead of refused, as the
/// AWS SDKs' `Unknown` variants do. Requests keep the closed enum `T`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Open<T> {
    /// A value that the spec lists.
    Known(T),
    /// A value that the spec does not list, as the server sent it.
    Unknown(String),
}

impl<T> Open<T> {
    /// The known value, if it is one.
    pub fn known(&self) -> Option<&T> {
        match self {
            Open::Known(v) => Some(v),
            Open::Unknown(_) => None,
        }
    }
}

impl<T: fmt::Display> fmt::Display for Open<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Open::Known(v) => v.fmt(f),
            Open::Unknown(s) => f.write_str(s),
        }
    }
}

impl<T: serde::Serialize> serde::Serialize for Open<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Open::Known(v) => v.serialize(serializer),
            Open::Unknown(s) => serializer.serialize_str(s),
        }
    }
}

impl<'de, T: serde::de::DeserializeOwned> serde::Deserialize<'de> for Open<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        let known = T::deserialize(
            serde::de::value::StrDeserializer::<serde::de::value::Error>::new(&value),
        );
        Ok(match known {
            Ok(v) => Open::Known(v),
            Err(_) => Open::Unknown(value),
        })
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Open<T> {
    fn schema_name() -> String {
        format!("Open{}", T::schema_name())
    }

    fn json_schema(_: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        schemars::schema::SchemaObject {
            instance_type: Some(schemars::schema::InstanceType::String.into()),
            ..Default::default()
        }
        .into()
    }
}

impl<T> crate::drift::Drift for Open<T> {
    fn drift(&self, report: &mut crate::drift::Report) {
        if let Open::Unknown(_) = self {
            report.here(crate::drift::DriftKind::UnknownValue);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize)]
    enum Color {
        Red,
        #[serde(rename = "GREEN")]
        Green,
    }

    #[test]
    fn a_listed_value_is_known_and_any_other_is_kept() {
        let red: Open<Color> = serde_json::from_str("\"Red\"").unwrap();
        assert_eq!(red, Open::Known(Color::Red));
        let green: Open<Color> = serde_json::from_str("\"GREEN\"").unwrap();
        assert_eq!(green.known(), Some(&Color::Green));
        let blue: Open<Color> = serde_json::from_str("\"Blue\"").unwrap();
        assert_eq!(blue, Open::Unknown("Blue".into()));
        assert_eq!(serde_json::to_string(&blue).unwrap(), "\"Blue\"");
        assert_eq!(serde_json::to_string(&green).unwrap(), "\"GREEN\"");
        assert!(serde_json::from_str::<Open<Color>>("5").is_err());
        assert_eq!(
            crate::drift::drift_of(&blue)[0].kind,
            crate::drift::DriftKind::UnknownValue
        );
        assert!(crate::drift::drift_of(&red).is_empty());
    }
}
