//! The JSON subscriber adapter: decides, for one subscriber, whether an association
//! concerns it (the selector) and what of it the subscriber may see (the field policy).
//!
//! The field policy also withholds what the hub cannot vouch for: a granted value that fails
//! its check (an INSZ that is not 11 digits passing mod 97) is left out and named in
//! `withheld` like a value the policy does not grant, so every message the hub publishes
//! validates against its schema whatever the register sends ([`FieldPolicy::filter`]).
//!
//! Invariant: the selector and the field policy are pure; `http` is the one piece of I/O
//! (posting to a subscriber's endpoint and classifying its answer). The hub's runtime does
//! the consuming, publishing and bookkeeping; this crate never sees the broker or the store.

pub mod http;
pub mod lazy;

use contracts::register::Vereniging;
use contracts::{AssociationChanged, Insz, Part, Territory};
use serde::Deserialize;

/// Which associations a subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Selector {
    /// Every association.
    All,
    /// Associations with at least one location whose postcode is listed.
    Postcodes { postcodes: Vec<String> },
    /// A municipality's territory ([`Territory::matches`]).
    Territory(Territory),
}

impl Selector {
    pub fn matches(&self, vereniging: &Vereniging) -> bool {
        match self {
            Selector::Territory(territory) => territory.matches(vereniging),
            // Only a territory looks at the werkingsgebieden.
            _ => self.matches_codes(vereniging.postcodes().into_iter(), std::iter::empty()),
        }
    }

    /// [`Selector::matches`] for an association known only by its locations' postcodes and
    /// its werkingsgebieden's codes (see [`lazy`]).
    pub fn matches_codes<'a>(
        &self,
        mut postcodes: impl Iterator<Item = &'a str>,
        werkingsgebieden: impl Iterator<Item = &'a str>,
    ) -> bool {
        match self {
            Selector::All => true,
            Selector::Postcodes { postcodes: wanted } => {
                postcodes.any(|p| wanted.iter().any(|w| w == p))
            }
            Selector::Territory(territory) => territory.matches_codes(postcodes, werkingsgebieden),
        }
    }
}

/// What personal data a subscriber is granted. The default grants none of the INSZ and
/// keeps the representatives' other data (names, contact details).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FieldPolicy {
    /// The representatives' national numbers.
    pub insz: bool,
    /// The representatives at all (names, e-mail, phone numbers).
    pub vertegenwoordigers: bool,
}

impl Default for FieldPolicy {
    fn default() -> Self {
        FieldPolicy {
            insz: false,
            vertegenwoordigers: true,
        }
    }
}

/// What `withheld` lists when the INSZ was left out.
pub const WITHHELD_INSZ: &str = "vertegenwoordigers[].insz";
/// What `withheld` lists when all representative data was left out.
pub const WITHHELD_VERTEGENWOORDIGERS: &str = "vertegenwoordigers";

/// A value the hub withheld because it cannot vouch for it (it fails its check), though the
/// policy grants it. Carries no value: only where it was and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// The path `withheld` names, e.g. [`WITHHELD_INSZ`].
    pub field: &'static str,
    /// The check that failed, without the value (`contracts::ids::IdError` is redacted).
    pub reason: String,
}

/// A message through a field policy, and the invalid values it withheld on the way.
#[derive(Debug, Clone)]
pub struct Filtered {
    pub message: AssociationChanged,
    pub invalid: Vec<Invalid>,
}

impl FieldPolicy {
    /// The parts this receiver may see.
    pub fn visible_parts(&self) -> Vec<Part> {
        Part::ALL
            .into_iter()
            .filter(|p| self.vertegenwoordigers || *p != Part::Vertegenwoordigers)
            .collect()
    }

    /// Of `parts`, those this receiver may see.
    pub fn visible(&self, parts: &[Part]) -> Vec<Part> {
        parts
            .iter()
            .copied()
            .filter(|p| self.vertegenwoordigers || *p != Part::Vertegenwoordigers)
            .collect()
    }

    /// The message as this subscriber may receive it; `withheld` names what was left out
    /// and `changedParts` keeps only the parts it may see (see [`FieldPolicy::filter`]).
    pub fn apply(&self, message: AssociationChanged) -> AssociationChanged {
        self.filter(message).message
    }

