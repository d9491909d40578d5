//! XSD validation for the SOAP simulators: the operation element inside a SOAP 1.1 Body
//! (the Body's first element child) checked against an XSD with libxml2. libxml's contexts
//! are neither `Send` nor `Sync`, so the compiled schema lives on a dedicated thread and
//! requests queue for it.

use std::path::Path;

use axum::body::Bytes;

/// The SOAP 1.1 envelope namespace.
pub const SOAP11_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";

/// Validates the SOAP Body's operation element against an XSD, with libxml2, on a thread
/// of its own (one request at a time).
pub struct XsdValidator {
    jobs: std::sync::mpsc::Sender<ValidationJob>,
}

struct ValidationJob {
    xml: Bytes,
    reply: tokio::sync::oneshot::Sender<Vec<String>>,
}

impl XsdValidator {
    /// Starts the validation thread and waits until it has compiled the XSD.
    pub async fn spawn(xsd: &Path, thread_name: &str) -> std::io::Result<Self> {
        let xsd = xsd.to_path_buf();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<std::io::Result<()>>();
        let (jobs, queue) = std::sync::mpsc::channel::<ValidationJob>();
        std::thread::Builder::new()
            .name(thread_name.to_owned())
            .spawn(move || {
                let mut schema = match load_schema(&xsd) {
                    Ok(schema) => {
                        let _ = ready_tx.send(Ok(()));
                        schema
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                // Ends when the last sender (the simulator) is gone.
                while let Ok(job) = queue.recv() {
                    let errors = validate_operation(&mut schema, &job.xml);
                    let _ = job.reply.send(errors);
                }
            })?;
        ready_rx.await.map_err(|_| {
            std::io::Error::other("the XSD validation thread ended while loading")
        })??;
        Ok(Self { jobs })
    }

    /// The XSD errors of the Body's first element (empty: valid).
    pub async fn validate(&self, xml: Bytes) -> Vec<String> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        if self.jobs.send(ValidationJob { xml, reply }).is_err() {
            return vec!["the XSD validator is not running".to_owned()];
        }
        answer
            .await
            .unwrap_or_else(|_| vec!["the XSD validator ended".to_owned()])
    }
}

fn load_schema(xsd: &Path) -> std::io::Result<libxml::schemas::SchemaValidationContext> {
    if !xsd.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("the XSD {} does not exist", xsd.display()),
        ));
    }
    let path = xsd.to_str().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("the XSD path {} is not UTF-8", xsd.display()),
        )
    })?;
    let mut parser = libxml::schemas::SchemaParserContext::from_file(path);
    libxml::schemas::SchemaValidationContext::from_parser(&mut parser).map_err(|errors| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the XSD {} does not compile: {}",
                xsd.display(),
                describe_all(&errors).join("; ")
            ),
        )
    })
}

fn describe_all(errors: &[libxml::error::StructuredError]) -> Vec<String> {
    errors
        .iter()
        .map(|e| {
            let message = e.message.as_deref().unwrap_or("(no message)").trim();
            match e.line {
                Some(line) if line > 0 => format!("line {line}: {message}"),
                _ => message.to_owned(),
            }
        })
        .collect()
}

fn validate_operation(
    schema: &mut libxml::schemas::SchemaValidationContext,
    xml: &[u8],
) -> Vec<String> {
    use libxml::parser::{Parser, ParserOptions};
    let options = ParserOptions {
        recover: false,
        no_net: true,
        ..ParserOptions::default()
    };
    let doc = match Parser::default().parse_string_with_diagnostics(xml, options) {
        Ok((doc, _)) => doc,
        Err(e) => return vec![format!("not well-formed XML: {e}")],
    };
    let is_soap11 = |n: &libxml::tree::Node, name: &str| {
        n.get_name() == name
            && n.get_namespace().map(|ns| ns.get_href()).as_deref() == Some(SOAP11_NS)
    };
    let operation = doc
        .get_root_element()
        .filter(|root| is_soap11(root, "Envelope"))
        .and_then(|root| {
            root.get_child_elements()
                .into_iter()
                .find(|n| is_soap11(n, "Body"))
        })
        .and_then(|body| body.get_first_element_child());
    let Some(operation) = operation else {
        return vec!["the SOAP Body holds no element".to_owned()];
    };
    schema.drain_errors();
    match schema.validate_node(&operation) {
        Ok(()) => Vec::new(),
        Err(errors) => describe_all(&errors),
    }
}
