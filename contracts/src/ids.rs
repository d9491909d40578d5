//! Identifiers with their check rules, so that an invalid one cannot be constructed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("vCode must be 'V' followed by 7 digits (at least V0001001), got {0:?}")]
    VCode(String),
    #[error("KBO number must have 10 digits, got {0:?}")]
    KboFormat(String),
    #[error("KBO number {0:?} fails the mod-97 check")]
    KboCheck(String),
    #[error("INSZ must have 11 digits, got {0:?}")]
    InszFormat(String),
    #[error("INSZ {0:?} fails the mod-97 check")]
    InszCheck(String),
    #[error("{0:?} is not a Belgian postcode (4 digits)")]
    Postcode(String),
    #[error("{0:?} is not an OVO code (OVO and 6 digits)")]
    OvoCode(String),
    /// Carries no value: an e-mail address is personal data.
    #[error("not an e-mail address")]
    Email,
}

/// An association's register identifier: `V` + 7 digits, the lowest being `V0001001`.
/// Parsing accepts a lower-case `v`; the value is always stored upper-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VCode(String);

impl VCode {
    pub const LOWEST: u32 = 1001;

    /// The numeric part (`V0001001` → 1001).
    pub fn number(&self) -> u32 {
        self.0[1..].parse().unwrap_or_default()
    }

    pub fn from_number(n: u32) -> Result<Self, IdError> {
        format!("V{n:07}").parse()
    }
}

impl FromStr for VCode {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s
            .strip_prefix('V')
            .or_else(|| s.strip_prefix('v'))
            .ok_or_else(|| IdError::VCode(s.to_owned()))?;
        if !is_digits(digits, 7) || digits.parse::<u32>().unwrap_or(0) < Self::LOWEST {
            return Err(IdError::VCode(s.to_owned()));
        }
        // `V` and the digits, built without the formatting machinery (this runs for every
        // message the hub reads).
        let mut code = String::with_capacity(1 + digits.len());
        code.push('V');
        code.push_str(digits);
        Ok(VCode(code))
    }
}

/// A Belgian postcode: 4 digits (`9300`). What territories, selectors and the catalogue list,
/// and what a municipality may write into an address; an address abroad in a register
/// document may carry another form, which only the adapters that write it check.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Postcode(String);

impl FromStr for Postcode {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if !is_digits(s, 4) {
            return Err(IdError::Postcode(s.to_owned()));
        }
        Ok(Postcode(s.to_owned()))
    }
}

/// An organisation's code in the Flemish OVO register: `OVO` and 6 digits (`OVO002067`),
/// a municipality's identity towards the register (`VR-Initiator`) and in SOAP headers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OvoCode(String);

impl FromStr for OvoCode {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix("OVO").unwrap_or_default();
        if !is_digits(digits, 6) {
            return Err(IdError::OvoCode(s.to_owned()));
        }
        Ok(OvoCode(s.to_owned()))
    }
}

/// An e-mail address the hub accepts from partners and passes on: a local part of
/// dot-separated non-empty atoms without white space, control characters, U+FFFE, U+FFFF or
/// any of `<>()[]\.,;:@"`, an `@`, and a domain of at least two labels of ASCII letters, digits and
/// `-`, the last of at least two letters; at most 254 characters (RFC 5321's path limit).
/// The command schema's pattern says the same; every partner's XSD accepts all of these.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// The longest e-mail address.
pub const MAX_EMAIL_LEN: usize = 254;

impl FromStr for Email {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some((local, domain)) = s.split_once('@') else {
            return Err(IdError::Email);
        };
        let atom_ok = |atom: &str| {
            !atom.is_empty()
                && atom.chars().all(|c| {
                    // U+FFFE and U+FFFF: not characters in XML, which carries it too.
                    !c.is_whitespace()
                        && !c.is_control()
                        && !matches!(c, '\u{FFFE}' | '\u{FFFF}')
                        && !"<>()[]\\.,;:@\"".contains(c)
                })
        };
        let label_ok =
            |l: &str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let labels: Vec<&str> = domain.split('.').collect();
        let valid = s.chars().count() <= MAX_EMAIL_LEN
            && local.split('.').all(atom_ok)
            && labels.len() >= 2
            && labels.iter().all(|l| label_ok(l))
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()));
        if valid {
            Ok(Email(s.to_owned()))
        } else {
            Err(IdError::Email)
        }
    }
}

/// The Belgian company number (ondernemingsnummer), 10 digits, mod-97 checked.
/// Dots and spaces are stripped on parsing (`0417.497.106`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KboNumber(String);

impl FromStr for KboNumber {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits: String = s.chars().filter(|c| !matches!(c, '.' | ' ')).collect();
        if !is_digits(&digits, 10) {
            return Err(IdError::KboFormat(s.to_owned()));
        }
        let (body, check) = digits.split_at(8);
        if !mod97_matches(body, check) {
            return Err(IdError::KboCheck(s.to_owned()));
        }
        Ok(KboNumber(digits))
    }
}

/// A person's national number (INSZ), 11 digits, mod-97 checked (also for births from
/// 2000, where `2` is prefixed before the check). Personal data: never log it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Insz(String);

impl fmt::Debug for Insz {
    // Personal data: keep it out of logs and panics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Insz(***)")
    }
}

impl FromStr for Insz {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits: String = s
            .chars()
            .filter(|c| !matches!(c, '.' | '-' | ' '))
            .collect();
        if !is_digits(&digits, 11) {
            // The input is personal data: report only its length.
            return Err(IdError::InszFormat(format!("<{} characters>", s.len())));
        }
        let (body, check) = digits.split_at(9);
        if !mod97_matches(body, check) && !mod97_matches(&format!("2{body}"), check) {
            return Err(IdError::InszCheck("<redacted>".to_owned()));
        }
        Ok(Insz(digits))
    }
}

