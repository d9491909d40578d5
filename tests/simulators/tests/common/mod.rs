//! What the SOAP simulators' tests share: a POST with its reply, and reading and checking a
//! reply envelope independently of the simulator. Each test binary uses part of it.

#![allow(dead_code)]

use std::path::Path;
use std::sync::Mutex;

use partner_sims::xsd::SOAP11_NS;
use reqwest::{Client, StatusCode};

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub body: String,
}

/// POSTs `body` as `content_type`, with `SOAPAction: "<action>"` when given.
pub async fn send(
    client: &Client,
    url: &str,
    content_type: &str,
    action: Option<&str>,
    body: String,
) -> Reply {
    let mut request = client
        .post(url)
        .header("content-type", content_type)
        .body(body);
    if let Some(action) = action {
        request = request.header("SOAPAction", format!("\"{action}\""));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Reply {
        status,
        content_type,
        body: response.text().await.unwrap(),
    }
}

/// POSTs `body` as `content_type` with this `SOAPAction` header value from a client that
/// gives up after `timeout` (to see what a simulator does when the client leaves early).
pub async fn send_impatiently(
    url: &str,
    timeout: std::time::Duration,
    content_type: &str,
    soap_action: &str,
    body: String,
) -> reqwest::Result<reqwest::Response> {
    Client::builder()
        .timeout(timeout)
        .build()
        .unwrap()
        .post(url)
        .header("content-type", content_type)
        .header("SOAPAction", soap_action)
        .body(body)
        .send()
        .await
}

/// GETs `url` and reads the answer as JSON (the simulators' control API).
pub async fn get_json<T: serde::de::DeserializeOwned>(
    client: &Client,
    url: impl reqwest::IntoUrl,
) -> T {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// POSTs `body` as JSON to `url` (the simulators' control API).
pub async fn post_json(
    client: &Client,
    url: impl reqwest::IntoUrl,
    body: &impl serde::Serialize,
) -> reqwest::Response {
    client.post(url).json(body).send().await.unwrap()
}

/// A token of the register simulator for the hub's client, with `scope` when given.
pub async fn token(sim: &partner_sims::RegisterSim, scope: Option<&str>) -> String {
    let mut form = vec![
        ("grant_type", "client_credentials"),
        ("client_id", "hub"),
        ("client_secret", "hub-secret"),
    ];
    form.extend(scope.map(|scope| ("scope", scope)));
    let resp = Client::new()
        .post(sim.token_url())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: serde_json::Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// The text at a path of local names below the Body's first element.
pub fn body_text(envelope: &str, path: &[&str]) -> Option<String> {
    let doc = roxmltree::Document::parse(envelope).unwrap();
    let body = doc
        .root_element()
        .children()
        .find(|n| n.has_tag_name((SOAP11_NS, "Body")))?;
    let mut node = body.children().find(roxmltree::Node::is_element)?;
    for name in path {
        node = node
            .children()
            .find(|n| n.is_element() && n.tag_name().name() == *name)?;
    }
    Some(node.text().unwrap_or_default().to_owned())
}

/// `(faultcode, faultstring)` of a SOAP 1.1 fault.
pub fn fault(envelope: &str) -> (String, String) {
    let doc = roxmltree::Document::parse(envelope).unwrap();
    let f = doc
        .descendants()
        .find(|n| n.has_tag_name((SOAP11_NS, "Fault")))
        .unwrap();
    (child_text(f, "faultcode"), child_text(f, "faultstring"))
}

/// The text of `node`'s child element `name` (empty when there is none).
pub fn child_text(node: roxmltree::Node<'_, '_>, name: &str) -> String {
    node.children()
        .find(|n| n.has_tag_name(name))
        .and_then(|n| n.text())
        .unwrap_or_default()
        .to_owned()
}

/// libxml2 is used by the simulators' own threads too, and its global state is set up
/// lazily: the tests use it one at a time.
static LIBXML: Mutex<()> = Mutex::new(());

/// The Body's first element (with `fault_detail`, a `Fault`'s `detail` element instead)
/// validated against the XSD at `xsd` with libxml, independently of the simulator: the
/// errors, empty when valid.
pub fn xsd_errors(xsd: &Path, envelope: &str, fault_detail: bool) -> Vec<String> {
    use libxml::parser::Parser;
    use libxml::schemas::{SchemaParserContext, SchemaValidationContext};
    let _guard = LIBXML.lock().unwrap_or_else(|p| p.into_inner());
    let mut parser = SchemaParserContext::from_file(xsd.to_str().unwrap());
    let mut schema = SchemaValidationContext::from_parser(&mut parser).unwrap();
    let doc = Parser::default().parse_string(envelope).unwrap();
    let root = doc.get_root_element().unwrap();
    let body = root
        .get_child_elements()
        .into_iter()
        .find(|n| n.get_name() == "Body")
        .unwrap();
    let mut element = body.get_first_element_child().unwrap();
    if fault_detail && element.get_name() == "Fault" {
        element = element
            .get_child_elements()
            .into_iter()
            .find(|n| n.get_name() == "detail")
            .and_then(|d| d.get_first_element_child())
            .unwrap();
    }
    match schema.validate_node(&element) {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .into_iter()
            .map(|e| e.message.unwrap_or_default())
            .collect(),
    }
}
