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

/// The WSDL 1.1 namespace.
pub const WSDL_NS: &str = "http://schemas.xmlsoap.org/wsdl/";
/// The WSDL 1.1 SOAP binding namespace.
pub const WSDL_SOAP_NS: &str = "http://schemas.xmlsoap.org/wsdl/soap/";
/// The XML Schema namespace.
pub const XS_NS: &str = "http://www.w3.org/2001/XMLSchema";

/// The attribute's value ("" when absent).
pub fn attribute(node: &Node, name: &str) -> String {
    node.get_attribute(name).unwrap_or_default()
}

/// `(file name, text)` of every `.xml` file in `dir`, by name.
///
/// # Panics
/// If the directory or a file cannot be read.
pub fn xml_files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .filter(|path| path.extension().is_some_and(|e| e == "xml"))
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, read(&path))
        })
        .collect();
    files.sort();
    files
}

/// A checked-in example is exactly `expected`; with the environment variable `regenerate`
/// set, it is rewritten first.
///
/// # Panics
/// If it differs (`hint` says how to regenerate), or cannot be written.
pub fn assert_example(path: &Path, expected: &str, regenerate: &str, hint: &str) {
    if std::env::var_os(regenerate).is_some() {
        std::fs::write(path, expected).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    assert_eq!(
        read(path),
        expected,
        "{} is not what the adapter writes ({regenerate}=1 {hint})",
        path.display()
    );
}

/// A WSDL 1.1 document (parse it while holding [`libxml_lock`]).
pub struct Wsdl {
    /// The document.
    pub doc: Document,
    /// Its `wsdl:definitions`.
    pub root: Node,
    path: PathBuf,
    all: Vec<Node>,
}

impl Wsdl {
    /// Reads the WSDL below the workspace's root.
    ///
    /// # Panics
    /// If it is not well-formed or not a `wsdl:definitions`.
    pub fn load(path: &str) -> Self {
        let path = workspace().join(path);
        let doc = parse_strict(&read(&path))
            .unwrap_or_else(|e| panic!("{}: the WSDL is not well-formed: {e}", path.display()));
        let root = doc
            .get_root_element()
            .unwrap_or_else(|| panic!("{}: no root element", path.display()));
        assert!(is(&root, WSDL_NS, "definitions"), "not a WSDL 1.1 document");
        let all = descendants(&root);
        Self {
            doc,
            root,
            path,
            all,
        }
    }

    /// Every `{namespace}name` element in it.
    pub fn find(&self, namespace: &str, name: &str) -> Vec<&Node> {
        self.all.iter().filter(|n| is(n, namespace, name)).collect()
    }

    /// It imports exactly one schema, for `namespace`, from `location`, which is `xsd`.
    ///
    /// # Panics
    /// If not.
    pub fn assert_imports(&self, namespace: &str, location: &str, xsd: &Path) {
        let imports = self.find(XS_NS, "import");
        assert_eq!(imports.len(), 1, "one xs:import");
        assert_eq!(attribute(imports[0], "namespace"), namespace);
        assert_eq!(attribute(imports[0], "schemaLocation"), location);
        let imported = self.path.parent().map(|dir| dir.join(location));
        let canonical = |p: &Path| {
            p.canonicalize()
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        };
        assert_eq!(imported.as_deref().map(canonical), Some(canonical(xsd)));
    }

    /// One SOAP binding, document/literal over HTTP, with `bodies` `soap:body`s, and one
    /// `soap:address`.
    ///
    /// # Panics
    /// If not.
    pub fn assert_document_literal(&self, bodies: usize) {
        let binding = self.find(WSDL_SOAP_NS, "binding");
        assert_eq!(binding.len(), 1, "one soap:binding");
        assert_eq!(attribute(binding[0], "style"), "document");
        assert_eq!(
            attribute(binding[0], "transport"),
            "http://schemas.xmlsoap.org/soap/http"
        );
        let found = self.find(WSDL_SOAP_NS, "body");
        assert_eq!(found.len(), bodies, "soap:body elements");
        assert!(found.iter().all(|b| attribute(b, "use") == "literal"));
        assert_eq!(self.find(WSDL_SOAP_NS, "address").len(), 1);
    }
}
