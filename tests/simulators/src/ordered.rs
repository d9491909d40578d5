//! Serializes a `serde_json::Value` with object members in the register's order (`vCode`
//! first, …) instead of serde_json's alphabetical order, without turning on serde_json's
//! `preserve_order` feature for the whole workspace. Unknown members follow, alphabetically.
//! The orders of a `vereniging` and an `adres` also say which members the seed's validation and
//! the beheer API check ([`LIST_MEMBERS`], [`ADRES_FIELDS`]).

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// The members of a `vereniging` in the register's order; its lists close it, from
/// `contactgegevens` on ([`LIST_MEMBERS`]).
const VERENIGING: [&str; 21] = [
    "@id",
    "@type",
    "vCode",
    "verenigingstype",
    "naam",
    "roepnaam",
    "korteNaam",
    "korteBeschrijving",
    "startdatum",
    "einddatum",
    "status",
    "doelgroep",
    "contactgegevens",
    "locaties",
    "vertegenwoordigers",
    "hoofdactiviteitenVerenigingsloket",
    "werkingsgebieden",
    "sleutels",
    "relaties",
    "lidmaatschappen",
    "erkenningen",
];

/// The members of a `vereniging` that are lists, in the register's order.
pub(crate) const LIST_MEMBERS: &[&str] = VERENIGING.split_at(12).1;

/// The members of an `adres` in the register's order: `@id` and `@type`, then
/// [`ADRES_FIELDS`].
const ADRES: [&str; 8] = [
    "@id",
    "@type",
    "straatnaam",
    "huisnummer",
    "busnummer",
    "postcode",
    "gemeente",
    "land",
];

/// The members of an `adres` that make the address, in the register's order.
pub(crate) const ADRES_FIELDS: &[&str] = ADRES.split_at(2).1;

fn order_for(ctx: &str) -> &'static [&'static str] {
    match ctx {
        "" => &[
            "@context",
            "vereniging",
            "metadata",
            "vCode",
            "sequence",
            "version",
            "access_token",
            "token_type",
            "expires_in",
            "scope",
            "error",
            "error_description",
            "type",
            "title",
            "detail",
            "status",
            "instance",
            "count",
        ],
        "vereniging" => &VERENIGING,
        "verenigingstype" => &["code", "naam"],
        "doelgroep" => &["@id", "@type", "minimumleeftijd", "maximumleeftijd"],
        "contactgegevens" => &[
            "@id",
            "@type",
            "contactgegevenId",
            "contactgegeventype",
            "waarde",
            "beschrijving",
            "isPrimair",
        ],
        "locaties" => &[
            "@id",
            "@type",
            "locatieId",
            "locatietype",
            "isPrimair",
            "naam",
            "adresvoorstelling",
            "adres",
            "adresId",
        ],
        "adres" => &ADRES,
        "adresId" => &["broncode", "bronwaarde"],
        "vertegenwoordigers" => &[
            "@id",
            "@type",
            "vertegenwoordigerId",
            "insz",
            "voornaam",
            "achternaam",
            "roepnaam",
            "rol",
            "isPrimair",
            "e-mail",
            "telefoon",
            "mobiel",
            "socialMedia",
        ],
        "hoofdactiviteitenVerenigingsloket" | "werkingsgebieden" => {
            &["@id", "@type", "code", "naam"]
        }
        "sleutels" => &[
            "@id",
            "@type",
            "bron",
            "waarde",
            "codeerSysteem",
            "gestructureerdeIdentificator",
        ],
        "gestructureerdeIdentificator" => &["@id", "@type", "nummer"],
        "lidmaatschappen" => &[
            "@id",
            "@type",
            "lidmaatschapId",
            "andereVereniging",
            "naam",
            "van",
            "tot",
            "identificatie",
            "beschrijving",
        ],
        _ => &[],
    }
}

/// `value` as found under the member `ctx` (`""` for a document's top level).
pub(crate) struct Ordered<'a> {
    pub value: &'a Value,
    pub ctx: &'a str,
}

impl Serialize for Ordered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.value {
            Value::Object(m) => {
                let order = order_for(self.ctx);
                let rank = |k: &str| order.iter().position(|o| *o == k).unwrap_or(usize::MAX);
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
                let mut map = s.serialize_map(Some(keys.len()))?;
                for k in keys {
                    map.serialize_entry(
                        k,
                        &Ordered {
                            value: &m[k],
                            ctx: k,
                        },
                    )?;
                }
                map.end()
            }
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(&Ordered {
                        value: x,
                        ctx: self.ctx,
                    })?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

/// The JSON text of `value` in register order.
pub(crate) fn to_string(value: &Value, ctx: &str) -> String {
    serde_json::to_string(&Ordered { value, ctx }).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn the_lists_close_a_vereniging() {
        assert_eq!(super::LIST_MEMBERS.len(), 9);
        assert_eq!(super::LIST_MEMBERS.first(), Some(&"contactgegevens"));
        assert_eq!(super::ADRES_FIELDS.first(), Some(&"straatnaam"));
    }

    #[test]
    fn register_order() {
        let v = json!({"vereniging": {"naam": "x", "vCode": "V0001001", "zzz": 1, "@id": "i",
            "locaties": [{"naam": "n", "locatieId": 1}]}, "@context": "c", "metadata": {}});
        assert_eq!(
            super::to_string(&v, ""),
            r#"{"@context":"c","vereniging":{"@id":"i","vCode":"V0001001","naam":"x","locaties":[{"locatieId":1,"naam":"n"}],"zzz":1},"metadata":{}}"#
        );
        let parsed: serde_json::Value =
            serde_json::from_str(&super::to_string(&v, "")).unwrap_or_default();
        assert_eq!(parsed, v);
    }
}
