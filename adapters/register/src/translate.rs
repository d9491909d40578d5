//! Pure translation of the register's answers into contract types.

use contracts::{VCode, Vereniging, VerenigingDetail};

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("detail document does not parse: {0}")]
    Json(#[from] serde_json::Error),
    #[error("detail document is for {found}, asked for {asked}")]
    WrongVCode { asked: VCode, found: VCode },
}

/// Parses a detail document and checks it describes the association that was asked for.
pub fn parse_detail(asked: &VCode, body: &[u8]) -> Result<Vereniging, ParseError> {
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
        let v = parse_detail(&vcode("V0001001"), DETAIL).expect("parses");
        assert_eq!(v.naam, "Koninklijke Harmonie Sint-Cecilia Aalst");
    }

    #[test]
    fn refuses_a_detail_for_another_vcode() {
        let err = parse_detail(&vcode("V0001002"), DETAIL).expect_err("wrong vCode");
        assert!(matches!(err, ParseError::WrongVCode { .. }));
    }

    #[test]
    fn refuses_wrong_types_with_the_reason() {
        let err = parse_detail(
            &vcode("V0001001"),
            br#"{"vereniging":{"vCode":"V0001001","naam":42}}"#,
        )
        .expect_err("malformed");
        assert!(
            err.to_string().contains("naam") || err.to_string().contains("integer"),
            "{err}"
        );
    }

    #[test]
    fn reads_weak_and_strong_etags() {
        assert_eq!(etag_version("W/\"12\""), Some(12));
        assert_eq!(etag_version("\"7\""), Some(7));
        assert_eq!(etag_version("W/\"abc\""), None);
    }
}
