//! What the SOAP simulators (back office, KIOSK, insurance) share: reading a SOAP 1.1
//! request with roxmltree (the envelope, its Body's operation element, the texts below it),
//! checking its headers, and writing envelopes, faults and plain HTTP errors. Every
//! simulator keeps its own contract; only the SOAP plumbing lives here, byte for byte as
//! each of them wrote it before.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

pub(crate) use crate::xsd::SOAP11_NS;

/// The Content-Type of a SOAP 1.1 answer.
pub(crate) const XML_CONTENT_TYPE: &str = "text/xml; charset=utf-8";
/// The Content-Type of a plain HTTP error.
pub(crate) const HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// `Uitzondering/Type` of a MAGDA-style answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum UitzonderingType {
    /// A business error: the request was not processed (not retryable).
    Fout,
    /// Processed, with a warning.
    Waarschuwing,
    /// Processed, for information.
    Informatie,
}

impl UitzonderingType {
    /// `FOUT`, `WAARSCHUWING` or `INFORMATIE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fout => "FOUT",
            Self::Waarschuwing => "WAARSCHUWING",
            Self::Informatie => "INFORMATIE",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading requests

pub(crate) type XmlNode<'a, 'i> = roxmltree::Node<'a, 'i>;

/// The first child element with this local name.
pub(crate) fn child<'a, 'i>(node: XmlNode<'a, 'i>, name: &str) -> Option<XmlNode<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

/// Follows child elements by local name.
pub(crate) fn path<'a, 'i>(node: XmlNode<'a, 'i>, names: &[&str]) -> Option<XmlNode<'a, 'i>> {
    names.iter().try_fold(node, |n, name| child(n, name))
}

/// The trimmed text of the element at `names` below `node`.
pub(crate) fn text(node: Option<XmlNode<'_, '_>>, names: &[&str]) -> Option<String> {
    let found = path(node?, names)?;
    Some(found.text().unwrap_or_default().trim().to_owned())
}

/// The texts of every `item` child of the element at `names` below `node`.
pub(crate) fn texts(node: Option<XmlNode<'_, '_>>, names: &[&str], item: &str) -> Vec<String> {
    node.and_then(|n| path(n, names))
        .map(|list| {
            list.children()
                .filter(|n| n.is_element() && n.tag_name().name() == item)
                .map(|n| n.text().unwrap_or_default().trim().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The request body as an XML document (what is wrong when it is not UTF-8 or not
/// well-formed).
pub(crate) fn parse(body: &[u8]) -> Result<roxmltree::Document<'_>, String> {
    let xml = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
    roxmltree::Document::parse(xml).map_err(|e| format!("not well-formed XML: {e}"))
}

/// The SOAP 1.1 `Body` and its first element (the operation), or what is missing.
pub(crate) fn body_and_operation<'a, 'i>(
    doc: &'a roxmltree::Document<'i>,
) -> Result<(XmlNode<'a, 'i>, XmlNode<'a, 'i>), String> {
    let root = doc.root_element();
    let is_soap11 = |n: &XmlNode<'_, '_>, name: &str| {
        n.is_element() && n.tag_name().namespace() == Some(SOAP11_NS) && n.tag_name().name() == name
    };
    if !is_soap11(&root, "Envelope") {
        return Err(format!(
            "not a SOAP 1.1 request: the root element is {{{}}}{}",
            root.tag_name().namespace().unwrap_or(""),
            root.tag_name().name()
        ));
    }
    let body = root
        .children()
        .find(|n| is_soap11(n, "Body"))
        .ok_or_else(|| "the SOAP Envelope has no Body".to_owned())?;
    let operation = body
        .children()
        .find(XmlNode::is_element)
        .ok_or_else(|| "the SOAP Body holds no element".to_owned())?;
    Ok((body, operation))
}

/// What is wrong with the Content-Type of a SOAP 1.1 request (it must be `text/xml`).
pub(crate) fn content_type_errors(content_type: Option<&str>) -> Vec<String> {
    let media_type = content_type
        .and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    if media_type.as_deref() == Some("text/xml") {
        Vec::new()
    } else {
        vec![format!(
            "Content-Type must be text/xml (SOAP 1.1), not {}",
            content_type.unwrap_or("(none)")
        )]
    }
}

/// What is wrong with the `SOAPAction` header (quoted or not) when `expected` is due.
pub(crate) fn soap_action_error(soap_action: Option<&str>, expected: &str) -> Option<String> {
    match soap_action {
        Some(a) if a.trim().trim_matches('"') == expected => None,
        Some(a) => Some(format!("SOAPAction must be \"{expected}\", not {a}")),
        None => Some("the SOAPAction header is missing".to_owned()),
    }
}

/// The two `Referte`s of a MAGDA-style request that must be the same.
pub(crate) fn referte_error(afzender: Option<&String>, vraag: Option<&String>) -> Option<String> {
    match (afzender, vraag) {
        (Some(a), Some(v)) if a != v => Some(format!(
            "Vraag/Referte {v} differs from Context/Bericht/Afzender/Referte {a}"
        )),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Writing answers

/// Escapes the five XML special characters.
pub(crate) fn escape(text: &str) -> String {
    escape_with(text, |c, out| out.push(c))
}

/// [`escape`], also writing a carriage return as `&#13;` and replacing the control
/// characters XML 1.0 does not allow (all but tab and newline) with U+FFFD.
pub(crate) fn escape_controls(text: &str) -> String {
    escape_with(text, |c, out| match c {
        '\r' => out.push_str("&#13;"),
        c if matches!(c, '\t' | '\n') || !c.is_control() => out.push(c),
        _ => out.push('\u{FFFD}'),
    })
}

fn escape_with(text: &str, other: impl Fn(char, &mut String)) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => other(c, &mut out),
        }
    }
    out
}

const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// A SOAP 1.1 envelope with an empty Header around `body`.
pub(crate) fn envelope(body: &str) -> String {
    format!(
        "{XML_DECLARATION}<soapenv:Envelope xmlns:soapenv=\"{SOAP11_NS}\">\
         <soapenv:Header/><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )
}

/// [`envelope`] with `Body Id="Body"` (the MAGDA convention of the insurance).
pub(crate) fn envelope_with_body_id(body: &str) -> String {
    format!(
        "{XML_DECLARATION}<soapenv:Envelope xmlns:soapenv=\"{SOAP11_NS}\">\
         <soapenv:Header/><soapenv:Body Id=\"Body\">{body}</soapenv:Body></soapenv:Envelope>"
    )
}

/// A SOAP 1.1 envelope without Header around `body`.
pub(crate) fn envelope_without_header(body: &str) -> String {
    format!(
        "{XML_DECLARATION}<soapenv:Envelope xmlns:soapenv=\"{SOAP11_NS}\">\
         <soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )
}

/// A `soapenv:Fault` element; `detail` (already XML, may be empty) follows the faultstring.
pub(crate) fn fault(
    escape: fn(&str) -> String,
    faultcode: &str,
    faultstring: &str,
    detail: &str,
) -> String {
    format!(
        "<soapenv:Fault><faultcode>{}</faultcode><faultstring>{}</faultstring>{detail}\
         </soapenv:Fault>",
        escape(faultcode),
        escape(faultstring)
    )
}

/// An answer: `status` (500 when not an HTTP status) with this body and Content-Type.
pub(crate) fn answer(status: u16, content_type: &'static str, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The HTML page of a plain HTTP error, as a proxy or a server that is down answers.
pub(crate) fn html_error(status: u16) -> String {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    format!(
        "<html><head><title>{status} {reason}</title></head>\
         <body><h1>{status} {reason}</h1></body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_each_simulators_bytes() {
        assert_eq!(
            escape("a<&>\"'\r\u{1}"),
            "a&lt;&amp;&gt;&quot;&apos;\r\u{1}"
        );
        assert_eq!(
            escape_controls("a<&>\"'\r\u{1}\t\n"),
            "a&lt;&amp;&gt;&quot;&apos;&#13;\u{FFFD}\t\n"
        );
    }

    #[test]
    fn faults_are_written_as_before() {
        assert_eq!(
            envelope(&fault(escape, "soapenv:Client", "x & y", "")),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope \
             xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Header/>\
             <soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode>\
             <faultstring>x &amp; y</faultstring></soapenv:Fault></soapenv:Body>\
             </soapenv:Envelope>"
        );
        assert_eq!(
            envelope_without_header(&fault(escape, "soapenv:Server", "busy", "")),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope \
             xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\"><soapenv:Body>\
             <soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>busy\
             </faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
        );
    }
}
