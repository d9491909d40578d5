//! Seed data, synthetic associations and validation of the register's detail shape.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};
use time::macros::format_description;

use crate::ordered::{ADRES_FIELDS, LIST_MEMBERS};

/// The register's fixed list of `hoofdactiviteitenVerenigingsloket` (code, naam), as in
/// `Informatievlaanderen/association-registry` (`HoofdactiviteitVerenigingsloket`).
pub const HOOFDACTIVITEITEN: [(&str, &str); 21] = [
    ("BIAG", "Burgerinitiatief & Actiegroep"),
    ("BWWC", "Buurtwerking & Wijkcomité"),
    ("DINT", "Diversiteit & Integratie"),
    ("GEWE", "Gezondheid & Welzijn"),
    ("HOSP", "Hobby & Spel"),
    ("INOS", "Internationaal & Ontwikkelingssamenwerking"),
    ("JGDW", "Jeugdwerk"),
    ("KLDU", "Klimaat & Duurzaamheid"),
    ("KECU", "Kunsten, Erfgoed & Cultuur"),
    ("LAVI", "Landbouw & Visserij"),
    ("LEBE", "Levensbeschouwelijk"),
    ("MADP", "Maatschappelijke dienstverlening & Politiek"),
    ("MEDG", "Mediawijsheid & Digitale geletterdheid"),
    ("MROW", "Mobiliteit, Ruimtelijke ordening & Wonen"),
    ("NMDW", "Natuur, Milieu & Dierenwelzijn"),
    ("VORM", "Onderwijs & Vorming"),
    ("SOVO", "Sociaal-cultureel volwassenenwerk"),
    ("SPRT", "Sport"),
    ("ONWE", "Technologie & Wetenschap"),
    ("TOER", "Toerisme"),
    ("WESE", "Werk & Sociale economie"),
];

const TYPES: [(&str, &str); 5] = [
    ("FV", "Feitelijke vereniging"),
    ("VZER", "Vereniging zonder eigen rechtspersoonlijkheid"),
    ("VZW", "Vereniging zonder winstoogmerk"),
    ("IVZW", "Internationale vereniging zonder winstoogmerk"),
    ("PS", "Private stichting"),
];
const KBO_TYPES: [&str; 5] = ["VZW", "IVZW", "PS", "SVON", "KBV"];
pub(crate) const CONTACT_TYPES: [&str; 4] = ["E-mail", "Telefoon", "Website", "SocialMedia"];
pub(crate) const LOCATIE_TYPES: [&str; 3] = [
    "Correspondentie",
    "Activiteiten",
    "Maatschappelijke zetel volgens KBO",
];

/// A code-list concept as the register writes it: a `skos:Concept` of `scheme`.
pub(crate) fn concept(scheme: &str, code: &str, naam: &str) -> Value {
    json!({
        "@id": format!("https://data.vlaanderen.be/id/concept/{scheme}/{code}"),
        "@type": "skos:Concept",
        "code": code,
        "naam": naam,
    })
}

const SEED_JSON: &str = include_str!("../seed/verenigingen.json");

/// The checked-in seed (`seed/verenigingen.json`): `vereniging` objects V0001001 upward.
#[allow(clippy::expect_used)]
pub fn seed() -> Vec<Value> {
    serde_json::from_str(SEED_JSON).expect("seed/verenigingen.json is a JSON array")
}

/// `V` + 7 digits (the `V` case-insensitive) → the canonical upper-case vCode.
pub fn normalize_vcode(s: &str) -> Option<String> {
    let rest = s.strip_prefix('V').or_else(|| s.strip_prefix('v'))?;
    (rest.len() == 7 && rest.bytes().all(|b| b.is_ascii_digit())).then(|| format!("V{rest}"))
}

/// The number and the two check digits of `s` when it has `len` digits after stripping `.`,
/// `-` and spaces.
fn number_and_check(s: &str, len: usize) -> Option<(u64, u64)> {
    let d: String = s
        .chars()
        .filter(|c| !matches!(c, '.' | '-' | ' '))
        .collect();
    if d.len() != len || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (number, check) = d.split_at(len - 2);
    Some((number.parse().ok()?, check.parse().ok()?))
}

/// INSZ: 11 digits (after stripping `.`, `-`, spaces); `97 - (first9 % 97) == last2`, or the
/// same with `2` prefixed to the first 9 digits (births from 2000).
pub fn insz_is_valid(s: &str) -> bool {
    number_and_check(s, 11).is_some_and(|(first9, check)| {
        97 - first9 % 97 == check || 97 - (2_000_000_000 + first9) % 97 == check
    })
}

/// KBO number: 10 digits (after stripping `.`, `-`, spaces); `97 - (first8 % 97) == last2`.
pub fn kbo_is_valid(s: &str) -> bool {
    number_and_check(s, 10).is_some_and(|(first8, check)| 97 - first8 % 97 == check)
}

