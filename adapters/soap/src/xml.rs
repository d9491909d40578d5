//! Writing and reading the XML of SOAP 1.1 messages with quick-xml.
//!
//! Writing: [`XmlWriter`] indents by one space, escapes every text value ([`escape_text`]:
//! `&`, `<`, `>`, and CR as `&#13;` so that it survives end-of-line normalisation) and
//! replaces characters XML 1.0 cannot carry by U+FFFD.
//!
//! Reading: [`parse`] builds a small element tree ([`Element`]) with namespaces resolved,
//! refusing DTDs, unknown entities, undeclared prefixes, unbalanced tags, text outside the
//! root and documents deeper or bigger than its [`Limits`].

use std::borrow::Cow;
use std::io;

use quick_xml::escape::{partial_escape, resolve_predefined_entity};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;
use quick_xml::Writer;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::text::short;
use crate::SOAP_ENVELOPE_NAMESPACE;

// ---------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------

/// Whether XML 1.0 can carry `c` at all (even escaped).
pub fn is_xml_char(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r'
        | '\u{20}'..='\u{D7FF}'
        | '\u{E000}'..='\u{FFFD}'
        | '\u{10000}'..='\u{10FFFF}')
}

/// Characters XML 1.0 cannot carry replaced by U+FFFD.
pub fn clean_text(s: &str) -> String {
    s.chars()
        .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
        .collect()
}

/// Text content escaped (`&`, `<`, `>`, and CR as `&#13;`), with characters XML cannot
/// carry replaced by U+FFFD.
pub fn escape_text(value: &str) -> Cow<'_, str> {
    if value.chars().all(is_xml_char) {
        partial_escape(value)
    } else {
        Cow::Owned(partial_escape(clean_text(value)).into_owned())
    }
}

