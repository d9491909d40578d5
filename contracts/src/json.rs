//! How the adapters name the JSON they refuse.

use serde_json::Value;

/// The kind of `value` with its article (`null`, `a string`, `an array`, …), for messages
/// such as "must be a string, not an array": one wording for every adapter.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