    /// [`FieldPolicy::apply`], also saying which granted values were withheld as invalid.
    ///
    /// Every value the published schema constrains and the register may break is checked
    /// here: an INSZ is published only when it passes `Insz`'s check (11 digits, mod 97),
    /// written as its 11 digits. If any representative's INSZ fails, every INSZ of the
    /// message is withheld and `withheld` names `vertegenwoordigers[].insz`: the path
    /// cannot say which representative, and a receiver must be able to tell a withheld INSZ
    /// from one the register does not have.
    pub fn filter(&self, mut message: AssociationChanged) -> Filtered {
        let mut invalid = Vec::new();
        let v = &mut message.vereniging;
        if !self.vertegenwoordigers {
            v.vertegenwoordigers.clear();
            // A change it cannot see is no change to this receiver.
            message.changed_parts = self.visible(&message.changed_parts);
            message
                .withheld
                .push(WITHHELD_VERTEGENWOORDIGERS.to_owned());
        } else if !self.insz {
            for rep in &mut v.vertegenwoordigers {
                rep.insz = None;
            }
            message.withheld.push(WITHHELD_INSZ.to_owned());
        } else {
            for rep in &mut v.vertegenwoordigers {
                let Some(raw) = rep.insz.as_deref() else {
                    continue;
                };
                match raw.parse::<Insz>() {
                    Ok(insz) => rep.insz = Some(insz.as_str().to_owned()),
                    Err(e) => invalid.push(Invalid {
                        field: WITHHELD_INSZ,
                        reason: e.to_string(),
                    }),
                }
            }
            if !invalid.is_empty() {
                for rep in &mut v.vertegenwoordigers {
                    rep.insz = None;
                }
                message.withheld.push(WITHHELD_INSZ.to_owned());
            }
        }
        Filtered { message, invalid }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::{fixtures, MessageType, Metadata, Part};

    fn message() -> AssociationChanged {
        let vereniging = fixtures::register_example();
        AssociationChanged {
            metadata: Metadata {
                message_id: Default::default(),
                message_type: MessageType::AssociationChanged,
                time: time::OffsetDateTime::UNIX_EPOCH,
                source: "test".into(),
                correlation_id: Default::default(),
                v_code: vereniging.v_code.clone(),
                sequence: 1,
                version: Some(1),
            },
            changed_parts: Part::ALL.to_vec(),
            withheld: vec![],
            vereniging,
        }
    }

    #[test]
    fn postcode_selector_matches_any_location() {
        let m = message();
        let aalst = Selector::Postcodes {
            postcodes: vec!["9300".into(), "9320".into()],
        };
        let gent = Selector::Postcodes {
            postcodes: vec!["9000".into()],
        };
        let evergem = Selector::Postcodes {
            postcodes: vec!["9940".into()],
        };
        assert!(aalst.matches(&m.vereniging));
        assert!(gent.matches(&m.vereniging));
        assert!(!evergem.matches(&m.vereniging));
        assert!(Selector::All.matches(&m.vereniging));
    }

    #[test]
    fn territory_matches_a_postcode_or_a_werkingsgebied() {
        let mut m = message();
        let evergem = |werkingsgebieden: Vec<String>| {
            Selector::Territory(Territory {
                postcodes: vec!["9940".into()],
                werkingsgebieden,
            })
        };
        assert!(!evergem(vec![]).matches(&m.vereniging));
        m.vereniging.werkingsgebieden = vec![contracts::register::CodeNaam {
            code: "BE2344019".into(),
            naam: "Evergem".into(),
        }];
        assert!(evergem(vec!["BE2344019".into()]).matches(&m.vereniging));
        assert!(!evergem(vec!["BE2341002".into()]).matches(&m.vereniging));
        if let Some(adres) = m.vereniging.locaties[0].adres.as_mut() {
            adres.postcode = "9940".into();
        }
        assert!(evergem(vec![]).matches(&m.vereniging));
    }

    #[test]
    fn default_policy_removes_every_insz_and_says_so() {
        let out = FieldPolicy::default().apply(message());
        let json = serde_json::to_string(&out).expect("serialises");
        assert!(!json.contains("\"insz\""), "{json}");
        assert!(!json.contains("85071512397"));
        assert!(json.contains("an.peeters@example.be"));
        assert_eq!(out.withheld, vec![WITHHELD_INSZ.to_owned()]);
    }

    /// Every personal data granted.
    const GRANTED: FieldPolicy = FieldPolicy {
        insz: true,
        vertegenwoordigers: true,
    };

    #[test]
    fn granted_policy_keeps_insz() {
        let out = GRANTED.apply(message());
        assert_eq!(
            out.vereniging.vertegenwoordigers[0].insz.as_deref(),
            Some("85071512397")
        );
        assert!(out.withheld.is_empty());
    }

    /// The example with a second representative, whose INSZ is `second`.
    fn two_representatives(second: &str) -> AssociationChanged {
        let mut m = message();
        let mut other = m.vereniging.vertegenwoordigers[0].clone();
        other.vertegenwoordiger_id += 1;
        other.insz = Some(second.to_owned());
        m.vereniging.vertegenwoordigers.push(other);
        m
    }

    #[test]
    fn a_granted_insz_that_fails_its_check_is_withheld_with_every_other() {
        // 10 digits, and 11 digits with a wrong check (the valid one ends in 97).
        for bad in ["8507151239", "85071512398"] {
            let out = GRANTED.filter(two_representatives(bad));
            assert_eq!(
                out.invalid,
                vec![Invalid {
                    field: WITHHELD_INSZ,
                    reason: if bad.len() == 10 {
                        "INSZ must have 11 digits, got \"<10 characters>\"".to_owned()
                    } else {
                        "INSZ \"<redacted>\" fails the mod-97 check".to_owned()
                    },
                }]
            );
            assert_eq!(out.message.withheld, vec![WITHHELD_INSZ.to_owned()]);
            assert!(out
                .message
                .vereniging
                .vertegenwoordigers
                .iter()
                .all(|r| r.insz.is_none()));
            assert_eq!(out.message.vereniging.vertegenwoordigers.len(), 2);
            assert!(!format!("{:?}", out.invalid).contains(bad));
        }
    }

    #[test]
    fn a_granted_insz_is_published_as_its_eleven_digits() {
        let out = GRANTED.filter(two_representatives("85.07.15-123.97"));
        assert!(out.invalid.is_empty());
        assert!(out.message.withheld.is_empty());
        let insz: Vec<_> = out
            .message
            .vereniging
            .vertegenwoordigers
            .iter()
            .map(|r| r.insz.as_deref())
            .collect();
        assert_eq!(insz, vec![Some("85071512397"), Some("85071512397")]);
    }

    #[test]
    fn an_invalid_insz_is_not_reported_when_the_policy_withholds_it_anyway() {
        let out = FieldPolicy::default().filter(two_representatives("123"));
        assert!(out.invalid.is_empty());
        assert_eq!(out.message.withheld, vec![WITHHELD_INSZ.to_owned()]);
    }

    #[test]
    fn no_representatives_policy_removes_all_personal_data() {
        let no_representatives = FieldPolicy {
            vertegenwoordigers: false,
            ..FieldPolicy::default()
        };
        let out = no_representatives.apply(message());
        let json = serde_json::to_string(&out).expect("serialises");
        assert!(out.vereniging.vertegenwoordigers.is_empty());
        assert!(!json.contains("Peeters"));
        assert_eq!(out.withheld, vec![WITHHELD_VERTEGENWOORDIGERS.to_owned()]);
        assert!(!out.changed_parts.contains(&Part::Vertegenwoordigers));
        assert!(out.changed_parts.contains(&Part::Locaties));
    }

    #[test]
    fn selector_config_is_tagged() {
        let s: Selector =
            serde_json::from_str(r#"{"kind":"postcodes","postcodes":["9940"]}"#).expect("parses");
        assert_eq!(
            s,
            Selector::Postcodes {
                postcodes: vec!["9940".into()]
            }
        );
        assert!(serde_json::from_str::<Selector>(r#"{"kind":"everything"}"#).is_err());
    }
}
