//! Pure translation of the register's answers into contract types.

use adapter_http::TooLarge;
use bytes::Bytes;
use contracts::{VCode, Vereniging, VerenigingDetail};

/// A detail document as it came: its bytes, or, when it was larger than the client's
/// limit, what the bounded read saw (it is then that document's rejection, like one that
/// does not parse).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Read(Bytes),
    TooLarge(TooLarge),
}

impl From<&'static [u8]> for Document {
    fn from(body: &'static [u8]) -> Self {
        Document::Read(Bytes::from_static(body))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("detail document refused: {0}")]
    TooLarge(TooLarge),
    #[error("detail document does not parse: {0}")]
    Json(#[from] serde_json::Error),
    #[error("detail document is for {found}, asked for {asked}")]
    WrongVCode { asked: VCode, found: VCode },
}

/// Parses a detail document and checks it describes the association that was asked for.
pub fn parse_detail(asked: &VCode, document: &Document) -> Result<Vereniging, ParseError> {
    let body = match document {
        Document::Read(body) => body,
        Document::TooLarge(too_large) => return Err(ParseError::TooLarge(*too_large)),
    };
    let detail: VerenigingDetail = serde_json::from_slice(body)?;
    if &detail.vereniging.v_code != asked {
        return Err(ParseError::WrongVCode {
            asked: asked.clone(),
            found: detail.vereniging.v_code,
        });
    }
    Ok(detail.vereniging)
}

/// The register's version from its `ETag: W/"<version>"` (weak or strong form).
pub fn etag_version(etag: &str) -> Option<u64> {
    let tag = etag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.trim_matches('"').parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DETAIL: &[u8] =
        include_bytes!("../../../contracts/examples/register/detail-V0001001.json");

    fn vcode(s: &str) -> VCode {
        s.parse().expect("valid vCode")
    }

    #[test]
    fn parses_a_detail_for_the_asked_vcode() {
        let v = parse_detail(&vcode("V0001001"), &DETAIL.into()).expect("parses");
        assert_eq!(v.naam, "Koninklijke Harmonie Sint-Cecilia Aalst");
    }

    #[test]
    fn refuses_a_detail_for_another_vcode() {
        let err = parse_detail(&vcode("V0001002"), &DETAIL.into()).expect_err("wrong vCode");
        assert!(matches!(err, ParseError::WrongVCode { .. }));
    }

    #[test]
    fn refuses_wrong_types_with_the_reason() {
        let err = parse_detail(
            &vcode("V0001001"),
            &br#"{"vereniging":{"vCode":"V0001001","naam":42}}"#[..].into(),
        )
        .expect_err("malformed");
        assert!(
            err.to_string().contains("naam") || err.to_string().contains("integer"),
            "{err}"
        );
    }

    #[test]
    fn a_document_too_large_is_refused_with_the_limit() {
        let too_large = TooLarge::Declared {
            limit: 10,
            declared: 11,
        };
        let err = parse_detail(&vcode("V0001001"), &Document::TooLarge(too_large))
            .expect_err("too large");
        assert_eq!(
            err.to_string(),
            "detail document refused: answer larger than 10 bytes (Content-Length 11)"
        );
    }

    #[test]
    fn reads_weak_and_strong_etags() {
        assert_eq!(etag_version("W/\"12\""), Some(12));
        assert_eq!(etag_version("\"7\""), Some(7));
        assert_eq!(etag_version("W/\"abc\""), None);
    }
}
