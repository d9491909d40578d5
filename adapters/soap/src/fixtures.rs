//! Test fixtures for the SOAP adapters' tests (the `fixtures` feature; nothing in production
//! uses them).

/// Bodies that are no SOAP answer at all, from the empty one to a DTD: a partner's `200`
/// with one of these is unreadable, and sending again will not help.
pub const NOT_SOAP: [&str; 9] = [
    "",
    "OK",
    "<ok/>",
    "{\"ok\":true}",
    "<a><b></a>",
    "<!DOCTYPE x><x/>",
    "<html><body>OK</body></html>",
    "{\"ontvangen\":true}",
    "\u{0}\u{1}",
];
