//! Text the hub cannot store: U+0000 (NUL).
//!
//! JSON may carry `\u0000` in any string, but PostgreSQL's `text` and `jsonb` cannot hold it.
//! Input from a partner is checked with [`nul_paths`] before it is stored, so the one bad
//! field is named in the error and nothing else is held up; text the hub keeps only for
//! people to read (a provider's reason, a dead letter's headers) goes through
//! [`without_nul`] instead, and is kept short with [`truncate`].

use serde_json::Value;

/// The error code of a field refused for a NUL (an application's `errors`, a command's
/// reply).
pub const NUL_CODE: &str = "nul-character";
/// The reason given with [`NUL_CODE`].
pub const NUL_REASON: &str = "contains U+0000 (NUL), which the hub cannot store";

/// What stands in for a NUL in text kept for reading.
pub const REPLACEMENT: char = '\u{FFFD}';

/// The JSON paths (`fields.omschrijving`, `vertegenwoordigers[0].voornaam`; the root is
/// `""`) of every string, and every object key, that contains U+0000, in document order.
/// A key is named by its path with the NUL shown as U+FFFD.
pub fn nul_paths(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk(value, String::new(), &mut found);
    found
}

fn walk(value: &Value, path: String, found: &mut Vec<String>) {
    match value {
        Value::String(s) if s.contains('\0') => found.push(path),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, format!("{path}[{i}]"), found);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let child = if path.is_empty() {
                    without_nul(key)
                } else {
                    format!("{path}.{}", without_nul(key))
                };
                if key.contains('\0') {
                    found.push(child);
                } else {
                    walk(item, child, found);
                }
            }
        }
        _ => {}
    }
}

/// `s` cut to at most `max` characters, with `…` added where it was cut (for a reason or a
/// detail that goes into a header or a log line).
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// `s` with every U+0000 replaced by U+FFFD.
pub fn without_nul(s: &str) -> String {
    s.replace('\0', &REPLACEMENT.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn truncate_cuts_at_a_character_and_says_so() {
        let cases = [
            ("kort", 10, "kort"),
            ("precies", 7, "precies"),
            ("één twee", 3, "één…"),
        ];
        for (text, max, expected) in cases {
            assert_eq!(truncate(text, max), expected, "{text:?} to {max}");
        }
    }

    #[test]
    fn every_string_and_key_with_a_nul_is_named_by_its_path() {
        let v = json!({
            "naam": "ok",
            "fields": {"omschrijving": "a\u{0}b", "n": 3},
            "reps": [{"x": "fine"}, {"voornaam": "\u{0}"}],
            "k\u{0}": "value",
            "list": ["\u{0}"]
        });
        let mut paths = nul_paths(&v);
        paths.sort();
        assert_eq!(
            paths,
            vec![
                "fields.omschrijving".to_owned(),
                "k\u{FFFD}".to_owned(),
                "list[0]".to_owned(),
                "reps[1].voornaam".to_owned(),
            ]
        );
        assert_eq!(nul_paths(&json!("\u{0}")), vec![String::new()]);
        assert!(nul_paths(&json!({"a": ["b", 1, null, {"c": "d"}]})).is_empty());
    }

    #[test]
    fn nul_is_replaced_by_the_replacement_character() {
        assert_eq!(without_nul("a\u{0}b\u{0}"), "a\u{FFFD}b\u{FFFD}");
        assert_eq!(without_nul("plain"), "plain");
    }
}