pub(crate) fn is_date(s: &str) -> bool {
    s.len() == 10 && time::Date::parse(s, format_description!("[year]-[month]-[day]")).is_ok()
}

/// Checks a `vereniging` object against the register's detail shape and conventions
/// (strings never null, collections never null, dates `yyyy-MM-dd`, valid INSZ and KBO,
/// at most one primary contact per type, at most one `Correspondentie` location, …).
/// Answers every problem found.
pub fn validate_vereniging(v: &Value) -> Result<(), Vec<String>> {
    let mut errs = Vec::new();
    let Some(o) = v.as_object() else {
        return Err(vec!["vereniging is not an object".into()]);
    };
    let vcode = o.get("vCode").and_then(Value::as_str).unwrap_or_default();
    let mut err = |m: String| errs.push(format!("{vcode}: {m}"));
    if normalize_vcode(vcode).as_deref() != Some(vcode) {
        err("vCode is not V + 7 digits".into());
    }
    no_nulls(v, "vereniging", &mut err);
    for k in [
        "naam",
        "roepnaam",
        "korteNaam",
        "korteBeschrijving",
        "status",
        "@id",
        "@type",
    ] {
        if !o.get(k).is_some_and(Value::is_string) {
            err(format!("{k} is not a string"));
        }
    }
    if o.get("naam")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        err("naam is empty".into());
    }
    for &k in LIST_MEMBERS {
        if !o.get(k).is_some_and(Value::is_array) {
            err(format!("{k} is not an array"));
        }
    }
    for k in ["startdatum", "einddatum"] {
        match o.get(k) {
            Some(Value::Null) => {}
            Some(Value::String(s)) if is_date(s) => {}
            _ => err(format!("{k} is neither null nor yyyy-MM-dd")),
        }
    }
    let typ = o
        .get("verenigingstype")
        .and_then(|t| t.get("code"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !TYPES.iter().any(|(c, _)| *c == typ) && !KBO_TYPES.contains(&typ) {
        err(format!("verenigingstype.code `{typ}` unknown"));
    }
    let is_kbo = KBO_TYPES.contains(&typ);
    let roepnaam = o
        .get("roepnaam")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !is_kbo && !roepnaam.is_empty() {
        err("roepnaam is set on a non-KBO type".into());
    }
    let status = o.get("status").and_then(Value::as_str).unwrap_or_default();
    if !["Actief", "Gestopt", "Dubbel"].contains(&status) {
        err(format!("status `{status}` unknown"));
    }
    if status == "Gestopt" && !o.get("einddatum").is_some_and(Value::is_string) {
        err("Gestopt without einddatum".into());
    }
    match o.get("doelgroep") {
        Some(d) => {
            let min = d.get("minimumleeftijd").and_then(Value::as_u64);
            let max = d.get("maximumleeftijd").and_then(Value::as_u64);
            if !matches!((min, max), (Some(a), Some(b)) if a <= b && b <= 150) {
                err("doelgroep leeftijden invalid".into());
            }
        }
        None => err("doelgroep missing".into()),
    }
    let arr = |k: &str| {
        o.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let contacts = arr("contactgegevens");
    for t in CONTACT_TYPES {
        let prim = contacts
            .iter()
            .filter(|c| c["contactgegeventype"] == t && c["isPrimair"] == true)
            .count();
        if prim > 1 {
            err(format!("{prim} primary contacts of type {t}"));
        }
    }
    for c in &contacts {
        let t = c["contactgegeventype"].as_str().unwrap_or_default();
        if !CONTACT_TYPES.contains(&t) {
            err(format!("contactgegeventype `{t}` unknown"));
        }
        if c["waarde"].as_str().is_none_or(str::is_empty) || !c["isPrimair"].is_boolean() {
            err("contactgegeven without waarde or isPrimair".into());
        }
    }
    let locaties = arr("locaties");
    let mut correspondentie = 0;
    for l in &locaties {
        let t = l["locatietype"].as_str().unwrap_or_default();
        if !LOCATIE_TYPES.contains(&t) {
            err(format!("locatietype `{t}` unknown"));
        }
        if t == "Correspondentie" {
            correspondentie += 1;
        }
        if t == "Maatschappelijke zetel volgens KBO" && !is_kbo {
            err("KBO seat on a non-KBO type".into());
        }
        let a = &l["adres"];
        for k in ADRES_FIELDS {
            if !a[k].is_string() {
                err(format!("locatie adres.{k} is not a string"));
            }
        }
        if !l["adresvoorstelling"].is_string() || !l["naam"].is_string() {
            err("locatie naam/adresvoorstelling not strings".into());
        }
    }
    if correspondentie > 1 {
        err("more than one Correspondentie location".into());
    }
    if locaties.iter().filter(|l| l["isPrimair"] == true).count() > 1 {
        err("more than one primary location".into());
    }
    let reps = arr("vertegenwoordigers");
    for r in &reps {
        let insz = r["insz"].as_str().unwrap_or_default();
        if insz.len() != 11 || !insz_is_valid(insz) {
            err(format!("invalid insz `{insz}`"));
        }
        for k in [
            "voornaam",
            "achternaam",
            "roepnaam",
            "rol",
            "e-mail",
            "telefoon",
            "mobiel",
            "socialMedia",
        ] {
            if !r[k].is_string() {
                err(format!("vertegenwoordiger {k} is not a string"));
            }
        }
    }
    if reps.iter().filter(|r| r["isPrimair"] == true).count() > 1 {
        err("more than one primary vertegenwoordiger".into());
    }
    for h in arr("hoofdactiviteitenVerenigingsloket") {
        let code = h["code"].as_str().unwrap_or_default();
        if !HOOFDACTIVITEITEN
            .iter()
            .any(|(c, n)| *c == code && h["naam"] == *n)
        {
            err(format!("hoofdactiviteit `{code}` not in the fixed list"));
        }
    }
    for w in arr("werkingsgebieden") {
        if !w["code"].is_string() || !w["naam"].is_string() {
            err("werkingsgebied without code/naam".into());
        }
    }
    let sleutels = arr("sleutels");
    let vr = sleutels
        .iter()
        .any(|s| s["bron"] == "VR" && s["waarde"] == vcode);
    if !vr {
        err("no VR sleutel with the vCode".into());
    }
    for s in &sleutels {
        if s["bron"] == "KBO" && !s["waarde"].as_str().is_some_and(kbo_is_valid) {
            err(format!("invalid KBO number {}", s["waarde"]));
        }
        if s["gestructureerdeIdentificator"]["nummer"] != s["waarde"] {
            err("gestructureerdeIdentificator.nummer differs from waarde".into());
        }
    }
    if is_kbo && !sleutels.iter().any(|s| s["bron"] == "KBO") {
        err("KBO type without KBO sleutel".into());
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs)
    }
}

/// Nulls are allowed only for `startdatum`, `einddatum` and the object `adresId`.
fn no_nulls(v: &Value, path: &str, err: &mut impl FnMut(String)) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if x.is_null() && !matches!(k.as_str(), "startdatum" | "einddatum" | "adresId") {
                    err(format!("{path}.{k} is null"));
                }
                no_nulls(x, &format!("{path}.{k}"), err);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                if x.is_null() {
                    err(format!("{path}[{i}] is null"));
                }
                no_nulls(x, &format!("{path}[{i}]"), err);
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// Synthetic associations

struct Place {
    postcode: &'static str,
    gemeente: &'static str,
    gebied: (&'static str, &'static str),
    streets: &'static [&'static str],
}

