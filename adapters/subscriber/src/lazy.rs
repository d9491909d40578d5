//! An `association.changed` read only as far as the selector and the field policy need: its
//! metadata and parts, the postcodes and werkingsgebieden the selector matches, and the
//! representatives the policy edits. Everything else of the snapshot stays the bytes it
//! arrived as and is written out again unchanged, so a subscriber's copy costs one scan of
//! the message instead of building, dropping and serialising the whole snapshot.
//!
//! For the hub's own messages (what its relay publishes, written by the same types) the copy
//! equals what [`FieldPolicy::filter`] gives, as JSON ([`tests`] compares both). What this
//! reader does not cover is left to the full path: a policy granting the INSZ (each value
//! is checked), a key written with escapes, anything that does not parse.

use contracts::{Metadata, Part};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{FieldPolicy, Selector, WITHHELD_INSZ, WITHHELD_VERTEGENWOORDIGERS};

/// An `association.changed`, its snapshot borrowed from the message body.
pub struct LazyChanged<'a> {
    pub metadata: Metadata,
    /// The body's length: about what the copy takes.
    body_len: usize,
    metadata_raw: &'a RawValue,
    pub changed_parts: Vec<Part>,
    withheld: Vec<String>,
    /// The snapshot's keys in their order, with their values as they arrived.
    vereniging: Fields<'a>,
    postcodes: Vec<&'a str>,
    werkingsgebieden: Vec<&'a str>,
    /// `vertegenwoordigers`, each as its keys and raw values.
    representatives: Objects<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(borrow)]
    metadata: &'a RawValue,
    changed_parts: Vec<Part>,
    #[serde(default)]
    withheld: Vec<String>,
    #[serde(borrow = "'a")]
    vereniging: Fields<'a>,
}

/// A JSON object as its keys and raw values, in order.
struct Fields<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Object;
        impl<'de> Visitor<'de> for Object {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Fields<'de>, M::Error> {
                // Room for a snapshot's keys (about 20), so that the list is not regrown.
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(32));
                while let Some(key) = map.next_key::<&'de str>()? {
                    fields.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Fields(fields))
            }
        }
        let Fields(fields) = d.deserialize_map(Object)?;
        Ok(Fields(fields))
    }
}

/// A JSON array of objects (`null`: none).
struct Objects<'a>(Vec<Fields<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Objects<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Option::<Vec<Fields<'a>>>::deserialize(d)?;
        Ok(Objects(items.unwrap_or_default()))
    }
}

#[derive(Deserialize)]
struct Locatie<'a> {
    #[serde(default, borrow)]
    adres: Option<Adres<'a>>,
}

#[derive(Deserialize)]
struct Adres<'a> {
    #[serde(default, borrow)]
    postcode: Option<&'a str>,
}

#[derive(Deserialize)]
struct Code<'a> {
    #[serde(borrow)]
    code: &'a str,
}

fn list<'a, T: Deserialize<'a>>(raw: Option<&'a RawValue>) -> Option<Vec<T>> {
    match raw {
        None => Some(Vec::new()),
        Some(raw) => serde_json::from_str::<Option<Vec<T>>>(raw.get())
            .ok()
            .map(Option::unwrap_or_default),
    }
}

