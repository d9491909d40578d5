//! What the contract tests share: a schema's validator and its verdicts, the examples of a
//! folder under `examples/`, and key sets. Each test binary uses part of it.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::path::Path;

use jsonschema::Validator;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

/// Something with a checked-in JSON Schema (a message type, a command or a reply, …).
pub trait Schema: Copy + Debug {
    /// The schema as checked in.
    fn schema_text(self) -> &'static str;

    fn schema_value(self) -> Value {
        serde_json::from_str(self.schema_text())
            .unwrap_or_else(|e| panic!("{self:?}: schema is not JSON: {e}"))
    }
}

/// A draft 2020-12 validator for `kind`'s schema, with `format` checked (in 2020-12 `format`
/// is only an annotation unless asked for).
pub fn validator<K: Schema>(kind: K) -> Validator {
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&kind.schema_value())
        .unwrap_or_else(|e| panic!("{kind:?}: schema does not compile: {e}"))
}

pub fn errors<K: Schema>(kind: K, instance: &Value) -> Vec<String> {
    validator(kind)
        .iter_errors(instance)
        .map(|e| format!("{e} (at {})", e.instance_path()))
        .collect()
}

pub fn assert_valid<K: Schema>(kind: K, instance: &Value, what: &str) {
    let errs = errors(kind, instance);
    assert!(
        errs.is_empty(),
        "{what} should validate as {kind:?}:\n{}",
        errs.join("\n")
    );
}

pub fn assert_invalid<K: Schema>(kind: K, instance: &Value, what: &str) {
    assert!(
        !errors(kind, instance).is_empty(),
        "{what} should NOT validate as {kind:?}: {instance}"
    );
}

/// `base` changed by `mutate` must differ from `base` and no longer validate as `kind`.
pub fn assert_mutation_invalid<K: Schema>(
    kind: K,
    base: &Value,
    what: &str,
    mutate: impl FnOnce(&mut Value),
) {
    let mut changed = base.clone();
    mutate(&mut changed);
    assert_ne!(&changed, base, "{what}: the mutation changed nothing");
    assert_invalid(kind, &changed, what);
}

/// `kind`'s schema is a valid draft 2020-12 document with an `$id`, a `title` and a
/// `description`; the schema itself is returned for further checks.
pub fn assert_schema_document<K: Schema>(kind: K) -> Value {
    let schema = kind.schema_value();
    if let Err(e) = jsonschema::draft202012::meta::validate(&schema) {
        panic!("{kind:?}: not a valid draft 2020-12 schema: {e}");
    }
    for key in ["$id", "title", "description"] {
        assert!(schema[key].is_string(), "{kind:?}: {key} missing");
    }
    schema
}

/// Every property of `kind`'s schema, at the top and in every `$defs` entry, is described.
pub fn assert_properties_described<K: Schema>(kind: K, schema: &Value) {
    let mut objects = vec![("(top)".to_owned(), schema)];
    for (name, def) in schema["$defs"].as_object().expect("$defs") {
        objects.push((name.clone(), def));
    }
    for (name, object) in objects {
        if let Some(props) = object.get("properties").and_then(Value::as_object) {
            for (prop, sub) in props {
                assert!(
                    sub.get("description").and_then(Value::as_str).is_some(),
                    "{kind:?}: {name}.{prop} has no description"
                );
            }
        }
    }
}

/// `def`'s properties must be exactly the keys of `instance` (what serde emits), its
/// `required` (absent: none) exactly those minus `optional`, and it must be closed.
pub fn assert_def_matches(def: &Value, def_name: &str, instance: &Value, optional: &[&str]) {
    let emitted = keys(instance);
    assert_eq!(
        keys(&def["properties"]),
        emitted,
        "{def_name}: schema properties vs keys serde emits"
    );
    let required = def.get("required").map(strings).unwrap_or_default();
    let expected: BTreeSet<String> = emitted.difference(&set(optional)).cloned().collect();
    assert_eq!(
        required, expected,
        "{def_name}: required vs always-emitted keys"
    );
    assert_eq!(
        def["additionalProperties"],
        json!(false),
        "{def_name}: must be closed"
    );
}