/// Werkingsgebieden the simulator knows besides the places' own (code, naam).
const OTHER_WERKINGSGEBIEDEN: &[(&str, &str)] = &[
    ("NVT", "Niet van toepassing"),
    ("BE23242006", "Dendermonde"),
    ("BE23646014", "Lokeren"),
    ("BE21", "Provincie Antwerpen"),
    ("BE22", "Provincie Limburg"),
    ("BE23", "Provincie Oost-Vlaanderen"),
    ("BE24", "Provincie Vlaams-Brabant"),
    ("BE25", "Provincie West-Vlaanderen"),
    ("BE10", "Brussels Hoofdstedelijk Gewest"),
];

/// The name of a werkingsgebied code the simulator knows (`NVT`, the provinces and the
/// municipalities of the seed and the synthetic places).
pub(crate) fn werkingsgebied_naam(code: &str) -> Option<&'static str> {
    OTHER_WERKINGSGEBIEDEN
        .iter()
        .copied()
        .chain(PLACES.iter().map(|p| p.gebied))
        .find(|(c, _)| *c == code)
        .map(|(_, n)| n)
}

const AALST: (&str, &str) = ("BE23141002", "Aalst");
const EVERGEM: (&str, &str) = ("BE23444019", "Evergem");
const BEVEREN: (&str, &str) = ("BE23646003", "Beveren");