/// Writes `"key":`. A key borrowed from the body holds no escape (serde_json borrows only
/// those), so it is written as it stood.
fn push_key(out: &mut Vec<u8>, key: &str) {
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Whether [`LazyChanged::render`] writes what `policy` lets through: every policy but one
/// granting the INSZ (whose values [`FieldPolicy::filter`] checks one by one).
pub fn covers(policy: &FieldPolicy) -> bool {
    !(policy.vertegenwoordigers && policy.insz)
}

impl<'a> LazyChanged<'a> {
    /// `None` when the body is not one this reader covers (the full path decides then).
    pub fn parse(body: &'a [u8]) -> Option<LazyChanged<'a>> {
        // Checked as UTF-8 once, whole: read from a `&str`, serde_json does not check each
        // string and raw value again.
        let text = std::str::from_utf8(body).ok()?;
        let envelope: Envelope<'a> = serde_json::from_str(text).ok()?;
        let metadata: Metadata = serde_json::from_str(envelope.metadata.get()).ok()?;
        let field = |name: &str| {
            envelope
                .vereniging
                .0
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, raw)| *raw)
        };
        let mut postcodes: Vec<&'a str> = Vec::new();
        for locatie in list::<Locatie<'a>>(field("locaties"))? {
            let code = locatie.adres.and_then(|a| a.postcode).unwrap_or_default();
            if !code.is_empty() && !postcodes.contains(&code) {
                postcodes.push(code);
            }
        }
        let werkingsgebieden = list::<Code<'a>>(field("werkingsgebieden"))?
            .into_iter()
            .map(|c| c.code)
            .collect();
        let representatives = match field("vertegenwoordigers") {
            Some(raw) => serde_json::from_str::<Objects<'a>>(raw.get()).ok()?,
            None => Objects(Vec::new()),
        };
        Some(LazyChanged {
            metadata,
            body_len: body.len(),
            metadata_raw: envelope.metadata,
            changed_parts: envelope.changed_parts,
            withheld: envelope.withheld,
            vereniging: envelope.vereniging,
            postcodes,
            werkingsgebieden,
            representatives,
        })
    }

    pub fn selected_by(&self, selector: &Selector) -> bool {
        selector.matches_codes(
            self.postcodes.iter().copied(),
            self.werkingsgebieden.iter().copied(),
        )
    }

    /// The message as `policy` lets it through, with `changed_parts` (already only the
    /// parts the policy lets it see), as JSON; `None` for a policy it does not [`covers`].
    pub fn render(&self, policy: &FieldPolicy, changed_parts: &[Part]) -> Option<Vec<u8>> {
        if !covers(policy) {
            return None;
        }
        let withheld_now = if policy.vertegenwoordigers {
            WITHHELD_INSZ
        } else {
            WITHHELD_VERTEGENWOORDIGERS
        };
        let withheld: Vec<&str> = self
            .withheld
            .iter()
            .map(String::as_str)
            .chain([withheld_now])
            .collect();
        // The copy is about as long as the message (a few bytes more for `withheld`).
        let mut out = Vec::with_capacity(self.body_len + 64);
        out.extend_from_slice(b"{\"metadata\":");
        out.extend_from_slice(self.metadata_raw.get().as_bytes());
        out.extend_from_slice(b",\"changedParts\":");
        // Part names hold nothing to escape.
        out.push(b'[');
        for (i, part) in changed_parts.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(part.as_str().as_bytes());
            out.push(b'"');
        }
        out.push(b']');
        out.extend_from_slice(b",\"withheld\":");
        serde_json::to_writer(&mut out, &withheld).ok()?;
        out.extend_from_slice(b",\"vereniging\":{");
        for (i, (key, raw)) in self.vereniging.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            push_key(&mut out, key);
            if *key != "vertegenwoordigers" {
                out.extend_from_slice(raw.get().as_bytes());
            } else if !policy.vertegenwoordigers {
                out.extend_from_slice(b"[]");
            } else {
                out.push(b'[');
                for (j, rep) in self.representatives.0.iter().enumerate() {
                    if j > 0 {
                        out.push(b',');
                    }
                    out.push(b'{');
                    let kept = rep.0.iter().filter(|(k, _)| *k != "insz");
                    for (n, (k, v)) in kept.enumerate() {
                        if n > 0 {
                            out.push(b',');
                        }
                        push_key(&mut out, k);
                        out.extend_from_slice(v.get().as_bytes());
                    }
                    out.push(b'}');
                }
                out.push(b']');
            }
        }
        out.extend_from_slice(b"}}");
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::{fixtures, AssociationChanged, MessageType, Territory};

    fn message(edit: impl FnOnce(&mut contracts::Vereniging)) -> AssociationChanged {
        let mut vereniging = fixtures::register_example();
        edit(&mut vereniging);
        AssociationChanged {
            metadata: Metadata {
                message_id: Default::default(),
                message_type: MessageType::AssociationChanged,
                time: time::OffsetDateTime::UNIX_EPOCH,
                source: "hub/ingest".into(),
                correlation_id: Default::default(),
                v_code: vereniging.v_code.clone(),
                sequence: 7,
                version: Some(3),
            },
            changed_parts: vec![Part::Basisgegevens, Part::Vertegenwoordigers],
            withheld: vec![],
            vereniging,
        }
    }

    fn json(bytes: &[u8]) -> serde_json::Value {
        serde_json::from_slice(bytes).expect("JSON")
    }

    #[test]
    fn a_list_of_objects_may_be_null_but_nothing_else() {
        let objects = |raw: &'static str| serde_json::from_str::<Objects<'static>>(raw);
        assert_eq!(objects("null").map(|o| o.0.len()).ok(), Some(0));
        let two = objects(r#"[{"a": 1, "b": [2]}, {}]"#).expect("an array of objects");
        let keys: Vec<Vec<&str>> = two
            .0
            .iter()
            .map(|f| f.0.iter().map(|(k, _)| *k).collect())
            .collect();
        assert_eq!(keys, [vec!["a", "b"], vec![]]);
        assert!(objects(r#"{"a": 1}"#).is_err());
        assert!(objects("[1]").is_err());
    }

    /// What the lazy reader writes equals what the full path writes, for every policy it
    /// covers, and it selects what the full path selects.
    #[test]
    fn the_copy_equals_the_full_paths() {
        let messages = [
            message(|_| {}),
            message(|v| v.vertegenwoordigers.clear()),
            message(|v| v.locaties.clear()),
            message(|v| {
                for rep in &mut v.vertegenwoordigers {
                    rep.insz = None;
                }
            }),
        ];
        let policies = [
            FieldPolicy::default(),
            FieldPolicy {
                insz: false,
                vertegenwoordigers: false,
            },
            FieldPolicy {
                insz: true,
                vertegenwoordigers: false,
            },
        ];
        let selectors = [
            Selector::All,
            Selector::Postcodes {
                postcodes: vec!["9300".into()],
            },
            Selector::Territory(Territory {
                postcodes: vec!["9940".into()],
                werkingsgebieden: vec!["BE24123064".into()],
            }),
        ];
        for (m, original) in messages.iter().enumerate() {
            let body = serde_json::to_vec(original).expect("serialises");
            let lazy = LazyChanged::parse(&body).expect("covered");
            for selector in &selectors {
                assert_eq!(
                    lazy.selected_by(selector),
                    selector.matches(&original.vereniging),
                    "message {m}, {selector:?}"
                );
            }
            for policy in &policies {
                let full = policy.filter(original.clone()).message;
                let copy = lazy
                    .render(policy, &full.changed_parts)
                    .expect("a covered policy");
                let expected = serde_json::to_vec(&full).expect("serialises");
                assert_eq!(json(&copy), json(&expected), "message {m}, {policy:?}");
            }
        }
    }

    #[test]
    fn what_it_does_not_cover_is_left_to_the_full_path() {
        let body = serde_json::to_vec(&message(|_| {})).expect("serialises");
        let lazy = LazyChanged::parse(&body).expect("covered");
        let granted = FieldPolicy {
            insz: true,
            vertegenwoordigers: true,
        };
        assert!(lazy.render(&granted, &[]).is_none());
        assert!(LazyChanged::parse(b"{\"metadata\":{}}").is_none());
        assert!(LazyChanged::parse(b"not json").is_none());
    }
}
