//! Reasons: short, on one line, safe to log.

use crate::MAX_REASON_CHARS;

/// At most `max` characters of `s`, with an ellipsis when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// White-space runs collapsed to one space, trimmed.
pub fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A reason: white-space runs collapsed, at most [`MAX_REASON_CHARS`] characters.
pub fn short(s: &str) -> String {
    clip(&collapse(s), MAX_REASON_CHARS)
}

/// The start of an HTTP body, for a reason; `(empty body)` when there is nothing.
pub fn snippet(body: &str) -> String {
    if body.trim().is_empty() {
        "(empty body)".to_owned()
    } else {
        short(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_cuts_with_an_ellipsis() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "ab…");
        assert_eq!(clip("日本語です", 4), "日本語…");
        assert_eq!(clip("abc", 0), "…");
    }

    #[test]
    fn reasons_are_one_short_line() {
        assert_eq!(short("  a \n\t b  "), "a b");
        let long = "x ".repeat(5000);
        assert_eq!(short(&long).chars().count(), MAX_REASON_CHARS);
        assert_eq!(snippet(" \n "), "(empty body)");
        assert_eq!(snippet(" <h1>503</h1>\n"), "<h1>503</h1>");
    }
}