const PLACES: &[Place] = &[
    Place {
        postcode: "9300",
        gemeente: "Aalst",
        gebied: AALST,
        streets: &[
            "Kerkstraat",
            "Molenstraat",
            "Gentsesteenweg",
            "Dendermondsesteenweg",
            "Leopoldlaan",
            "Pontstraat",
            "Houtmarkt",
            "Vrijheidstraat",
        ],
    },
    Place {
        postcode: "9308",
        gemeente: "Aalst",
        gebied: AALST,
        streets: &[
            "Hoogstraat",
            "Gijzegemstraat",
            "Hofstade-Dorp",
            "Steenweg op Dendermonde",
        ],
    },
    Place {
        postcode: "9310",
        gemeente: "Aalst",
        gebied: AALST,
        streets: &["Bosstraat", "Dorp", "Baardegemstraat", "Moorselbaan"],
    },
    Place {
        postcode: "9320",
        gemeente: "Aalst",
        gebied: AALST,
        streets: &[
            "Brusselbaan",
            "Erembodegem-Dorp",
            "Kapellekensstraat",
            "Nieuwerkerkenstraat",
        ],
    },
    Place {
        postcode: "9940",
        gemeente: "Evergem",
        gebied: EVERGEM,
        streets: &[
            "Stationsstraat",
            "Kerkstraat",
            "Hogeweg",
            "Weststraat",
            "Kapellestraat",
            "Sleidinge-Dorp",
            "Kluizendorp",
            "Rechtstraat",
        ],
    },
    Place {
        postcode: "9940",
        gemeente: "Evergem",
        gebied: EVERGEM,
        streets: &[
            "Langerbruggestraat",
            "Molenstraat",
            "Wippelgem-Dorp",
            "Meersstraat",
        ],
    },
    Place {
        postcode: "9120",
        gemeente: "Beveren",
        gebied: BEVEREN,
        streets: &[
            "Grote Markt",
            "Gravenplein",
            "Kasteeldreef",
            "Vrasenestraat",
            "Stationsstraat",
            "Kapelstraat",
            "Dorpstraat",
        ],
    },
    Place {
        postcode: "9130",
        gemeente: "Kallo",
        gebied: BEVEREN,
        streets: &["Oud Arenberg", "Kallosesteenweg", "Sint-Jansdreef"],
    },
    Place {
        postcode: "9130",
        gemeente: "Doel",
        gebied: BEVEREN,
        streets: &["Engelsesteenweg", "Scheldemolenstraat"],
    },
    Place {
        postcode: "9150",
        gemeente: "Kruibeke",
        gebied: ("BE23646013", "Kruibeke"),
        streets: &["Hogenakkerhoekstraat", "Kasteeldreef", "Beekdorp"],
    },
    Place {
        postcode: "2070",
        gemeente: "Zwijndrecht",
        gebied: ("BE21111056", "Zwijndrecht"),
        streets: &["Statiestraat", "Binnenvaart", "Pastorijstraat"],
    },
    Place {
        postcode: "9000",
        gemeente: "Gent",
        gebied: ("BE23444021", "Gent"),
        streets: &[
            "Korenmarkt",
            "Sint-Pietersnieuwstraat",
            "Coupure Links",
            "Kortrijksesteenweg",
            "Dampoortstraat",
            "Antwerpsesteenweg",
        ],
    },
    Place {
        postcode: "2000",
        gemeente: "Antwerpen",
        gebied: ("BE21111002", "Antwerpen"),
        streets: &[
            "Meir",
            "Groenplaats",
            "Oude Koornmarkt",
            "Lange Nieuwstraat",
            "Kloosterstraat",
        ],
    },
    Place {
        postcode: "3000",
        gemeente: "Leuven",
        gebied: ("BE24224062", "Leuven"),
        streets: &[
            "Naamsestraat",
            "Bondgenotenlaan",
            "Tiensestraat",
            "Brusselsestraat",
        ],
    },
    Place {
        postcode: "8000",
        gemeente: "Brugge",
        gebied: ("BE25131005", "Brugge"),
        streets: &["Markt", "Steenstraat", "Langestraat", "Balstraat"],
    },
    Place {
        postcode: "3500",
        gemeente: "Hasselt",
        gebied: ("BE22471022", "Hasselt"),
        streets: &[
            "Grote Markt",
            "Demerstraat",
            "Kuringersteenweg",
            "Guffenslaan",
        ],
    },
    Place {
        postcode: "1000",
        gemeente: "Brussel",
        gebied: ("BE10021004", "Brussel"),
        streets: &["Anspachlaan", "Lakensestraat", "Vlaamsesteenweg"],
    },
    Place {
        postcode: "2800",
        gemeente: "Mechelen",
        gebied: ("BE21212025", "Mechelen"),
        streets: &["Bruul", "IJzerenleen", "Koningin Astridlaan"],
    },
    Place {
        postcode: "8500",
        gemeente: "Kortrijk",
        gebied: ("BE25434022", "Kortrijk"),
        streets: &["Doorniksestraat", "Lange Steenstraat"],
    },
    Place {
        postcode: "9100",
        gemeente: "Sint-Niklaas",
        gebied: ("BE23646021", "Sint-Niklaas"),
        streets: &["Grote Markt", "Stationsstraat", "Parklaan"],
    },
];

