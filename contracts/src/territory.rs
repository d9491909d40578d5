//! A territory, as a municipality's (and a service's eligibility): the postcodes of its
//! associations' locations and the werkingsgebieden (NUTS/LAU codes) they work in. One rule
//! for what matches and one for what is valid, used by the configuration, the catalogue and
//! the subscriber selectors alike.

use serde::{Deserialize, Serialize};

use crate::ids::Postcode;
use crate::register::Vereniging;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Territory {
    /// Belgian postcodes (4 digits).
    pub postcodes: Vec<String>,
    /// NUTS/LAU codes, e.g. `BE24123064` (a municipality) or `BE234` (a province).
    pub werkingsgebieden: Vec<String>,
}

/// What is wrong with a territory, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerritoryProblem {
    pub at: TerritoryPart,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerritoryPart {
    /// The territory as a whole.
    Whole,
    /// `postcodes[i]`.
    Postcode(usize),
    /// `werkingsgebieden[i]`.
    Werkingsgebied(usize),
}

impl Territory {
    /// An association is in the territory when one of its locations has a listed postcode
    /// or one of its werkingsgebieden is listed.
    pub fn matches(&self, vereniging: &Vereniging) -> bool {
        let gebieden = vereniging.werkingsgebieden.iter().map(|w| w.code.as_str());
        self.matches_codes(vereniging.postcodes().into_iter(), gebieden)
    }

    /// [`Territory::matches`] for an association known only by its locations' postcodes
    /// and its werkingsgebieden's codes.
    pub fn matches_codes<'a>(
        &self,
        mut postcodes: impl Iterator<Item = &'a str>,
        mut werkingsgebieden: impl Iterator<Item = &'a str>,
    ) -> bool {
        postcodes.any(|p| self.postcodes.iter().any(|wanted| wanted == p))
            || werkingsgebieden.any(|w| self.werkingsgebieden.iter().any(|wanted| wanted == w))
    }

    /// Every problem: no postcode and no werkingsgebied at all, a postcode that is not one
    /// ([`Postcode`]), a werkingsgebied that is not a NUTS/LAU code (`BE` and more).
    pub fn problems(&self) -> Vec<TerritoryProblem> {
        let mut problems = Vec::new();
        if self.postcodes.is_empty() && self.werkingsgebieden.is_empty() {
            problems.push(TerritoryProblem {
                at: TerritoryPart::Whole,
                message: "must list at least one postcode or werkingsgebied".into(),
            });
        }
        for (i, p) in self.postcodes.iter().enumerate() {
            if let Err(e) = p.parse::<Postcode>() {
                problems.push(TerritoryProblem {
                    at: TerritoryPart::Postcode(i),
                    message: e.to_string(),
                });
            }
        }
        for (i, w) in self.werkingsgebieden.iter().enumerate() {
            if !is_werkingsgebied(w) {
                problems.push(TerritoryProblem {
                    at: TerritoryPart::Werkingsgebied(i),
                    message: format!("{w:?} is not a NUTS/LAU code (BE...)"),
                });
            }
        }
        problems
    }
}

/// A NUTS/LAU code as the register writes a werkingsgebied's `code`: `BE` and more.
pub fn is_werkingsgebied(code: &str) -> bool {
    code.len() >= 3 && code.starts_with("BE")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_of_a_territory_is_named_with_its_place() {
        let t = Territory {
            postcodes: vec!["9300".into(), "930".into()],
            werkingsgebieden: vec!["41002".into(), "BE24123064".into()],
        };
        let at: Vec<TerritoryPart> = t.problems().into_iter().map(|p| p.at).collect();
        assert_eq!(
            at,
            [TerritoryPart::Postcode(1), TerritoryPart::Werkingsgebied(0)]
        );
        let empty = Territory::default().problems();
        assert_eq!(empty.len(), 1);
        assert_eq!(empty[0].at, TerritoryPart::Whole);
    }
}
