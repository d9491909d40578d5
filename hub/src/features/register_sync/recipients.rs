//! Who receives a change: decided once, where the hub takes the change in and knows the old
//! and the new snapshot, so that the cost of a change follows its recipients and not the
//! number of subscribers.
//!
//! A subscriber is a recipient of a change when its selector matches the old snapshot or the
//! new one: it gets the new snapshot, or, when the association left its scope, the message
//! from which its distributor makes the `left-territory` notice (a municipality that held it)
//! or nothing. A recipient that did not select the old snapshot but selects the new one is
//! marked `entered`: a municipality is then told `entered-territory` before the snapshot.
//! A removal goes to those that selected the old snapshot. The candidates are found through
//! an index by postcode and werkingsgebied, so evaluating a change reads only the subscribers
//! that could match it; each candidate's selector then decides.

use std::collections::{BTreeSet, HashMap};

use adapter_subscriber::Selector;
use contracts::register::Vereniging;
use serde::{Deserialize, Serialize};

use crate::config::SubscriberSettings;

/// One recipient of a change, as recorded with its outbox message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub subscriber: String,
    /// Outside its scope before the change, inside after it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub entered: bool,
}

/// The configured subscribers' selectors, indexed for finding a change's candidates.
#[derive(Debug, Default)]
pub struct Audience {
    selectors: Vec<(String, Selector)>,
    /// Subscribers that select every association.
    everyone: Vec<usize>,
    by_postcode: HashMap<String, Vec<usize>>,
    by_werkingsgebied: HashMap<String, Vec<usize>>,
}

impl Audience {
    pub fn new(subscribers: &[SubscriberSettings]) -> Audience {
        let mut audience = Audience::default();
        for (index, s) in subscribers.iter().enumerate() {
            audience
                .selectors
                .push((s.name.clone(), s.selector.clone()));
            match &s.selector {
                Selector::All => audience.everyone.push(index),
                Selector::Postcodes { postcodes } => audience.index_postcodes(postcodes, index),
                Selector::Territory(territory) => {
                    audience.index_postcodes(&territory.postcodes, index);
                    for w in &territory.werkingsgebieden {
                        audience
                            .by_werkingsgebied
                            .entry(w.clone())
                            .or_default()
                            .push(index);
                    }
                }
            }
        }
        audience
    }

    fn index_postcodes(&mut self, postcodes: &[String], index: usize) {
        for p in postcodes {
            self.by_postcode.entry(p.clone()).or_default().push(index);
        }
    }

    /// The recipients of a change from `old` (none: new to the hub) to `new`, in
    /// configuration order.
    pub fn of_change(&self, old: Option<&Vereniging>, new: &Vereniging) -> Vec<Recipient> {
        let mut candidates = self.candidates(new);
        if let Some(old) = old {
            candidates.extend(self.candidates(old));
        }
        candidates
            .into_iter()
            .filter_map(|index| {
                let (name, selector) = &self.selectors[index];
                let before = old.is_some_and(|o| selector.matches(o));
                let after = selector.matches(new);
                (before || after).then(|| Recipient {
                    subscriber: name.clone(),
                    entered: old.is_some() && !before && after,
                })
            })
            .collect()
    }

    /// The recipients of the removal of an association whose last snapshot was `old`.
    pub fn of_removal(&self, old: &Vereniging) -> Vec<Recipient> {
        self.candidates(old)
            .into_iter()
            .filter(|index| self.selectors[*index].1.matches(old))
            .map(|index| Recipient {
                subscriber: self.selectors[index].0.clone(),
                entered: false,
            })
            .collect()
    }

    /// Subscribers whose selector could match `v`, in configuration order.
    fn candidates(&self, v: &Vereniging) -> BTreeSet<usize> {
        let mut found: BTreeSet<usize> = self.everyone.iter().copied().collect();
        for p in v.postcodes() {
            found.extend(self.by_postcode.get(p).into_iter().flatten());
        }
        for w in &v.werkingsgebieden {
            found.extend(self.by_werkingsgebied.get(&w.code).into_iter().flatten());
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RetrySettings;
    use crate::features::register_sync::channels::{ChannelKinds, Owner};
    use adapter_subscriber::FieldPolicy;
    use std::time::Duration;

    fn subscriber(name: &str, selector: Selector) -> SubscriberSettings {
        SubscriberSettings {
            name: name.to_owned(),
            selector,
            fields: FieldPolicy::default(),
            channel: ChannelKinds::standard().default_channel(Owner {
                name,
                ovo_code: None,
            }),
            retry: RetrySettings {
                base: Duration::from_millis(100),
                cap: Duration::from_secs(1),
                max_attempts: 3,
            },
            municipality: None,
        }
    }

    fn territory(postcodes: &[&str]) -> Selector {
        Selector::Territory(contracts::Territory {
            postcodes: postcodes.iter().map(|p| p.to_string()).collect(),
            werkingsgebieden: vec!["BE24123064".to_owned()],
        })
    }

    fn vereniging(postcodes: &[&str]) -> Vereniging {
        let locaties: Vec<_> = postcodes
            .iter()
            .enumerate()
            .map(|(i, p)| serde_json::json!({"locatieId": i, "locatietype": "Activiteiten", "adres": {"postcode": p}}))
            .collect();
        serde_json::from_value(serde_json::json!({
            "vCode": "V0001001", "naam": "Club", "verenigingstype": {"code": "FV"},
            "status": "Actief", "locaties": locaties
        }))
        .expect("a vereniging")
    }

    fn audience() -> Audience {
        Audience::new(&[
            subscriber("aalst", territory(&["9300"])),
            subscriber("evergem", territory(&["9940"])),
            subscriber("observer", Selector::All),
            subscriber("beveren", territory(&["9120"])),
        ])
    }

    fn names(r: &[Recipient]) -> Vec<(&str, bool)> {
        r.iter()
            .map(|r| (r.subscriber.as_str(), r.entered))
            .collect()
    }

    #[test]
    fn a_new_association_goes_to_its_territory_and_to_everyone_without_a_notice() {
        let r = audience().of_change(None, &vereniging(&["9300"]));
        assert_eq!(names(&r), [("aalst", false), ("observer", false)]);
    }

    #[test]
    fn a_move_reaches_the_old_and_the_new_territory_and_no_one_else() {
        let r = audience().of_change(Some(&vereniging(&["9300"])), &vereniging(&["9940"]));
        assert_eq!(
            names(&r),
            [("aalst", false), ("evergem", true), ("observer", false)]
        );
    }

    #[test]
    fn a_removal_reaches_those_that_selected_it() {
        let r = audience().of_removal(&vereniging(&["9120", "9300"]));
        assert_eq!(
            names(&r),
            [("aalst", false), ("observer", false), ("beveren", false)]
        );
    }

    #[test]
    fn nobody_selects_an_association_elsewhere_except_everyone() {
        let r = audience().of_change(None, &vereniging(&["1000"]));
        assert_eq!(names(&r), [("observer", false)]);
    }
}