/// `s` is exactly `len` ASCII digits.
fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// `97 - (body % 97) == check`, where body and check are ASCII digits.
fn mod97_matches(body: &str, check: &str) -> bool {
    match (body.parse::<u64>(), check.parse::<u64>()) {
        (Ok(body), Ok(check)) => 97 - body % 97 == check,
        _ => false,
    }
}

/// `as_str`, the checked value, for every identifier.
macro_rules! as_str {
    ($($t:ty),*) => {$(
        impl $t {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    )*};
}
as_str!(VCode, Postcode, OvoCode, Email, KboNumber, Insz);

macro_rules! string_serde {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                raw.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
string_serde!(VCode, KboNumber, Insz);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{INVALID_EMAILS, VALID_EMAILS};

    #[test]
    fn an_email_is_what_the_command_schema_and_every_xsd_accept() {
        for ok in VALID_EMAILS {
            assert_eq!(
                ok.parse::<Email>().map(|e| e.as_str().to_owned()),
                Ok(ok.into())
            );
        }
        let long = format!("{}@example.be", "a".repeat(MAX_EMAIL_LEN - 10));
        assert_eq!(long.chars().count(), MAX_EMAIL_LEN + 1);
        for bad in INVALID_EMAILS.into_iter().chain([long.as_str()]) {
            assert_eq!(bad.parse::<Email>(), Err(IdError::Email), "{bad:?}");
        }
        // The value is personal data: the error does not carry it.
        assert!(!IdError::Email.to_string().contains('@'));
    }

    #[test]
    fn vcode_accepts_register_form_and_lower_case() {
        assert_eq!("V0001001".parse::<VCode>().map(|v| v.number()), Ok(1001));
        assert_eq!(
            "v0012345".parse::<VCode>().map(|v| v.to_string()),
            Ok("V0012345".into())
        );
        assert_eq!(
            VCode::from_number(1021).map(|v| v.to_string()),
            Ok("V0001021".into())
        );
    }

    #[test]
    fn vcode_rejects_malformed() {
        for bad in [
            "",
            "V",
            "V000100",
            "V00010011",
            "X0001001",
            "V0001000",
            "V00a1001",
            "0001001",
        ] {
            assert!(bad.parse::<VCode>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn kbo_mod97() {
        // 0417.497.106: 97 - (04174971 % 97) = 6? computed below to keep the test honest.
        let body = 4_174_971u64;
        let check = 97 - body % 97;
        let valid = format!("0{body}{check:02}");
        assert!(valid.parse::<KboNumber>().is_ok());
        let dotted = format!("{}.{}.{}", &valid[..4], &valid[4..7], &valid[7..]);
        assert_eq!(
            dotted.parse::<KboNumber>().map(|k| k.to_string()),
            Ok(valid.clone())
        );
        let wrong = format!("0{body}{:02}", (check + 1) % 97);
        assert!(matches!(
            wrong.parse::<KboNumber>(),
            Err(IdError::KboCheck(_))
        ));
        assert!("12345".parse::<KboNumber>().is_err());
    }

    #[test]
    fn insz_mod97_before_and_after_2000() {
        // Born 1985-07-15, serial 123.
        let body = "850715123";
        let check = 97 - body.parse::<u64>().unwrap_or(0) % 97;
        let before = format!("{body}{check:02}");
        assert!(before.parse::<Insz>().is_ok());
        // Born 2003-02-01, serial 456: the check uses 2 prefixed.
        let body = "030201456";
        let check = 97 - format!("2{body}").parse::<u64>().unwrap_or(0) % 97;
        let after = format!("{body}{check:02}");
        assert!(after.parse::<Insz>().is_ok());
        let formatted = format!(
            "{}.{}.{}-{}.{}",
            &after[..2],
            &after[2..4],
            &after[4..6],
            &after[6..9],
            &after[9..]
        );
        assert!(formatted.parse::<Insz>().is_ok());
        let wrong = format!("{body}{:02}", (check + 1) % 97);
        assert!(wrong.parse::<Insz>().is_err());
    }

    #[test]
    fn insz_never_printed() {
        let body = "850715123";
        let check = 97 - body.parse::<u64>().unwrap_or(0) % 97;
        let insz: Insz = format!("{body}{check:02}").parse().expect("valid");
        assert!(!format!("{insz:?}").contains(body));
        let err = "85071512300".parse::<Insz>().expect_err("invalid");
        assert!(!err.to_string().contains("850715"));
    }

    #[test]
    fn a_postcode_is_four_digits() {
        assert_eq!(
            "9300".parse::<Postcode>().expect("a postcode").as_str(),
            "9300"
        );
        for bad in ["930", "93000", "93a0", "", " 930"] {
            let err = bad.parse::<Postcode>().expect_err("not a postcode");
            assert_eq!(
                err.to_string(),
                format!("{bad:?} is not a Belgian postcode (4 digits)")
            );
        }
    }

    #[test]
    fn an_ovo_code_is_ovo_and_six_digits() {
        assert_eq!(
            "OVO002067"
                .parse::<OvoCode>()
                .expect("an OVO code")
                .as_str(),
            "OVO002067"
        );
        for bad in [
            "OVO12",
            "ovo002067",
            "OVO0020670",
            "OVOabcdef",
            "002067",
            "",
        ] {
            assert_eq!(
                bad.parse::<OvoCode>().expect_err("not an OVO code"),
                IdError::OvoCode(bad.to_owned())
            );
        }
    }
}