/// `true` / `false`, as `xs:boolean`.
pub fn boolean(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

/// An indenting quick-xml writer with the few shapes SOAP requests need.
pub struct XmlWriter {
    w: Writer<Vec<u8>>,
}

impl Default for XmlWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlWriter {
    pub fn new() -> Self {
        XmlWriter {
            w: Writer::new_with_indent(Vec::new(), b' ', 1),
        }
    }

    /// `<?xml version="1.0" encoding="UTF-8"?>`.
    pub fn declaration(&mut self) -> io::Result<()> {
        self.w
            .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
    }

    pub fn start(&mut self, name: &str) -> io::Result<()> {
        self.w.write_event(Event::Start(BytesStart::new(name)))
    }

    pub fn start_with(&mut self, start: BytesStart<'_>) -> io::Result<()> {
        self.w.write_event(Event::Start(start))
    }

    pub fn end(&mut self, name: &str) -> io::Result<()> {
        self.w.write_event(Event::End(BytesEnd::new(name)))
    }

    pub fn empty(&mut self, name: &str) -> io::Result<()> {
        self.w.write_event(Event::Empty(BytesStart::new(name)))
    }

    /// `<name>value</name>`, the value escaped ([`escape_text`]); an empty value gives
    /// `<name></name>` (the text event, even empty, keeps the indenting writer from putting
    /// white space inside).
    pub fn text(&mut self, name: &str, value: &str) -> io::Result<()> {
        self.start(name)?;
        self.w
            .write_event(Event::Text(BytesText::from_escaped(escape_text(value))))?;
        self.end(name)
    }

    /// [`XmlWriter::text`] when there is a value, nothing otherwise.
    pub fn optional(&mut self, name: &str, value: Option<&str>) -> io::Result<()> {
        match value {
            Some(v) => self.text(name, v),
            None => Ok(()),
        }
    }

    /// A container of items; `<name/>` when there are none.
    pub fn list<T>(
        &mut self,
        name: &str,
        items: &[T],
        mut each: impl FnMut(&mut Self, &T) -> io::Result<()>,
    ) -> io::Result<()> {
        if items.is_empty() {
            return self.empty(name);
        }
        self.start(name)?;
        for item in items {
            each(self, item)?;
        }
        self.end(name)
    }

    /// The XML declaration, `soapenv:Envelope`, an empty `soapenv:Header`, `soapenv:Body`
    /// (with an `Id` attribute when `body_id` is given) and the operation element
    /// `prefix:operation`, which declares `xmlns:prefix="namespace"`.
    pub fn open_envelope(
        &mut self,
        prefix: &str,
        namespace: &str,
        operation: &str,
        body_id: Option<&str>,
    ) -> io::Result<()> {
        self.declaration()?;
        self.start_with(
            BytesStart::new("soapenv:Envelope")
                .with_attributes([("xmlns:soapenv", SOAP_ENVELOPE_NAMESPACE)]),
        )?;
        self.empty("soapenv:Header")?;
        let mut body = BytesStart::new("soapenv:Body");
        if let Some(id) = body_id {
            body.push_attribute(("Id", id));
        }
        self.start_with(body)?;
        let element = format!("{prefix}:{operation}");
        let xmlns = format!("xmlns:{prefix}");
        self.start_with(
            BytesStart::new(element.as_str()).with_attributes([(xmlns.as_str(), namespace)]),
        )
    }

    /// Closes what [`XmlWriter::open_envelope`] opened.
    pub fn close_envelope(&mut self, prefix: &str, operation: &str) -> io::Result<()> {
        self.end(&format!("{prefix}:{operation}"))?;
        self.end("soapenv:Body")?;
        self.end("soapenv:Envelope")
    }

    /// The MAGDA `Context` of a request: `Naam`, `Versie` and the `Bericht` with its `Type`,
    /// `Tijdstip` (`datum`, `tijd`), `Afzender` (`sender`, `referte`) and `Ontvanger`
    /// (`receiver`).
    pub fn magda_context(&mut self, context: &MagdaContext<'_>) -> io::Result<()> {
        self.start("Context")?;
        self.text("Naam", context.naam)?;
        self.text("Versie", context.versie)?;
        self.start("Bericht")?;
        self.text("Type", context.type_)?;
        let utc = context
            .sent_at
            .checked_to_offset(UtcOffset::UTC)
            .unwrap_or(context.sent_at);
        let tijd = format!(
            "{:02}:{:02}:{:02}.{:03}",
            utc.hour(),
            utc.minute(),
            utc.second(),
            utc.millisecond()
        );
        self.start("Tijdstip")?;
        self.text("Datum", &xs_date(utc.date()))?;
        self.text("Tijd", &tijd)?;
        self.end("Tijdstip")?;
        self.start("Afzender")?;
        self.text("Identificatie", context.sender)?;
        self.text("Referte", context.referte)?;
        self.end("Afzender")?;
        self.start("Ontvanger")?;
        self.text("Identificatie", context.receiver)?;
        self.end("Ontvanger")?;
        self.end("Bericht")?;
        self.end("Context")
    }

    /// The document, with a final line break.
    pub fn finish(self) -> String {
        let mut bytes = self.w.into_inner();
        bytes.push(b'\n');
        // Only `&str`s went in, so this is UTF-8; stay panic-free all the same.
        String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// A date as `xs:date` without a time zone: `yyyy-MM-dd`.
pub fn xs_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// What [`XmlWriter::magda_context`] writes.
#[derive(Debug, Clone, Copy)]
pub struct MagdaContext<'a> {
    /// `Context/Naam`: the operation.
    pub naam: &'a str,
    /// `Context/Versie`: the contract's version.
    pub versie: &'a str,
    /// `Bericht/Type`, e.g. `VRAAG` or `PUBLICATIE`.
    pub type_: &'a str,
    /// When the message is sent: `Tijdstip/Datum` (`yyyy-MM-dd`) and `Tijdstip/Tijd`
    /// (`HH:mm:ss.SSS`), in UTC.
    pub sent_at: OffsetDateTime,
    /// `Afzender/Identificatie`.
    pub sender: &'a str,
    /// `Afzender/Referte`.
    pub referte: &'a str,
    /// `Ontvanger/Identificatie`.
    pub receiver: &'a str,
}

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

/// How big a document [`parse_with`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The deepest nesting of elements.
    pub max_depth: usize,
    /// The most elements.
    pub max_elements: usize,
}

impl Limits {
    /// 64 levels, 20 000 elements.
    pub const DEFAULT: Limits = Limits {
        max_depth: 64,
        max_elements: 20_000,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// An element of a parsed document.
#[derive(Debug, Default)]
pub struct Element {
    /// The resolved namespace, `None` for an unqualified element.
    pub namespace: Option<String>,
    /// The local name.
    pub name: String,
    /// All text directly inside the element (references resolved).
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// Whether this is `{namespace}name`.
    pub fn is(&self, namespace: &str, name: &str) -> bool {
        self.namespace.as_deref() == Some(namespace) && self.name == name
    }

    /// The first child with this local name (any namespace: children are unqualified, and
    /// a lenient reader forgives a partner that qualifies them).
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The children with this local name.
    pub fn children_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Element> + 's {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The first child `{namespace}name`.
    pub fn child_qualified(&self, namespace: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(namespace, name))
    }

    /// Down the first child of each name in turn.
    pub fn path(&self, names: &[&str]) -> Option<&Element> {
        names.iter().try_fold(self, |e, name| e.child(name))
    }

    /// The trimmed text.
    pub fn text(&self) -> &str {
        self.text.trim()
    }

    /// The trimmed text of the element [`Element::path`] leads to.
    pub fn path_text(&self, names: &[&str]) -> Option<&str> {
        self.path(names).map(Element::text)
    }

    /// The trimmed text of the first child `name`; empty when there is none.
    pub fn child_text(&self, name: &str) -> &str {
        self.child(name).map(Element::text).unwrap_or("")
    }
}

/// The `soapenv:Body` of a document whose root is a SOAP 1.1 `Envelope`.
pub fn soap_body(root: &Element) -> Option<&Element> {
    Some(root)
        .filter(|root| root.is(SOAP_ENVELOPE_NAMESPACE, "Envelope"))
        .and_then(|root| root.child_qualified(SOAP_ENVELOPE_NAMESPACE, "Body"))
}

/// The `soapenv:Fault` in a SOAP `Body`.
pub fn soap_fault(body: &Element) -> Option<&Element> {
    body.child_qualified(SOAP_ENVELOPE_NAMESPACE, "Fault")
}

/// The `Referte` a MAGDA `Repliek` echoes in its `Context/Bericht/Ontvanger` (the request's
/// own `Referte`, returned), when it carries a non-empty one.
pub fn context_referte(repliek: &Element) -> Option<&str> {
    repliek
        .path_text(&["Context", "Bericht", "Ontvanger", "Referte"])
        .filter(|r| !r.is_empty())
}

/// [`parse_with`] the [`Limits::DEFAULT`].
pub fn parse(input: &str) -> Result<Element, String> {
    parse_with(input, Limits::DEFAULT)
}

/// Parses a document into an element tree, namespaces resolved. Refuses DTDs, unknown
/// entities, undeclared prefixes, unbalanced tags, text outside the root and documents
/// deeper or bigger than `limits`. The error is a short reason.
pub fn parse_with(input: &str, limits: Limits) -> Result<Element, String> {
    let mut reader = NsReader::from_str(input);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| short(&format!("not well-formed XML: {e}")))?;
        let namespace = match (&event, resolved) {
            (Event::Start(_) | Event::Empty(_), ResolveResult::Bound(ns)) => {
                Some(ns.into_inner().to_owned())
            }
            (Event::Start(_) | Event::Empty(_), ResolveResult::Unknown(prefix)) => {
                return Err(short(&format!("undeclared namespace prefix {prefix:?}")));
            }
            _ => None,
        };
        match event {
            Event::Start(e) => {
                count += 1;
                if count > limits.max_elements || stack.len() >= limits.max_depth {
                    return Err("document too large or too deep".to_owned());
                }
                stack.push(Element {
                    namespace,
                    name: e.local_name().into_inner().to_owned(),
                    ..Element::default()
                });
            }
            Event::Empty(e) => {
                count += 1;
                if count > limits.max_elements || stack.len() >= limits.max_depth {
                    return Err("document too large or too deep".to_owned());
                }
                let element = Element {
                    namespace,
                    name: e.local_name().into_inner().to_owned(),
                    ..Element::default()
                };
                attach(&mut stack, &mut root, element)?;
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| "an end tag without a start tag".to_owned())?;
                attach(&mut stack, &mut root, element)?;
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content())?,
            Event::CData(t) => push_text(&mut stack, &t.xml10_content())?,
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => resolve_predefined_entity(&r)
                        .ok_or_else(|| short(&format!("unknown entity &{};", &*r)))?
                        .to_owned(),
                    Err(e) => return Err(short(&format!("bad character reference: {e}"))),
                };
                push_text(&mut stack, &resolved)?;
            }
            Event::DocType(_) => return Err("a DTD is not allowed".to_owned()),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err("the document ends inside an element".to_owned());
    }
    root.ok_or_else(|| "no root element".to_owned())
}

