//! XSD checks for tests, with libxml2: the adapters' contract tests validate the envelopes
//! they write against the contracts' XSDs with these (through a dev-dependency on this
//! crate, so that libxml2 stays out of every non-test build of the hub).
//!
//! ```no_run
//! use partner_sims::xml_check::XsdCheck;
//! const XSD: XsdCheck = XsdCheck::in_workspace("contracts/xsd/kiosk-v1.xsd");
//! # let envelope = "";
//! XSD.assert_valid(envelope, "a DienAanvraagIn");
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use libxml::parser::{Parser, ParserOptions};
use libxml::schemas::{SchemaParserContext, SchemaValidationContext};
use libxml::tree::{Document, Node};

use crate::xsd::SOAP11_NS;

/// libxml2's global state is set up lazily; keep its use to one test at a time.
static LIBXML: Mutex<()> = Mutex::new(());

/// Holds libxml2 for the caller (for the tests that parse with it themselves).
pub fn libxml_lock() -> MutexGuard<'static, ()> {
    LIBXML
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The workspace's root directory.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file's text.
///
/// # Panics
/// If it cannot be read (a test's fixture is missing).
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses without recovery (the crate's default recovers from errors) and without network.
pub fn parse_strict(xml: &str) -> Result<Document, String> {
    let options = ParserOptions {
        recover: false,
        no_net: true,
        ..ParserOptions::default()
    };
    Parser::default()
        .parse_string_with_options(xml, options)
        .map_err(|_| "not well-formed XML".to_owned())
}

/// The element is `{namespace}name`.
pub fn is(node: &Node, namespace: &str, name: &str) -> bool {
    node.get_name() == name
        && node
            .get_namespace()
            .is_some_and(|ns| ns.get_href() == namespace)
}

/// Every element below `node`, in document order.
pub fn descendants(node: &Node) -> Vec<Node> {
    let mut out = Vec::new();
    for child in node.get_child_elements() {
        out.push(child.clone());
        out.extend(descendants(&child));
    }
    out
}

/// The first element child of the SOAP 1.1 Body, serialised on its own; for a `soapenv:Fault`,
/// when `fault_detail` names one (`(namespace, local name)`), that element inside the fault.
pub fn body_element(envelope: &str, fault_detail: Option<(&str, &str)>) -> Result<String, String> {
    let doc = parse_strict(envelope)?;
    let root = doc.get_root_element().ok_or("no root element")?;
    if !is(&root, SOAP11_NS, "Envelope") {
        return Err(format!(
            "root is {}, not a SOAP 1.1 Envelope",
            root.get_name()
        ));
    }
    let body = root
        .get_child_elements()
        .into_iter()
        .find(|c| is(c, SOAP11_NS, "Body"))
        .ok_or("no soapenv:Body")?;
    let first = body.get_first_element_child().ok_or("empty Body")?;
    match fault_detail {
        Some((namespace, name)) if is(&first, SOAP11_NS, "Fault") => {
            let detail = descendants(&first)
                .into_iter()
                .find(|n| is(n, namespace, name))
                .ok_or_else(|| format!("a fault without {name}"))?;
            Ok(doc.node_to_string(&detail))
        }
        _ => Ok(doc.node_to_string(&first)),
    }
}

/// The XSD's complaints about an element (empty: valid).
///
/// # Panics
/// If the XSD does not compile.
pub fn schema_errors(xsd: &Path, element: &str) -> Vec<String> {
    let _guard = libxml_lock();
    let doc = match parse_strict(element) {
        Ok(doc) => doc,
        Err(e) => return vec![format!("the element re-parsed: {e}")],
    };
    let mut parser = SchemaParserContext::from_file(&xsd.to_string_lossy());
    let mut validator = match SchemaValidationContext::from_parser(&mut parser) {
        Ok(v) => v,
        Err(errors) => panic!(
            "the XSD does not compile: {:?}",
            errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>()
        ),
    };
    match validator.validate_document(&doc) {
        Ok(()) => vec![],
        Err(errors) => errors
            .into_iter()
            .map(|e| e.message.unwrap_or_default().trim().to_owned())
            .collect(),
    }
}

/// A contract's XSD, to check the SOAP envelopes written for it.
#[derive(Debug, Clone, Copy)]
pub struct XsdCheck {
    xsd: &'static str,
    fault_detail: Option<(&'static str, &'static str)>,
}

impl XsdCheck {
    /// The XSD at this path below the workspace's root.
    pub const fn in_workspace(xsd: &'static str) -> Self {
        Self {
            xsd,
            fault_detail: None,
        }
    }

    /// For a fault, check this element (`namespace`, local name) inside it instead.
    pub const fn with_fault_detail(self, namespace: &'static str, name: &'static str) -> Self {
        Self {
            fault_detail: Some((namespace, name)),
            ..self
        }
    }

    /// The XSD's path.
    pub fn path(&self) -> PathBuf {
        workspace().join(self.xsd)
    }

    /// The XSD's complaints about the envelope's Body element (empty: valid).
    pub fn errors(&self, envelope: &str) -> Vec<String> {
        let element = {
            let _guard = libxml_lock();
            body_element(envelope, self.fault_detail)
        };
        match element {
            Ok(element) => schema_errors(&self.path(), &element),
            Err(e) => vec![e],
        }
    }

    /// # Panics
    /// If the envelope does not validate.
    pub fn assert_valid(&self, envelope: &str, what: &str) {
        let errors = self.errors(envelope);
        assert!(
            errors.is_empty(),
            "{what} should validate:\n{}\n{envelope}",
            errors.join("\n")
        );
    }

    /// # Panics
    /// If the envelope validates.
    pub fn assert_invalid(&self, envelope: &str, what: &str) {
        assert!(
            !self.errors(envelope).is_empty(),
            "{what} should NOT validate:\n{envelope}"
        );
    }
}
