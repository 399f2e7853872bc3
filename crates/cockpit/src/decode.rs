//! The slow path of reading a success body: what the fast decode refused is read again,
//! tolerantly, and what still cannot be read is named by its JSON path.
//!
//! progenitor's generated code decodes a success body straight into its type, which costs
//! nothing extra when the answer is what the spec documents. Only when that fails does
//! [`recover`] run. It takes the answers that a .NET service may send and serde does not: a
//! UTF-8 byte-order mark before the JSON, integers written as integral floats (`3.0`), and
//! a string answer written as plain text, without its quotes.
//! Anything else it names: `items[17].displayName: invalid type: integer `5`, expected a
//! string`.

use serde::de::DeserializeOwned;
use serde_json::{Number, Value};

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Why a success body could not be read: where, and what serde said.
#[derive(Debug)]
pub(crate) struct Unreadable {
    /// The JSON path, such as `items[17].displayName`; `.` for the body itself.
    pub(crate) path: String,
    pub(crate) source: serde_json::Error,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.source)
    }
}

/// Reads `body` as `T` after the fast decode refused it: without a leading byte-order
/// mark, and with integral floats taken as integers. Names the path where it still fails.
pub(crate) fn recover<T: DeserializeOwned>(body: &[u8]) -> Result<T, Unreadable> {
    let body = body.strip_prefix(BOM).unwrap_or(body);
    let mut de = serde_json::Deserializer::from_slice(body);
    let first = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => match de.end() {
            Ok(()) => return Ok(value),
            Err(source) => {
                return Err(Unreadable {
                    path: ".".into(),
                    source,
                });
            }
        },
        Err(e) => e,
    };
    // Only a body that is JSON can have its numbers eased; any other keeps the first
    // error, which says where the JSON broke.
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        // ASP.NET Core writes an action's string result as text/plain, without quotes: a
        // body that is not JSON is that string, where the type takes one.
        if let Ok(text) = std::str::from_utf8(body)
            && let Ok(v) = T::deserialize(Value::String(text.to_owned()))
        {
            return Ok(v);
        }
        return Err(unreadable(first));
    };
    if !integral_floats_to_integers(&mut value) {
        return Err(unreadable(first));
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(unreadable)
}

fn unreadable(e: serde_path_to_error::Error<serde_json::Error>) -> Unreadable {
    Unreadable {
        path: e.path().to_string(),
        source: e.into_inner(),
    }
}

/// Writes every float with no fractional part that fits an `i64` or a `u64` as that
/// integer, at any depth; whether it changed any.
fn integral_floats_to_integers(value: &mut Value) -> bool {
    match value {
        Value::Number(n) => {
            let Some(f) = n.as_f64().filter(|_| n.is_f64()) else {
                return false;
            };
            // The casts truncate and saturate: the round trip tells a whole number in range
            // from a fraction (2.5 comes back as 2.0) or a value cut at the type's bounds.
            // Zero takes either branch alike.
            let whole = if f < 0.0 {
                let i = f as i64;
                (i as f64 == f).then(|| Number::from(i))
            } else {
                let u = f as u64;
                (u as f64 == f).then(|| Number::from(u))
            };
            match whole {
                Some(whole) => {
                    *n = whole;
                    true
                }
                None => false,
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, v| integral_floats_to_integers(v) | changed),
        Value::Object(map) => map
            .values_mut()
            .fold(false, |changed, v| integral_floats_to_integers(v) | changed),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cockpit_generated::types::{CustomerLicense, CustomerUserPage};

    #[test]
    fn a_bom_and_integral_floats_are_read() {
        let page: CustomerUserPage =
            recover(b"\xEF\xBB\xBF{\"totalPages\": 3.0, \"items\": []}").unwrap();
        assert_eq!(page.total_pages, Some(3));
        let license: CustomerLicense = recover(b"{\"availableLicenses\": -2.0}").unwrap();
        assert_eq!(license.available_licenses, Some(-2));
        // Every one of them, in an object and in a list, not only the first.
        let page: CustomerUserPage =
            recover(b"{\"totalPages\": 3.0, \"totalCount\": 5.0}").unwrap();
        assert_eq!((page.total_pages, page.total_count), (Some(3), Some(5)));
        let licenses: Vec<CustomerLicense> =
            recover(b"[{\"availableLicenses\": 1.0}, {\"availableLicenses\": 2.0}]").unwrap();
        assert_eq!(licenses[1].available_licenses, Some(2));
    }

    #[test]
    fn a_string_answer_as_plain_text_is_read_and_only_where_a_string_is_expected() {
        assert_eq!(
            recover::<String>(b"3f1c9a52 created").unwrap(),
            "3f1c9a52 created"
        );
        assert_eq!(recover::<String>(b"\"quoted\"").unwrap(), "quoted");
        let err = recover::<CustomerUserPage>(b"not json").unwrap_err();
        assert_eq!(err.path, ".");
        assert!(err.source.to_string().contains("expected ident"), "{err}");
    }

    #[test]
    fn what_cannot_be_read_is_named_by_its_path() {
        let err = recover::<CustomerUserPage>(
            br#"{"items": [{"displayName": "a"}, {"displayName": 5}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "items[1].displayName: invalid type: integer `5`, expected a string at line 1 column 50"
        );
        let err = recover::<CustomerUserPage>(br#"{"totalPages": 2.5}"#).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("totalPages: invalid type: floating point `2.5`, expected i32"),
            "{err}"
        );
        let err = recover::<CustomerUserPage>(br#"{"items": [{"displayName": "a""#).unwrap_err();
        assert!(err.to_string().contains("EOF while parsing"), "{err}");
        let err = recover::<CustomerUserPage>(br#"{} {}"#).unwrap_err();
        assert!(
            err.to_string().starts_with(".: trailing characters"),
            "{err}"
        );
        let err = recover::<CustomerUserPage>(br#"{"totalPages": 1e300}"#).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("totalPages: invalid type: floating point"),
            "{err}"
        );
    }
}
