//! The first check of every message from a partner-reachable queue (`hub.commands.<m>`,
//! `hub.applications.intake`, `hub.applications.status.<m>`): anyone allowed to publish
//! there can send anything, so a body is read as JSON only when it is at most
//! [`MAX_MESSAGE_BYTES`], UTF-8 and JSON nested at most serde_json's 128 levels (its
//! recursion limit stops a deeper one before any stack is at risk). Anything else is that
//! message's permanent failure with the reason (the consumers dead-letter it); the messages
//! behind it are not held up.

use serde_json::Value;

/// The largest message body accepted from a partner. Commands, applications and status
/// answers are a few KB.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// `body` as JSON, or why it was refused.
pub fn json(body: &[u8]) -> Result<Value, String> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(format!(
            "refused: the body is {} bytes, larger than the limit of {MAX_MESSAGE_BYTES} bytes",
            body.len()
        ));
    }
    let text = std::str::from_utf8(body).map_err(|e| {
        format!(
            "refused: the body is not UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        )
    })?;
    serde_json::from_str(text).map_err(|e| format!("refused: the body is not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_oversize_malformed_and_deep_bodies_with_the_reason() {
        let at_limit = format!("\"{}\"", "x".repeat(MAX_MESSAGE_BYTES - 2));
        assert!(json(at_limit.as_bytes()).is_ok());
        let over = format!("\"{}\"", "x".repeat(MAX_MESSAGE_BYTES - 1));
        assert_eq!(
            json(over.as_bytes()).expect_err("too large"),
            format!(
                "refused: the body is {} bytes, larger than the limit of {MAX_MESSAGE_BYTES} bytes",
                MAX_MESSAGE_BYTES + 1
            )
        );
        assert_eq!(
            json(b"{\"a\": \"\xff\"}").expect_err("not UTF-8"),
            "refused: the body is not UTF-8 (invalid byte at offset 7)"
        );
        let deep = "[".repeat(10_000);
        let reason = json(deep.as_bytes()).expect_err("too deep");
        assert!(reason.contains("recursion limit exceeded"), "{reason}");
        assert_eq!(json(b"{\"ok\": [1]}"), Ok(serde_json::json!({"ok": [1]})));
    }
}