fn attach(
    stack: &mut [Element],
    root: &mut Option<Element>,
    element: Element,
) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None if root.is_none() => *root = Some(element),
        None => return Err("more than one root element".to_owned()),
    }
    Ok(())
}

fn push_text(stack: &mut [Element], text: &str) -> Result<(), String> {
    match stack.last_mut() {
        Some(current) => current.text.push_str(text),
        None if text.trim().is_empty() => {}
        None => return Err("text outside the root element".to_owned()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repliek_echoes_its_referte_in_the_context_or_not_at_all() {
        let echoing = parse(
            "<Repliek><Context><Bericht><Ontvanger><Referte> r-1 </Referte></Ontvanger>\
             </Bericht></Context></Repliek>",
        )
        .expect("parses");
        assert_eq!(context_referte(&echoing), Some("r-1"));
        let empty = parse(
            "<Repliek><Context><Bericht><Ontvanger><Referte/></Ontvanger></Bericht></Context>\
             </Repliek>",
        )
        .expect("parses");
        assert_eq!(context_referte(&empty), None);
        let silent = parse("<Repliek><Context/></Repliek>").expect("parses");
        assert_eq!(context_referte(&silent), None);
    }

    #[test]
    fn text_is_escaped_and_unrepresentable_characters_replaced() {
        assert_eq!(escape_text("plain"), "plain");
        assert_eq!(
            escape_text("Tom & Jerry <vzw> \"q\" 's' ]]> €\r\n"),
            "Tom &amp; Jerry &lt;vzw&gt; \"q\" 's' ]]&gt; €&#13;\n"
        );
        assert_eq!(
            escape_text("bell\u{7}nul\u{0}\r&"),
            "bell\u{FFFD}nul\u{FFFD}&#13;&amp;"
        );
        assert_eq!(clean_text("a\u{1}\u{FFFE}b\t"), "a\u{FFFD}\u{FFFD}b\t");
        assert!(is_xml_char('\u{10000}') && !is_xml_char('\u{B}'));
        assert_eq!(boolean(true), "true");
    }

    #[test]
    fn the_writer_writes_an_envelope_and_escaped_text() {
        let mut x = XmlWriter::new();
        let written = (|| -> io::Result<()> {
            x.open_envelope("t", "urn:test", "Doe", Some("Body"))?;
            x.start("Verzoek")?;
            x.magda_context(&MagdaContext {
                naam: "Doe",
                versie: "01.00.0000",
                type_: "VRAAG",
                sent_at: time::macros::datetime!(2026-11-03 09:15:02.431 +01:00),
                sender: "hub",
                referte: "r-1",
                receiver: "partner",
            })?;
            x.text("Leeg", "")?;
            x.optional("Niets", None)?;
            x.optional("Iets", Some("a & b"))?;
            x.list::<u8>("Lijst", &[], |_, _| Ok(()))?;
            x.list("Getallen", &[1, 2], |x, n| x.text("N", &n.to_string()))?;
            x.end("Verzoek")?;
            x.close_envelope("t", "Doe")
        })();
        written.expect("in memory");
        let xml = x.finish();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
        assert!(xml.ends_with("</soapenv:Envelope>\n"));
        for expected in [
            "<soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\">",
            "<soapenv:Header/>",
            "<soapenv:Body Id=\"Body\">",
            "<t:Doe xmlns:t=\"urn:test\">",
            "<Leeg></Leeg>",
            "<Iets>a &amp; b</Iets>",
            "<Lijst/>",
            "<N>2</N>",
        ] {
            assert!(xml.contains(expected), "{expected} missing from\n{xml}");
        }
        assert!(!xml.contains("Niets"));

        let root = parse(&xml).expect("our envelope parses");
        let body = soap_body(&root).expect("body");
        assert!(soap_fault(body).is_none());
        let op = body.child_qualified("urn:test", "Doe").expect("operation");
        let bericht = op
            .path(&["Verzoek", "Context", "Bericht"])
            .expect("bericht");
        assert_eq!(bericht.child_text("Type"), "VRAAG");
        for (path, written) in [
            (["Tijdstip", "Datum"], "2026-11-03"),
            (["Tijdstip", "Tijd"], "08:15:02.431"),
            (["Afzender", "Referte"], "r-1"),
            (["Afzender", "Identificatie"], "hub"),
            (["Ontvanger", "Identificatie"], "partner"),
        ] {
            assert_eq!(bericht.path_text(&path), Some(written), "{path:?}");
        }
        let getallen = op.path(&["Verzoek", "Getallen"]).expect("list");
        assert_eq!(getallen.children_named("N").count(), 2);

        let mut bare = XmlWriter::default();
        bare.open_envelope("k", "urn:k", "Vraag", None)
            .and_then(|()| bare.close_envelope("k", "Vraag"))
            .expect("in memory");
        assert!(bare.finish().contains("<soapenv:Body>"));
    }

    #[test]
    fn the_reader_refuses_dtds_unknown_entities_and_bad_nesting() {
        assert!(parse("<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>").is_err());
        assert!(parse("<a>&x;</a>").is_err());
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a>").is_err());
        assert!(parse("</a>").is_err());
        assert!(parse("<a/><b/>").is_err());
        assert!(parse("<a/>text").is_err());
        assert!(parse("").is_err());
        assert!(parse("<p:a/>").is_err());
        assert!(parse(&"<a>".repeat(100)).is_err());
        let ok = parse("<a>x &amp; &#65;&#x42; <![CDATA[<c>]]></a>").expect("parses");
        assert_eq!(ok.text, "x & AB <c>");
    }

    #[test]
    fn the_reader_keeps_to_its_limits() {
        let doc = format!("<a>{}</a>", "<b/>".repeat(20));
        let small = Limits {
            max_depth: 64,
            max_elements: 10,
        };
        assert!(parse_with(&doc, small).is_err());
        assert_eq!(parse(&doc).map(|a| a.children.len()), Ok(20));
        let deep = format!("{}{}", "<a>".repeat(5), "</a>".repeat(5));
        let shallow = Limits {
            max_depth: 4,
            max_elements: 100,
        };
        assert!(parse_with(&deep, shallow).is_err());
        assert!(parse(&deep).is_ok());
    }

    #[test]
    fn elements_are_found_by_local_name_and_namespace() {
        let root = parse("<r xmlns:n=\"urn:n\"><n:a> 1 </n:a><a>2</a><b><c>3</c></b></r>")
            .expect("parses");
        assert_eq!(root.child_text("a"), "1");
        assert_eq!(
            root.child_qualified("urn:n", "a").map(Element::text),
            Some("1")
        );
        assert_eq!(root.children_named("a").count(), 2);
        assert_eq!(root.path(&["b", "c"]).map(Element::text), Some("3"));
        assert_eq!(root.path_text(&["b", "c"]), Some("3"));
        assert_eq!(root.path_text(&["b", "z"]), None);
        assert_eq!(root.child_text("z"), "");
        assert!(soap_body(&root).is_none());
    }
}
