//! A string with a length limit: the type of every string property that the spec gives a
//! `maxLength`.

use std::{fmt, ops::Deref, str::FromStr};

/// A string of at most `N` characters (Unicode scalar values, as JSON Schema's `maxLength`
/// counts them), such as `customerUser.displayName` (`Limited<50>`).
///
/// `cargo xtask codegen` puts this type in place of the one typify would generate for a
/// `maxLength` string, with `N` from the spec, so that a limit changed in the spec changes
/// the check. The length is checked whenever one is made: from a `&str` or a `String`
/// (`"Ada".parse()`, `try_into()`), and when one is decoded. Decoding keeps the decoded
/// string instead of copying it, which typify's own type does.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Limited<const N: usize>(String);

/// Why a string was refused: it is longer than the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLong {
    limit: usize,
}

impl fmt::Display for TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "longer than {} characters", self.limit)
    }
}

impl std::error::Error for TooLong {}

/// Whether `value` has at most `n` characters. A byte count within the limit settles it
/// without counting (a character is at least one byte).
fn fits(value: &str, n: usize) -> bool {
    value.len() <= n || value.chars().count() <= n
}

impl<const N: usize> Limited<N> {
    /// The string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The string, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<const N: usize> TryFrom<String> for Limited<N> {
    type Error = TooLong;

    fn try_from(value: String) -> Result<Self, TooLong> {
        if fits(&value, N) {
            Ok(Limited(value))
        } else {
            Err(TooLong { limit: N })
        }
    }
}

impl<const N: usize> TryFrom<&str> for Limited<N> {
    type Error = TooLong;

    fn try_from(value: &str) -> Result<Self, TooLong> {
        if fits(value, N) {
            Ok(Limited(value.to_string()))
        } else {
            Err(TooLong { limit: N })
        }
    }
}

impl<const N: usize> TryFrom<&String> for Limited<N> {
    type Error = TooLong;

    fn try_from(value: &String) -> Result<Self, TooLong> {
        Limited::try_from(value.as_str())
    }
}

impl<const N: usize> FromStr for Limited<N> {
    type Err = TooLong;

    fn from_str(value: &str) -> Result<Self, TooLong> {
        Limited::try_from(value)
    }
}

impl<const N: usize> From<Limited<N>> for String {
    fn from(value: Limited<N>) -> Self {
        value.0
    }
}

impl<const N: usize> Deref for Limited<N> {
    type Target = String;

    fn deref(&self) -> &String {
        &self.0
    }
}

impl<const N: usize> fmt::Display for Limited<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<const N: usize> fmt::Debug for Limited<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<const N: usize> serde::Serialize for Limited<N> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de, const N: usize> serde::Deserialize<'de> for Limited<N> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        Limited::try_from(value).map_err(serde::de::Error::custom)
    }
}

impl<const N: usize> schemars::JsonSchema for Limited<N> {
    fn schema_name() -> String {
        format!("Limited{N}")
    }

    fn json_schema(_: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        schemars::schema::SchemaObject {
            instance_type: Some(schemars::schema::InstanceType::String.into()),
            string: Some(Box::new(schemars::schema::StringValidation {
                max_length: u32::try_from(N).ok(),
                ..Default::default()
            })),
            ..Default::default()
        }
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_counts_characters_and_is_checked_on_every_way_in() {
        assert!(
            "é".repeat(3).parse::<Limited<3>>().is_ok(),
            "6 bytes, 3 characters"
        );
        assert_eq!(
            "abcd".parse::<Limited<3>>().unwrap_err().to_string(),
            "longer than 3 characters"
        );
        assert!(Limited::<3>::try_from("abc".to_string()).is_ok());
        assert!(Limited::<3>::try_from("abcé".to_string()).is_err());
        assert!(Limited::<3>::try_from(&"abcd".to_string()).is_err());
        assert!(serde_json::from_str::<Limited<3>>("\"abc\"").is_ok());
        let err = serde_json::from_str::<Limited<3>>("\"abcd\"").unwrap_err();
        assert!(
            err.to_string().contains("longer than 3 characters"),
            "{err}"
        );
        let ada: Limited<5> = "Ada".parse().unwrap();
        assert_eq!(serde_json::to_string(&ada).unwrap(), "\"Ada\"");
        assert_eq!(format!("{ada} {ada:?} {}", ada.len()), "Ada \"Ada\" 3");
        assert_eq!(ada.as_str(), "Ada");
        assert_eq!(String::from(ada.clone()), ada.into_inner());
    }
}