/// (naam prefix, hoofdactiviteiten, doelgroep min, max, uses a patron saint)
const KINDS: &[(&str, &[&str], u64, u64, bool)] = &[
    ("Chiro", &["JGDW"], 6, 18, true),
    ("Scouts en Gidsen", &["JGDW"], 6, 21, true),
    ("KSA", &["JGDW"], 6, 18, true),
    ("Jeugdhuis", &["JGDW", "KECU"], 14, 30, false),
    ("Voetbalclub", &["SPRT"], 5, 99, false),
    ("Volleybalclub", &["SPRT"], 8, 65, false),
    ("Tennisclub", &["SPRT"], 6, 99, false),
    ("Wielerclub", &["SPRT"], 16, 99, false),
    ("Zwemclub", &["SPRT"], 6, 99, false),
    ("Turnkring", &["SPRT", "JGDW"], 3, 70, false),
    ("Fanfare", &["KECU"], 10, 150, true),
    ("Toneelkring", &["KECU", "SOVO"], 12, 150, false),
    ("Gemengd Koor", &["KECU"], 16, 150, false),
    ("Heemkundige Kring", &["KECU"], 0, 150, false),
    ("Natuurpunt", &["NMDW", "KLDU"], 0, 150, false),
    ("Gezinsbond", &["GEWE", "SOVO"], 0, 150, false),
    ("Buurtcomité", &["BWWC"], 0, 150, false),
    ("Schaakclub", &["HOSP"], 8, 150, false),
    ("Repair Café", &["KLDU", "BWWC"], 0, 150, false),
    ("Wandelclub", &["TOER", "NMDW"], 0, 150, false),
    ("Landelijke Gilde", &["LAVI", "SOVO"], 0, 150, false),
    ("Davidsfonds", &["KECU", "SOVO"], 0, 150, false),
    ("Seniorenvereniging", &["SOVO", "GEWE"], 55, 150, false),
    ("Wereldwinkel", &["INOS", "KLDU"], 0, 150, false),
    ("Computerclub", &["MEDG", "ONWE"], 10, 150, false),
];
const PATRONS: &[&str] = &[
    "Sint-Jan",
    "Sint-Pieter",
    "Don Bosco",
    "Sint-Martinus",
    "Onze-Lieve-Vrouw",
    "Sint-Jozef",
    "Sint-Vincentius",
    "Sint-Cecilia",
    "Sint-Amandus",
    "De Zwaluw",
];
const QUALIFIERS: &[&str] = &[
    "",
    "",
    "",
    "Koninklijke ",
    "De Vrolijke ",
    "Vrije ",
    "Nieuwe ",
];
const VOORNAMEN: &[&str] = &[
    "Jan", "Els", "Pieter", "An", "Tom", "Sofie", "Wim", "Lien", "Bart", "Katrien", "Koen",
    "Annelies", "Stijn", "Griet", "Joris", "Marieke", "Dirk", "Hilde", "Lotte", "Arne", "Jelle",
    "Febe", "Ruben", "Nele", "Gert", "Inge", "Lucas", "Emma", "Noor", "Wout", "Yasmina", "Mohamed",
    "Ilse", "Ward",
];
const ACHTERNAMEN: &[&str] = &[
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Van den Broeck",
    "De Vos",
    "Van Damme",
    "Verhoeven",
    "De Backer",
    "Van Acker",
    "Vermeulen",
    "Van de Velde",
    "De Wilde",
    "Coppens",
    "Hermans",
    "Martens",
    "Verstraete",
    "Pauwels",
    "De Clercq",
    "Van Hecke",
    "Bogaert",
    "De Cock",
    "El Amrani",
];
const ROLLEN: &[&str] = &["Voorzitter", "Secretaris", "Penningmeester"];

fn slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'é' | 'è' | 'ë' | 'ê' => 'e',
            'ï' | 'î' => 'i',
            'ö' | 'ô' => 'o',
            'ü' | 'û' => 'u',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

fn new_id(rng: &mut StdRng, prefix: &str) -> String {
    let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
    format!("{prefix}:{id}")
}

fn gen_insz(rng: &mut StdRng) -> String {
    let year: u64 = rng.random_range(1945..=2006);
    let first9 = (year % 100) * 10_000_000
        + rng.random_range(1..=12u64) * 100_000
        + rng.random_range(1..=28u64) * 1_000
        + rng.random_range(1..=997u64);
    let base = if year >= 2000 {
        2_000_000_000 + first9
    } else {
        first9
    };
    format!("{first9:09}{:02}", 97 - base % 97)
}

fn gen_kbo(rng: &mut StdRng) -> String {
    let first8: u64 = [4_000_000u64, 7_000_000, 8_000_000]
        .choose(rng)
        .copied()
        .unwrap_or(4_000_000)
        + rng.random_range(0..1_000_000u64);
    format!("{first8:08}{:02}", 97 - first8 % 97)
}

fn gen_phone(rng: &mut StdRng) -> String {
    let zone = ["53", "9", "3", "16", "50", "11", "2"]
        .choose(rng)
        .copied()
        .unwrap_or("9");
    format!(
        "+32 {zone} {} {} {}",
        rng.random_range(200..900),
        rng.random_range(10..100),
        rng.random_range(10..100)
    )
}

fn gen_mobile(rng: &mut StdRng) -> String {
    format!(
        "+32 4{} {} {} {}",
        rng.random_range(70..100),
        rng.random_range(10..100),
        rng.random_range(10..100),
        rng.random_range(10..100)
    )
}

