//! What a partner's answer means for retrying: SOAP 1.1 faults, HTTP statuses, and the
//! MAGDA `Uitzondering`s of an answer.

use std::fmt;

use crate::text::clip;
use crate::xml::Element;

/// The faultstring prefix of a MAGDA throttling fault (too many concurrent calls).
pub const THROTTLED_FAULT: &str = "99995";

/// Whether `status` is 2xx.
pub fn is_success(status: u16) -> bool {
    (200..=299).contains(&status)
}

/// Whether an HTTP status without a readable answer is worth retrying: 5xx, 429, 408.
pub fn status_is_transient(status: u16) -> bool {
    (500..=599).contains(&status) || status == 429 || status == 408
}

/// A SOAP 1.1 fault's `faultcode` and `faultstring`, trimmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault<'a> {
    pub code: &'a str,
    pub string: &'a str,
}

impl<'a> Fault<'a> {
    /// The `faultcode` and `faultstring` of a `soapenv:Fault` element (empty when absent).
    pub fn of(fault: &'a Element) -> Self {
        Fault {
            code: fault.child_text("faultcode"),
            string: fault.child_text("faultstring"),
        }
    }

    /// Whether it is MAGDA's throttling fault: a faultstring starting with `99995`.
    pub fn is_throttled(&self) -> bool {
        self.string.starts_with(THROTTLED_FAULT)
    }

    /// Whether it is worth retrying: a `Server` faultcode (possibly with a dotted subcode,
    /// `soapenv:Server.Busy`) is; `Client`, `VersionMismatch` and `MustUnderstand` are not;
    /// another code follows the HTTP `status` ([`status_is_transient`]).
    pub fn is_transient(&self, status: u16) -> bool {
        // A QName such as `soapenv:Server`, possibly with a dotted subcode (`Server.Busy`).
        let local = self.code.rsplit(':').next().unwrap_or(self.code);
        let class = local.split('.').next().unwrap_or(local);
        match class {
            "Server" => true,
            "Client" | "VersionMismatch" | "MustUnderstand" => false,
            _ => status_is_transient(status),
        }
    }
}

/// Whether an answer that is neither a fault nor a usable reply is worth retrying: never
/// for a 2xx (retrying cannot make it a reply), otherwise by [`status_is_transient`].
pub fn unreadable_is_transient(status: u16) -> bool {
    !is_success(status) && status_is_transient(status)
}

/// `Uitzondering/Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UitzonderingType {
    /// A business error: refused (or not found).
    Fout,
    Waarschuwing,
    Informatie,
}

impl UitzonderingType {
    pub fn as_str(self) -> &'static str {
        match self {
            UitzonderingType::Fout => "FOUT",
            UitzonderingType::Waarschuwing => "WAARSCHUWING",
            UitzonderingType::Informatie => "INFORMATIE",
        }
    }

    /// Case-insensitive, surrounding white space ignored.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        [
            UitzonderingType::Fout,
            UitzonderingType::Waarschuwing,
            UitzonderingType::Informatie,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

/// An exception in a partner's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uitzondering {
    /// The code, e.g. `40046`.
    pub identificatie: String,
    /// Who raised it.
    pub oorsprong: String,
    pub type_: UitzonderingType,
    /// The explanation.
    pub diagnose: String,
}

impl fmt::Display for Uitzondering {
    /// `FOUT 40046 from aalst: Onbekend ondernemingsnummer`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.type_.as_str(), self.identificatie)?;
        if !self.oorsprong.is_empty() {
            write!(f, " from {}", self.oorsprong)?;
        }
        write!(f, ": {}", self.diagnose)
    }
}