/// Every `*.json` under `examples/<folder>/`, with its kind as `kind_of` tells from its file
/// name (a panic with `unnamed` when it tells none), sorted by name.
pub fn examples<K>(
    folder: &str,
    kind_of: impl Fn(&str) -> Option<K>,
    unnamed: &str,
) -> Vec<(String, K, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(folder);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("examples/{folder}: {e}")) {
        let path = entry.expect("dir entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 file name")
            .to_owned();
        if !name.ends_with(".json") {
            continue;
        }
        let kind = kind_of(&name).unwrap_or_else(|| panic!("{name}: {unnamed}"));
        let text = std::fs::read_to_string(&path).expect("readable");
        let value: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        out.push((name, kind, value));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A kind whose examples are the `*.json` files of one folder under `examples/`, each
/// telling its kind by its file name: `<prefix>.…`.
pub trait Examples: Copy + PartialEq + 'static {
    /// The folder under `examples/`.
    const FOLDER: &'static str;
    /// Why a file name that tells no kind is refused.
    const UNNAMED: &'static str;
    /// Every kind.
    const KINDS: &'static [Self];

    /// What the file name of an example of this kind starts with, before a `.`.
    fn prefix(self) -> &'static str;

    /// The kind of the example called `file_name`.
    fn of_example(file_name: &str) -> Option<Self> {
        Self::KINDS
            .iter()
            .copied()
            .find(|kind| file_name.starts_with(&format!("{}.", kind.prefix())))
    }

    /// Every kind but this one.
    fn others(self) -> impl Iterator<Item = Self> {
        Self::KINDS
            .iter()
            .copied()
            .filter(move |kind| *kind != self)
    }

    /// Every example of [`Self::FOLDER`], with its kind, sorted by name.
    fn examples() -> Vec<(String, Self, Value)> {
        examples(Self::FOLDER, Self::of_example, Self::UNNAMED)
    }

    /// The example called `name`.
    fn example(name: &str) -> Value {
        find_example(Self::examples(), name)
    }
}

/// Each of `names` is among the examples `all`.
pub fn assert_examples_present<K>(all: &[(String, K, Value)], names: &[&str]) {
    for name in names {
        assert!(
            all.iter().any(|(n, _, _)| n == name),
            "example {name} missing"
        );
    }
}

/// The example called `name` among `all`.
pub fn find_example<K>(all: Vec<(String, K, Value)>, name: &str) -> Value {
    all.into_iter()
        .find(|(n, _, _)| n == name)
        .map(|(_, _, v)| v)
        .unwrap_or_else(|| panic!("example {name} missing"))
}

/// `value` read as a `T` and written back as serde writes it: an example that round-trips
/// unchanged is exactly what the Rust type emits.
pub fn round_trip<T: Serialize + DeserializeOwned>(
    value: &Value,
) -> Result<Value, serde_json::Error> {
    let typed: T = serde_json::from_value(value.clone())?;
    serde_json::to_value(&typed)
}

/// A kind of example with a Rust type to read it as.
pub trait RoundTrip: Examples + Schema {
    /// `value` read as this kind's Rust type and written back ([`round_trip`]).
    fn round_trip(self, value: &Value) -> Result<Value, serde_json::Error>;
}

/// Every example of `K` reads as its Rust type and is written back exactly as it was, and
/// still valid: an example is what the hub emits, nothing dropped, renamed or reformatted.
pub fn assert_examples_round_trip<K: RoundTrip>() {
    for (name, kind, value) in K::examples() {
        let back = kind
            .round_trip(&value)
            .unwrap_or_else(|e| panic!("{name}: not a {kind:?}: {e}"));
        assert_valid(kind, &back, &format!("{name} after a round trip"));
        assert_eq!(back, value, "{name}: the round trip changed it");
    }
}

pub fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

pub fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("string").to_owned())
        .collect()
}