fn pick<'a, T>(rng: &mut StdRng, xs: &'a [T]) -> &'a T {
    &xs[rng.random_range(0..xs.len())]
}

fn date(y: i64, m: i64, d: i64) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

fn sleutel(rng: &mut StdRng, bron: &str, waarde: &str) -> Value {
    json!({
        "@id": new_id(rng, "identificatoren"),
        "@type": "adms:Identifier",
        "bron": bron,
        "waarde": waarde,
        "codeerSysteem": bron,
        "gestructureerdeIdentificator": {
            "@id": new_id(rng, "ges"),
            "@type": "generiek:GestructureerdeIdentificator",
            "nummer": waarde,
        },
    })
}

fn locatie(
    rng: &mut StdRng,
    id: usize,
    typ: &str,
    naam: &str,
    place: &Place,
    primair: bool,
) -> Value {
    let straat = *pick(rng, place.streets);
    let nr = rng.random_range(1..250).to_string();
    let bus = if rng.random_bool(0.15) {
        rng.random_range(1..20).to_string()
    } else {
        String::new()
    };
    let voorstelling = if bus.is_empty() {
        format!("{straat} {nr}, {} {}", place.postcode, place.gemeente)
    } else {
        format!(
            "{straat} {nr} bus {bus}, {} {}",
            place.postcode, place.gemeente
        )
    };
    let adres_id = if rng.random_bool(0.85) {
        json!({
            "broncode": "AR",
            "bronwaarde": format!("https://data.vlaanderen.be/id/adres/{}", rng.random_range(100_000..10_000_000)),
        })
    } else {
        Value::Null
    };
    json!({
        "@id": new_id(rng, "loc"),
        "@type": "org:Site",
        "locatieId": id,
        "locatietype": typ,
        "isPrimair": primair,
        "naam": naam,
        "adresvoorstelling": voorstelling,
        "adres": {
            "@id": new_id(rng, "adressen"),
            "@type": "locn:Address",
            "straatnaam": straat,
            "huisnummer": nr,
            "busnummer": bus,
            "postcode": place.postcode,
            "gemeente": place.gemeente,
            "land": "België",
        },
        "adresId": adres_id,
    })
}

fn first_vcode_after_seed() -> u64 {
    seed()
        .iter()
        .filter_map(|v| v["vCode"].as_str().and_then(|s| s[1..].parse::<u64>().ok()))
        .max()
        .unwrap_or(1000)
        + 1
}

/// `n` realistic, valid `vereniging` objects with vCodes right after the seed's range, spread
/// over the seed's postcodes (Aalst, Evergem, Beveren, Gent, …). Deterministic per `rng_seed`.
pub fn synthetic(n: usize, rng_seed: u64) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(rng_seed);
    let first = first_vcode_after_seed();
    (0..n as u64)
        .map(|i| synthetic_one(&mut rng, format!("V{:07}", first + i)))
        .collect()
}