/// The `Uitzonderingen/Uitzondering`s directly under `parent`, each text (trimmed) passed
/// through `tidy`. An unknown `Type` is an error naming it.
pub fn uitzonderingen(
    parent: &Element,
    tidy: impl Fn(&str) -> String,
) -> Result<Vec<Uitzondering>, String> {
    parent
        .children_named("Uitzonderingen")
        .flat_map(|list| list.children_named("Uitzondering"))
        .map(|u| {
            let type_text = u.child_text("Type");
            let type_ = UitzonderingType::parse(type_text).ok_or_else(|| {
                format!(
                    "an Uitzondering with an unknown Type {:?}",
                    clip(type_text, 40)
                )
            })?;
            Ok(Uitzondering {
                identificatie: tidy(u.child_text("Identificatie")),
                oorsprong: tidy(u.child_text("Oorsprong")),
                type_,
                diagnose: tidy(u.child_text("Diagnose")),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xml::{parse, soap_body, soap_fault};

    fn fault_of(code: &str, string: &str) -> Element {
        let doc = format!(
            "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><s:Fault>\
             <faultcode>{code}</faultcode><faultstring>{string}</faultstring></s:Fault></s:Body>\
             </s:Envelope>"
        );
        let mut root = parse(&doc).expect("parses");
        assert!(soap_body(&root).and_then(soap_fault).is_some());
        let mut body = root.children.remove(0);
        body.children.remove(0)
    }

    #[test]
    fn faults_are_classified_by_code() {
        let f = fault_of("s:Server", "99995 - Te veel gelijktijdige bevragingen");
        let fault = Fault::of(&f);
        assert!(fault.is_throttled());
        assert_eq!(fault.string, "99995 - Te veel gelijktijdige bevragingen");
        for (code, status, transient) in [
            ("s:Server", 500, true),
            ("s:Server.Busy", 500, true),
            ("soapenv:Server", 200, true),
            ("s:Client", 500, false),
            ("s:VersionMismatch", 500, false),
            ("MustUnderstand", 503, false),
            ("x:Other", 503, true),
            ("x:Other", 400, false),
        ] {
            let f = fault_of(code, "?");
            let fault = Fault::of(&f);
            assert!(!fault.is_throttled());
            assert_eq!(fault.code, code);
            assert_eq!(fault.is_transient(status), transient, "{code} {status}");
        }
    }

    #[test]
    fn statuses_are_classified() {
        for status in [500, 502, 503, 599, 429, 408] {
            assert!(status_is_transient(status), "{status}");
            assert!(unreadable_is_transient(status), "{status}");
        }
        for status in [200, 202, 301, 400, 401, 404, 600] {
            assert!(!status_is_transient(status), "{status}");
            assert!(!unreadable_is_transient(status), "{status}");
        }
        assert!(is_success(200) && is_success(299) && !is_success(300) && !is_success(199));
    }

    #[test]
    fn uitzonderingen_are_read_and_typed() {
        let doc = parse(
            "<Antwoord><Uitzonderingen><Uitzondering><Identificatie> 40143 </Identificatie>\
             <Oorsprong>aalst</Oorsprong><Type>waarschuwing</Type><Diagnose>Reeds  ontvangen\
             </Diagnose></Uitzondering><Uitzondering><Identificatie>40046</Identificatie>\
             <Type>FOUT</Type><Diagnose>Onbekend</Diagnose></Uitzondering></Uitzonderingen>\
             </Antwoord>",
        )
        .expect("parses");
        let all = uitzonderingen(&doc, str::to_owned).expect("readable");
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].type_, UitzonderingType::Waarschuwing);
        assert_eq!(
            all[0].to_string(),
            "WAARSCHUWING 40143 from aalst: Reeds  ontvangen"
        );
        assert_eq!(all[1].to_string(), "FOUT 40046: Onbekend");
        let collapsed = uitzonderingen(&doc, crate::text::collapse).expect("readable");
        assert_eq!(collapsed[0].diagnose, "Reeds ontvangen");

        let unknown = parse(
            "<A><Uitzonderingen><Uitzondering><Type>PROBLEEM</Type></Uitzondering>\
             </Uitzonderingen></A>",
        )
        .expect("parses");
        let err = uitzonderingen(&unknown, str::to_owned).expect_err("unknown type");
        assert!(err.contains("PROBLEEM"), "{err}");
        assert_eq!(
            UitzonderingType::parse(" fout "),
            Some(UitzonderingType::Fout)
        );
    }
}
