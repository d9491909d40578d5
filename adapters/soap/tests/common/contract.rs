//! What the SOAP adapters' contract tests share: a partner's contract is an XSD and a folder
//! of examples under `contracts/examples/`, and each adapter's test checks them the same way.
//! Included with `#[path]` by `adapter-kiosk`'s `tests/kiosk.rs` and by `adapter-insurance`'s
//! and `adapter-municipality`'s `tests/soap.rs`; it uses their dev-dependency `partner-sims`
//! (the XSD check), which adapter-soap itself does not have.

#![allow(dead_code)]

use std::path::PathBuf;

use partner_sims::xml_check::{
    assert_example, attribute, is, parse_strict, read, workspace, xml_files, Wsdl, XsdCheck,
    WSDL_NS, XS_NS,
};

/// A partner's SOAP contract: its XSD and its examples.
pub struct Contract {
    pub xsd: XsdCheck,
    /// The folder of examples under `contracts/examples/`.
    pub examples: &'static str,
}

impl Contract {
    pub fn examples_dir(&self) -> PathBuf {
        workspace().join("contracts/examples").join(self.examples)
    }

    /// The example file `name`.
    pub fn example(&self, name: &str) -> String {
        read(&self.examples_dir().join(name))
    }

    /// Every example, (file name, text), sorted by name; each of `required` among them.
    pub fn example_files(&self, required: &[&str]) -> Vec<(String, String)> {
        let files = xml_files(&self.examples_dir());
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        for name in required {
            assert!(names.contains(name), "{name} missing from {names:?}");
        }
        files
    }

    /// Each request example `(file name, what the adapter writes)` is exactly what the adapter
    /// writes; with `regenerate` set in the environment it is rewritten (`command` reruns it).
    pub fn assert_request_examples<'a>(
        &self,
        examples: impl IntoIterator<Item = (&'a str, String)>,
        regenerate: &str,
        command: &str,
    ) {
        for (name, written) in examples {
            assert_example(
                &self.examples_dir().join(name),
                &written,
                regenerate,
                command,
            );
        }
    }

    /// `broken`, an edit of the valid envelope `good`, differs from it and does not validate.
    pub fn assert_edit_invalid(&self, good: &str, broken: &str, what: &str) {
        assert_ne!(broken, good, "{what}: the edit applies");
        self.xsd.assert_invalid(broken, what);
    }

    /// None of the `edits` of `good` validates: (from, to, what), the first `from` replaced
    /// by `to`.
    pub fn assert_edits_invalid(&self, good: &str, edits: &[(&str, &str, &str)]) {
        for (from, to, what) in edits {
            self.assert_edit_invalid(good, &good.replacen(from, to, 1), what);
        }
    }

    /// The XSD is well-formed and declares what the adapter assumes: `namespace` as its
    /// target, unqualified children, `version`, and exactly the `top_level` elements. The
    /// caller holds the libxml2 lock.
    pub fn assert_xsd_declares(&self, namespace: &str, version: &str, top_level: &[&str]) {
        let xsd = parse_strict(&read(&self.xsd.path())).expect("the XSD is well-formed");
        let schema = xsd.get_root_element().expect("root");
        assert_eq!(attribute(&schema, "targetNamespace"), namespace);
        assert_eq!(attribute(&schema, "elementFormDefault"), "unqualified");
        assert_eq!(attribute(&schema, "version"), version);
        let declared: Vec<String> = schema
            .get_child_elements()
            .iter()
            .filter(|n| is(n, XS_NS, "element"))
            .map(|n| attribute(n, "name"))
            .collect();
        assert_eq!(declared, top_level);
    }
}

/// The `element` of every `wsdl:part` of `wsdl`, in order.
pub fn wsdl_part_elements(wsdl: &Wsdl) -> Vec<String> {
    wsdl.find(WSDL_NS, "part")
        .iter()
        .map(|p| attribute(p, "element"))
        .collect()
}