fn synthetic_one(rng: &mut StdRng, vcode: String) -> Value {
    let rng = &mut *rng;
    let place = pick(rng, PLACES);
    let &(kind, acts, min, max, patron) = pick(rng, KINDS);
    let typ_roll: f64 = rng.random();
    let (typ, typ_naam) = match typ_roll {
        r if r < 0.45 => TYPES[0],
        r if r < 0.75 => TYPES[1],
        r if r < 0.95 => TYPES[2],
        r if r < 0.98 => TYPES[3],
        _ => TYPES[4],
    };
    let is_kbo = KBO_TYPES.contains(&typ);
    let naam = if patron {
        format!("{kind} {} {}", pick(rng, PATRONS), place.gemeente)
    } else {
        format!("{}{kind} {}", pick(rng, QUALIFIERS), place.gemeente)
    };
    let korte_naam = if rng.random_bool(0.4) {
        naam.split_whitespace()
            .filter_map(|w| w.chars().next())
            .filter(|c| c.is_uppercase())
            .collect::<String>()
    } else {
        String::new()
    };
    let roepnaam = if is_kbo {
        kind.to_owned()
    } else {
        String::new()
    };
    let start_year = rng.random_range(1900..2024);
    let startdatum = if rng.random_bool(0.9) {
        Value::String(date(
            start_year,
            rng.random_range(1..13),
            rng.random_range(1..29),
        ))
    } else {
        Value::Null
    };
    let gestopt = rng.random_bool(0.07);
    let einddatum = if gestopt {
        Value::String(date(
            rng.random_range(start_year.max(2015)..=2025),
            rng.random_range(1..13),
            rng.random_range(1..29),
        ))
    } else {
        Value::Null
    };
    let domain = format!("{}.be", slug(&naam));

    let mut contacts = Vec::new();
    let mut add_contact = |rng: &mut StdRng, t: &str, waarde: String, beschr: &str, prim: bool| {
        let id = contacts.len() + 1;
        contacts.push(json!({
            "@id": new_id(rng, "cont"),
            "@type": "schema:ContactPoint",
            "contactgegevenId": id,
            "contactgegeventype": t,
            "waarde": waarde,
            "beschrijving": beschr,
            "isPrimair": prim,
        }));
    };
    add_contact(rng, "E-mail", format!("info@{domain}"), "Algemeen", true);
    if rng.random_bool(0.3) {
        add_contact(
            rng,
            "E-mail",
            format!("secretariaat@{domain}"),
            "Secretariaat",
            false,
        );
    }
    if rng.random_bool(0.7) {
        let p = gen_phone(rng);
        let prim = rng.random_bool(0.5);
        add_contact(rng, "Telefoon", p, "", prim);
    }
    if rng.random_bool(0.7) {
        add_contact(rng, "Website", format!("https://www.{domain}"), "", true);
    }
    if rng.random_bool(0.4) {
        let fb = format!("https://www.facebook.com/{}", slug(&naam).replace('-', ""));
        add_contact(rng, "SocialMedia", fb, "Facebook", false);
    }

    let mut locaties = Vec::new();
    if is_kbo {
        let id = locaties.len() + 1;
        locaties.push(locatie(rng, id, LOCATIE_TYPES[2], "", place, false));
    }
    let roll: f64 = rng.random();
    if roll >= 0.03 {
        let id = locaties.len() + 1;
        let t = if rng.random_bool(0.6) {
            LOCATIE_TYPES[1]
        } else {
            LOCATIE_TYPES[0]
        };
        let lnaam = if t == LOCATIE_TYPES[1] {
            *pick(
                rng,
                &[
                    "Lokaal",
                    "Clubhuis",
                    "Sporthal",
                    "Zaal",
                    "Ontmoetingscentrum",
                    "",
                ],
            )
        } else {
            ""
        };
        locaties.push(locatie(rng, id, t, lnaam, place, true));
        if roll >= 0.75 {
            let other = pick(rng, PLACES);
            let id = locaties.len() + 1;
            locaties.push(locatie(
                rng,
                id,
                LOCATIE_TYPES[1],
                "Tweede werking",
                other,
                false,
            ));
        }
    }

    let mut gebieden: Vec<Value> = Vec::new();
    for l in &locaties {
        let pc = l["adres"]["postcode"].as_str().unwrap_or_default();
        let gem = l["adres"]["gemeente"].as_str().unwrap_or_default();
        if let Some(p) = PLACES
            .iter()
            .find(|p| p.postcode == pc && p.gemeente == gem)
        {
            if !gebieden.iter().any(|g| g["code"] == p.gebied.0) {
                gebieden.push(concept("Werkingsgebied", p.gebied.0, p.gebied.1));
            }
        }
    }
    if gebieden.is_empty() {
        gebieden.push(concept("Werkingsgebied", "NVT", "Niet van toepassing"));
    }

    let n_reps = rng.random_range(1..=3);
    let reps: Vec<Value> = (1..=n_reps)
        .map(|i| {
            let vn = *pick(rng, VOORNAMEN);
            let an = *pick(rng, ACHTERNAMEN);
            let mail_domain = *pick(
                rng,
                &["telenet.be", "gmail.com", "proximus.be", domain.as_str()],
            );
            let telefoon = if rng.random_bool(0.3) {
                gen_phone(rng)
            } else {
                String::new()
            };
            let mobiel = if rng.random_bool(0.8) {
                gen_mobile(rng)
            } else {
                String::new()
            };
            json!({
                "@id": new_id(rng, "person"),
                "@type": "person:Person",
                "vertegenwoordigerId": i,
                "insz": gen_insz(rng),
                "voornaam": vn,
                "achternaam": an,
                "roepnaam": "",
                "rol": ROLLEN.get(i - 1).copied().unwrap_or(""),
                "isPrimair": i == 1,
                "e-mail": format!("{}.{}@{mail_domain}", slug(vn), slug(an).replace('-', "")),
                "telefoon": telefoon,
                "mobiel": mobiel,
                "socialMedia": "",
            })
        })
        .collect();

    let activiteiten: Vec<Value> = acts
        .iter()
        .filter_map(|c| HOOFDACTIVITEITEN.iter().find(|(code, _)| code == c))
        .map(|(code, naam)| concept("HoofdactiviteitVerenigingsloket", code, naam))
        .collect();

    let mut sleutels = vec![sleutel(rng, "VR", &vcode)];
    if is_kbo {
        let kbo = gen_kbo(rng);
        sleutels.push(sleutel(rng, "KBO", &kbo));
    }

    let mut v = Map::new();
    v.insert(
        "@id".into(),
        json!(format!("https://data.vlaanderen.be/id/vereniging/{vcode}")),
    );
    v.insert(
        "@type".into(),
        json!(if is_kbo {
            "regorg:RegisteredOrganization"
        } else {
            "fei:FeitelijkeVerenigingen"
        }),
    );
    v.insert("vCode".into(), json!(vcode));
    v.insert(
        "verenigingstype".into(),
        json!({"code": typ, "naam": typ_naam}),
    );
    v.insert("naam".into(), json!(naam));
    v.insert("roepnaam".into(), json!(roepnaam));
    v.insert("korteNaam".into(), json!(korte_naam));
    v.insert(
        "korteBeschrijving".into(),
        json!(format!("{kind} in {} en omstreken.", place.gemeente)),
    );
    v.insert("startdatum".into(), startdatum);
    v.insert("einddatum".into(), einddatum);
    v.insert(
        "status".into(),
        json!(if gestopt { "Gestopt" } else { "Actief" }),
    );
    v.insert(
        "doelgroep".into(),
        json!({
            "@id": new_id(rng, "doel"),
            "@type": "verenigingen_ext:Doelgroep",
            "minimumleeftijd": min,
            "maximumleeftijd": max,
        }),
    );
    v.insert("contactgegevens".into(), Value::Array(contacts));
    v.insert("locaties".into(), Value::Array(locaties));
    v.insert("vertegenwoordigers".into(), Value::Array(reps));
    v.insert(
        "hoofdactiviteitenVerenigingsloket".into(),
        Value::Array(activiteiten),
    );
    v.insert("werkingsgebieden".into(), Value::Array(gebieden));
    v.insert("sleutels".into(), Value::Array(sleutels));
    v.insert("relaties".into(), json!([]));
    v.insert("lidmaatschappen".into(), json!([]));
    v.insert("erkenningen".into(), json!([]));
    Value::Object(v)
}

