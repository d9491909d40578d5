//! Bounded reads of HTTP answers, written once for every adapter.
//!
//! Whatever the register or a partner answers (a detail document, the change feed, a beheer
//! answer, a provider's JSON or SOAP answer, a token answer, a subscriber's error body) comes
//! from outside the hub and can be of any size. Reading it with reqwest's `bytes()` or
//! `text()` would hold all of it in memory, so one hostile or broken partner could take the
//! hub down. Here:
//!
//! - [`read_limited`] reads a body the caller needs whole, up to a limit: a `Content-Length`
//!   above the limit is refused before anything is read, and a body without one (chunked) is
//!   refused as soon as it passes the limit. The error ([`TooLarge`]) names the limit and what
//!   was seen, so that the caller can classify it (a register document becomes that
//!   document's rejection, a provider's answer a permanent failure of that application).
//! - [`read_truncated`] reads an error body only for a log line or a reason: at most the
//!   limit, the rest never read (the connection is dropped with the response).
//!
//! The limits every adapter uses unless it has a reason of its own are [`MAX_ANSWER_BYTES`]
//! and [`MAX_ERROR_BODY_BYTES`].
//!
//! [`failure_kind`] names a request that got no answer at all in the same words for every
//! adapter.

#[cfg(feature = "fixtures")]
pub mod fixtures;

use bytes::{Bytes, BytesMut};

/// The largest answer the hub reads whole by default: a register detail document, a beheer
/// or token answer, a provider's answer. Real ones are a few KB; 4 MiB leaves room for an
/// association with many locations and contacts.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// How much of an error body is read for a log line or a reason (the reasons keep far less).
pub const MAX_ERROR_BODY_BYTES: usize = 64 * 1024;

/// An answer larger than the limit: what was seen before it was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TooLarge {
    /// The answer's `Content-Length` was above the limit; nothing was read.
    #[error("answer larger than {limit} bytes (Content-Length {declared})")]
    Declared { limit: usize, declared: u64 },
    /// The body passed the limit while it was read (it had no `Content-Length`, or a smaller
    /// one was not honoured); `read` bytes had arrived.
    #[error("answer larger than {limit} bytes (refused after {read} bytes)")]
    Read { limit: usize, read: usize },
}

impl TooLarge {
    /// The limit that was exceeded, in bytes.
    pub fn limit(&self) -> usize {
        match self {
            TooLarge::Declared { limit, .. } | TooLarge::Read { limit, .. } => *limit,
        }
    }
}

/// How [`read_limited`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The answer is larger than the limit: a property of the answer, not of the way to it.
    #[error(transparent)]
    TooLarge(#[from] TooLarge),
    /// The connection failed while the body was read (the error carries no URL).
    #[error("reading the answer failed: {0}")]
    Read(reqwest::Error),
}

/// The whole body of `response`, at most `limit` bytes (a body of exactly `limit` bytes is
/// read). See the module documentation.
pub async fn read_limited(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, ReadError> {
    let declared = response.content_length();
    if let Some(declared) = declared.filter(|&d| d > limit as u64) {
        return Err(TooLarge::Declared { limit, declared }.into());
    }
    let capacity = declared.map_or(0, |d| usize::try_from(d).unwrap_or(limit).min(limit));
    let mut body = BytesMut::with_capacity(capacity);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ReadError::Read(e.without_url()))?
    {
        if chunk.len() > limit - body.len() {
            let read = body.len() + chunk.len();
            return Err(TooLarge::Read { limit, read }.into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// At most `limit` bytes of `response`'s body, lossily UTF-8, with `…` appended when there
/// was more (the rest is never read). For error bodies, which only feed a log line or a
/// reason: a failure while reading ends the text where it stopped.
pub async fn read_truncated(mut response: reqwest::Response, limit: usize) -> String {
    let mut body = Vec::new();
    let mut cut = false;
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = limit - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            cut = true;
            break;
        }
        body.extend_from_slice(&chunk);
    }
    let mut text = String::from_utf8_lossy(&body).into_owned();
    if cut {
        text.push('…');
    }
    text
}

/// What went wrong with a request that got no answer, in the words the adapters' messages
/// use: `timed out`, `connection failed` or `request failed`.
pub fn failure_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Serves one answer of `size` bytes of `x` to every request: with `Content-Length`, or
    /// chunked (no length) in chunks of 1000 bytes.
    async fn serve(size: usize, with_length: bool) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = conn.read(&mut buf).await;
                    let body = vec![b'x'; size];
                    let out = if with_length {
                        let mut out = format!("HTTP/1.1 200 OK\r\ncontent-length: {size}\r\n\r\n")
                            .into_bytes();
                        out.extend_from_slice(&body);
                        out
                    } else {
                        let mut out =
                            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
                        for chunk in body.chunks(1000) {
                            out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                            out.extend_from_slice(chunk);
                            out.extend_from_slice(b"\r\n");
                        }
                        out.extend_from_slice(b"0\r\n\r\n");
                        out
                    };
                    let _ = conn.write_all(&out).await;
                    let _ = conn.shutdown().await;
                });
            }
        });
        url
    }

    async fn get(size: usize, with_length: bool) -> reqwest::Response {
        let url = serve(size, with_length).await;
        reqwest::get(url).await.expect("answer")
    }

    #[tokio::test]
    async fn a_body_of_exactly_the_limit_is_read() {
        for with_length in [true, false] {
            let body = read_limited(get(5000, with_length).await, 5000)
                .await
                .expect("at the limit");
            assert_eq!(body.len(), 5000, "with length: {with_length}");
        }
    }

    /// Reading 5001 bytes with a limit of 5000 fails as too large: how, and its message.
    async fn one_byte_too_many(with_length: bool) -> (TooLarge, String) {
        let err = read_limited(get(5001, with_length).await, 5000)
            .await
            .expect_err("too large");
        let message = err.to_string();
        match err {
            ReadError::TooLarge(too_large) => (too_large, message),
            other => panic!("not refused as too large: {other}"),
        }
    }

    #[tokio::test]
    async fn a_declared_length_above_the_limit_is_refused_unread() {
        let (too_large, message) = one_byte_too_many(true).await;
        assert_eq!(
            too_large,
            TooLarge::Declared {
                limit: 5000,
                declared: 5001
            },
            "{message}"
        );
        assert_eq!(
            message,
            "answer larger than 5000 bytes (Content-Length 5001)"
        );
    }

    #[tokio::test]
    async fn a_chunked_body_above_the_limit_is_refused_while_read() {
        let (too_large, message) = one_byte_too_many(false).await;
        // the chunk that passes the limit is the sixth of 1000 bytes
        assert!(
            matches!(
                too_large,
                TooLarge::Read {
                    limit: 5000,
                    read: 5001..=6000
                }
            ),
            "{message}"
        );
        assert!(message.starts_with("answer larger than 5000 bytes (refused after "));
        assert_eq!(too_large.limit(), 5000);
    }

    #[tokio::test]
    async fn error_bodies_are_truncated_not_refused() {
        for with_length in [true, false] {
            let text = read_truncated(get(100_000, with_length).await, 300).await;
            assert_eq!(
                text,
                format!("{}…", "x".repeat(300)),
                "with length: {with_length}"
            );
            let text = read_truncated(get(300, with_length).await, 300).await;
            assert_eq!(text, "x".repeat(300), "with length: {with_length}");
        }
    }
}