/// Synthetic Flemish postcodes for scale runs: every multiple of ten in the ranges Flanders'
/// postcodes occupy (1500–1999 Vlaams-Brabant, 2000–2999 Antwerpen, 3000–3999 Vlaams-Brabant
/// and Limburg, 8000–8999 West-Vlaanderen, 9000–9999 Oost-Vlaanderen): 450 codes, close to
/// the real count and shape, none of them checked against bpost's list.
pub fn flemish_postcodes() -> Vec<String> {
    [
        (1500, 1999),
        (2000, 2999),
        (3000, 3999),
        (8000, 8999),
        (9000, 9999),
    ]
    .into_iter()
    .flat_map(|(from, to)| (from..=to).step_by(10))
    .map(|p| p.to_string())
    .collect()
}

/// `n` synthetic associations (as [`synthetic`]) whose locations all lie in one postcode
/// drawn from `postcodes`, without werkingsgebieden: every association belongs to exactly
/// the municipalities whose territory lists its postcode. Deterministic per `rng_seed`.
pub fn synthetic_over(n: usize, rng_seed: u64, postcodes: &[String]) -> Vec<Value> {
    let mut rng = StdRng::seed_from_u64(rng_seed ^ 0x5ca1e);
    let mut associations = synthetic(n, rng_seed);
    if postcodes.is_empty() {
        return associations;
    }
    for v in &mut associations {
        let postcode = pick(&mut rng, postcodes).clone();
        let gemeente = format!("Gemeente {postcode}");
        if let Some(locaties) = v["locaties"].as_array_mut() {
            for l in locaties {
                l["adres"]["postcode"] = json!(postcode);
                l["adres"]["gemeente"] = json!(gemeente);
                l["adresvoorstelling"] = json!(format!("{postcode} {gemeente}"));
            }
        }
        v["werkingsgebieden"] = json!([]);
    }
    associations
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcode_normalisation() {
        for (given, normalized) in [
            ("v0001001", Some("V0001001")),
            ("V0001001", Some("V0001001")),
            ("", None),
            ("V", None),
            ("V000100", None),
            ("V00010011", None),
            ("X0001001", None),
            ("V00O1001", None),
            ("V０001001", None),
        ] {
            assert_eq!(normalize_vcode(given).as_deref(), normalized, "{given}");
        }
    }

    #[test]
    fn mod97_checks() {
        // born 1990-10-20, serial 097: 97 - (901020097 % 97)
        let first9 = 901_020_097u64;
        let good = format!("{first9:09}{:02}", 97 - first9 % 97);
        assert!(insz_is_valid(&good));
        // yy.mm.dd-sss.cc: the separators inserted from the right
        let mut formatted = good.clone();
        for (at, separator) in [(9, '.'), (6, '-'), (4, '.'), (2, '.')] {
            formatted.insert(at, separator);
        }
        assert!(insz_is_valid(&formatted));
        // born in 2005: the check uses 2 prefixed
        let first9 = 50_101_123u64;
        let good = format!("{first9:09}{:02}", 97 - (2_000_000_000 + first9) % 97);
        assert!(insz_is_valid(&good));
        assert!(!insz_is_valid("12345678901"));
        assert!(!insz_is_valid("1234567890"));
        assert!(kbo_is_valid("0417.497.106")); // 97 - (4174971 % 97) == 6
        assert!(!kbo_is_valid("0417497107"));
    }
}
