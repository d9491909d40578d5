//! The register simulator's beheer (write) API over real HTTP.
#![allow(clippy::unwrap_used)]

mod common;

use common::{get_json, post_json};

use std::time::{Duration, Instant};

use partner_sims::{validate_vereniging, RegisterSim, RegisterSimConfig};
use reqwest::header::{CONTENT_TYPE, ETAG, LOCATION};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

const INITIATOR: &str = "OVO002949";
const CORRELATION: &str = "2f1b4c0e-7f5a-4e0a-9a57-0c2b1d3e4f50";

async fn start() -> (RegisterSim, Beheer) {
    let sim = RegisterSim::start(
        RegisterSimConfig::with_seed(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let token = common::token(&sim, Some("dv_verenigingsregister_beheer")).await;
    let beheer = Beheer {
        base_url: sim.base_url(),
        token,
    };
    (sim, beheer)
}

/// The register simulator's API as a beheer client with a token sees it.
struct Beheer {
    base_url: String,
    token: String,
}

impl Beheer {
    /// A beheer request with both required headers and, when given, `If-Match: W/"n"`.
    fn request(
        &self,
        method: Method,
        path: &str,
        if_match: Option<u64>,
    ) -> reqwest::RequestBuilder {
        let mut req = Client::new()
            .request(method, format!("{}/v1/verenigingen/{path}", self.base_url))
            .bearer_auth(&self.token)
            .header("VR-Initiator", INITIATOR)
            .header("X-Correlation-Id", CORRELATION);
        if let Some(v) = if_match {
            req = req.header("If-Match", format!("W/\"{v}\""));
        }
        req
    }

    /// A [`Beheer::request`] with this JSON body, sent.
    async fn send(
        &self,
        method: Method,
        path: &str,
        if_match: Option<u64>,
        body: &Value,
    ) -> reqwest::Response {
        self.request(method, path, if_match)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    async fn detail(&self, vcode: &str) -> (Value, String) {
        let resp = Client::new()
            .get(format!("{}/v1/verenigingen/{vcode}", self.base_url))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let etag = resp.headers()[ETAG].to_str().unwrap().to_owned();
        let body: Value = resp.json().await.unwrap();
        (body["vereniging"].clone(), etag)
    }

    async fn mutaties(&self, sinds: u64) -> Vec<Value> {
        Client::new()
            .get(format!(
                "{}/v1/verenigingen/mutaties?sinds={sinds}",
                self.base_url
            ))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// Checks a 202 and answers (version, sequence).
fn accepted(resp: &reqwest::Response, vcode: &str) -> (u64, u64) {
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let h = resp.headers();
    assert_eq!(h[LOCATION], format!("/v1/verenigingen/{vcode}").as_str());
    assert_eq!(h["x-correlation-id"], CORRELATION);
    let etag = h[ETAG].to_str().unwrap();
    let version = etag
        .strip_prefix("W/\"")
        .and_then(|e| e.strip_suffix('"'))
        .unwrap()
        .parse()
        .unwrap();
    let sequence = h["vr-sequence"].to_str().unwrap().parse().unwrap();
    (version, sequence)
}

async fn problem(resp: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(resp.status(), status);
    assert_eq!(resp.headers()[CONTENT_TYPE], "application/problem+json");
    assert_eq!(resp.headers()["x-correlation-id"], CORRELATION);
    resp.json().await.unwrap()
}

/// The (field, code) pairs of a validation problem.
fn field_errors(problem: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (field, errs) in problem["validationErrors"].as_object().unwrap() {
        for e in errs.as_array().unwrap() {
            assert!(!e["reason"].as_str().unwrap().is_empty());
            out.push((field.clone(), e["code"].as_str().unwrap().to_owned()));
        }
    }
    out
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[tokio::test]
async fn accepted_changes_show_in_detail_and_mutaties() {
    let (sim, w) = start().await;
    let v = "V0001001";
    let before = sim.sequence();
    let (_, etag) = w.detail(v).await;
    assert_eq!(etag, "W/\"1\"");

    let body = json!({"naam": "Chiro Sint-Jozef Aalst-Centrum", "korteNaam": "Chiro SJAC",
        "hoofdactiviteitenVerenigingsloket": ["JGDW", "SPRT"], "doelgroep": {"maximumleeftijd": 21}});
    let resp = w.send(Method::PATCH, v, Some(1), &body).await;
    let (version, sequence) = accepted(&resp, v);
    assert_eq!((version, sequence), (2, before + 1));
    assert!(resp.text().await.unwrap().is_empty());
    let (doc, etag) = w.detail(v).await;
    assert_eq!(etag, "W/\"2\"");
    assert_eq!(doc["naam"], "Chiro Sint-Jozef Aalst-Centrum");
    assert_eq!(doc["korteNaam"], "Chiro SJAC");
    assert_eq!(doc["doelgroep"]["maximumleeftijd"], 21);
    assert_eq!(
        doc["hoofdactiviteitenVerenigingsloket"][1],
        json!({"@id": "https://data.vlaanderen.be/id/concept/HoofdactiviteitVerenigingsloket/SPRT",
               "@type": "skos:Concept", "code": "SPRT", "naam": "Sport"})
    );
    assert_eq!(
        w.mutaties(before).await,
        vec![json!({"vCode": v, "sequence": sequence})]
    );

    // contactgegevens: add, change, delete
    let resp = w
        .send(
            Method::POST,
            &format!("{v}/contactgegevens"),
            Some(2),
            &json!({"contactgegeven": {"contactgegeventype": "Telefoon",
            "waarde": "+32 53 21 00 00", "beschrijving": "Lokaal", "isPrimair": true}}),
        )
        .await;
    assert_eq!(accepted(&resp, v).0, 3);
    let (doc, _) = w.detail(v).await;
    let added = &doc["contactgegevens"][3];
    assert_eq!(added["contactgegevenId"], 4);
    assert_eq!(added["contactgegeventype"], "Telefoon");
    assert_eq!(added["isPrimair"], true);
    assert_eq!(added["@type"], "schema:ContactPoint");

    let resp = w
        .send(
            Method::PATCH,
            &format!("{v}/contactgegevens/4"),
            None,
            &json!({"contactgegeven": {"waarde": "053 21 00 01", "isPrimair": false}}),
        )
        .await;
    assert_eq!(accepted(&resp, v).0, 4);
    let (doc, _) = w.detail(v).await;
    assert_eq!(doc["contactgegevens"][3]["waarde"], "053 21 00 01");
    assert_eq!(doc["contactgegevens"][3]["beschrijving"], "Lokaal");

    let resp = w
        .request(Method::DELETE, &format!("{v}/contactgegevens/2"), Some(4))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted(&resp, v).0, 5);
    let (doc, _) = w.detail(v).await;
    let ids: Vec<&Value> = doc["contactgegevens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["contactgegevenId"])
        .collect();
    assert_eq!(ids, [&json!(1), &json!(3), &json!(4)]);

    // locaties: add, change, delete
    let resp = w
        .send(
            Method::POST,
            &format!("{v}/locaties"),
            None,
            &json!({"locatie": {"locatietype": "Correspondentie", "isPrimair": false,
            "naam": "Secretariaat", "adres": {"straatnaam": "Molenstraat", "huisnummer": "12",
            "busnummer": "", "postcode": "9300", "gemeente": "Aalst", "land": "België"}}}),
        )
        .await;
    assert_eq!(accepted(&resp, v).0, 6);
    let (doc, _) = w.detail(v).await;
    let loc = &doc["locaties"][1];
    assert_eq!(loc["locatieId"], 2);
    assert_eq!(loc["adresvoorstelling"], "Molenstraat 12, 9300 Aalst");
    assert_eq!(loc["@type"], "org:Site");
    assert_eq!(loc["adres"]["@type"], "locn:Address");

    let resp = w
        .send(
            Method::PATCH,
            &format!("{v}/locaties/2"),
            Some(6),
            &json!({"locatie": {"adres": {"huisnummer": "14", "busnummer": "b"}}}),
        )
        .await;
    assert_eq!(accepted(&resp, v).0, 7);
    let (doc, _) = w.detail(v).await;
    assert_eq!(
        doc["locaties"][1]["adresvoorstelling"],
        "Molenstraat 14 bus b, 9300 Aalst"
    );

    let resp = w
        .request(Method::DELETE, &format!("{v}/locaties/2"), None)
        .send()
        .await
        .unwrap();
    assert_eq!(accepted(&resp, v).0, 8);

    // stop
    let resp = w
        .send(
            Method::POST,
            &format!("{v}/stop"),
            Some(8),
            &json!({"einddatum": "2025-01-31"}),
        )
        .await;
    let (version, sequence) = accepted(&resp, v);
    assert_eq!(version, 9);
    assert_eq!(sequence, sim.sequence());
    let (doc, etag) = w.detail(v).await;
    assert_eq!(etag, "W/\"9\"");
    assert_eq!(doc["status"], "Gestopt");
    assert_eq!(doc["einddatum"], "2025-01-31");
    assert!(validate_vereniging(&doc).is_ok(), "{doc}");
    assert_eq!(
        w.mutaties(before).await,
        vec![json!({"vCode": v, "sequence": sequence})]
    );

    // every request was recorded
    let writes = sim.writes();
    assert_eq!(writes.len(), 8);
    assert!(writes.iter().all(|w| w.status == 202
        && w.initiator.as_deref() == Some(INITIATOR)
        && w.correlation_id.as_deref() == Some(CORRELATION)));
    assert_eq!(writes[0].method, "PATCH");
    assert_eq!(writes[0].path, "/v1/verenigingen/V0001001");
    assert_eq!(writes[0].if_match.as_deref(), Some("W/\"1\""));
    assert_eq!(writes[0].body.as_ref(), Some(&body));
    assert_eq!(writes[3].method, "DELETE");
    assert_eq!(writes[3].body, None);
    assert_eq!(sim.stats().write_requests, 8);
}

#[tokio::test]
async fn no_op_answers_200_without_headers() {
    let (sim, w) = start().await;
    let before = sim.sequence();
    let resp = w.send(Method::PATCH,
        "V0001001",
        Some(1),
        &json!({"naam": "Chiro Sint-Jozef Aalst", "hoofdactiviteitenVerenigingsloket": ["JGDW"]}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    for h in ["etag", "location", "vr-sequence"] {
        assert!(resp.headers().get(h).is_none(), "{h}");
    }
    assert_eq!(resp.headers()["x-correlation-id"], CORRELATION);
    // the same contact again is refused (duplicate), a stop twice is a no-op
    let stop = json!({"einddatum": "2024-12-31"});
    for expected in [StatusCode::ACCEPTED, StatusCode::OK] {
        let resp = w.send(Method::POST, "V0001001/stop", None, &stop).await;
        assert_eq!(resp.status(), expected);
    }
    assert_eq!(sim.sequence(), before + 1);
    assert_eq!(sim.version("V0001001"), Some(2));
}

#[tokio::test]
async fn stale_if_match_answers_412() {
    let (sim, w) = start().await;
    sim.rename("V0001002", "Elders gewijzigd").unwrap();
    let before = sim.sequence();
    let change = json!({"naam": "Mijn wijziging"});
    let resp = w.send(Method::PATCH, "V0001002", Some(1), &change).await;
    let p = problem(resp, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(p["status"], 412);
    assert_eq!(p["instance"], "/v1/verenigingen/V0001002");
    assert_eq!(sim.sequence(), before);
    assert_eq!(sim.get("V0001002").unwrap()["naam"], "Elders gewijzigd");
    // the current version passes
    let resp = w.send(Method::PATCH, "V0001002", Some(2), &change).await;
    assert_eq!(accepted(&resp, "V0001002").0, 3);
}

#[tokio::test]
async fn validation_lists_every_field_error() {
    let (sim, w) = start().await;
    let before = sim.sequence();
    let resp = w
        .send(
            Method::PATCH,
            "V0001001",
            None,
            &json!({"naam": "", "startdatum": "01-02-2020", "foo": true,
            "doelgroep": {"minimumleeftijd": "zes"},
            "hoofdactiviteitenVerenigingsloket": ["JGDW", "NOPE"],
            "werkingsgebieden": ["XX123"]}),
        )
        .await;
    let p = problem(resp, StatusCode::BAD_REQUEST).await;
    assert_eq!(p["type"], "urn:be.vlaanderen.basisregisters.api:validation");
    assert_eq!(p["title"], "Validatie mislukt");
    assert_eq!(p["status"], 400);
    assert_eq!(p["instance"], "/v1/verenigingen/V0001001");
    assert!(p["detail"].as_str().unwrap().contains('6'), "{p}");
    assert_eq!(
        field_errors(&p),
        pairs(&[
            ("doelgroep.minimumleeftijd", "invalidType"),
            ("foo", "unknownField"),
            ("hoofdactiviteitenVerenigingsloket[1]", "unknownCode"),
            ("naam", "notEmpty"),
            ("startdatum", "invalidFormat"),
            ("werkingsgebieden[0]", "unknownCode"),
        ])
    );

    // the KBO seat of V0001003 is read-only
    let seat = sim.get("V0001003").unwrap()["locaties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["locatietype"] == "Maatschappelijke zetel volgens KBO")
        .unwrap()["locatieId"]
        .clone();
    let kbo_seat = format!("V0001003/locaties/{seat}");
    for (method, path, body, expected) in [
        // contactgegeven: unknown field, bad e-mail; a second primary and a duplicate
        (
            Method::POST,
            "V0001001/contactgegevens",
            json!({"contactgegeven": {"contactgegeventype": "E-mail", "waarde": "geen-mail",
                "foo": 1}}),
            &[
                ("contactgegeven.foo", "unknownField"),
                ("contactgegeven.waarde", "invalidFormat"),
            ][..],
        ),
        (
            Method::POST,
            "V0001001/contactgegevens",
            json!({"contactgegeven": {"contactgegeventype": "E-mail",
                "waarde": "info@chiro-sj.be", "isPrimair": true}}),
            &[
                ("contactgegeven.isPrimair", "multiplePrimary"),
                ("contactgegeven.waarde", "duplicate"),
            ],
        ),
        (
            Method::POST,
            "V0001001/contactgegevens",
            json!({"contactgegeven": {"contactgegeventype": "Fax", "waarde": "1",
                "isPrimair": "ja"}}),
            &[
                ("contactgegeven.contactgegeventype", "unknownCode"),
                ("contactgegeven.isPrimair", "invalidType"),
            ],
        ),
        // locaties: a second Correspondentie (V0001002 has one), bad postcode, unknown type
        (
            Method::POST,
            "V0001002/locaties",
            json!({"locatie": {"locatietype": "Correspondentie", "naam": "",
                "adres": {"straatnaam": "Kerkstraat", "huisnummer": "1", "postcode": "93000",
                          "gemeente": "Aalst", "land": "België"}}}),
            &[
                ("locatie.adres.postcode", "invalidFormat"),
                ("locatie.locatietype", "multipleCorrespondentie"),
            ],
        ),
        (
            Method::PATCH,
            kbo_seat.as_str(),
            json!({"locatie": {"naam": "Zetel"}}),
            &[("locatie", "readOnly")],
        ),
        (
            Method::POST,
            "V0001001/locaties",
            json!({"locatie": {"locatietype": "Maatschappelijke zetel volgens KBO",
                "adres": {"straatnaam": "Kerkstraat", "huisnummer": "1", "postcode": "9300",
                          "gemeente": "Aalst", "land": "België"}}}),
            &[("locatie.locatietype", "notAllowed")],
        ),
        // a stop without einddatum
        (
            Method::POST,
            "V0001001/stop",
            json!({"einde": "2024-01-01"}),
            &[("einddatum", "required"), ("einde", "unknownField")],
        ),
    ] {
        let resp = w.send(method.clone(), path, None, &body).await;
        let p = problem(resp, StatusCode::BAD_REQUEST).await;
        assert_eq!(field_errors(&p), pairs(expected), "{method} {path} {body}");
    }

    // a body that is not JSON
    let resp = w
        .request(Method::PATCH, "V0001001", None)
        .header(CONTENT_TYPE, "application/json")
        .body("{naam:")
        .send()
        .await
        .unwrap();
    let p = problem(resp, StatusCode::BAD_REQUEST).await;
    assert_eq!(field_errors(&p), pairs(&[("request", "invalidJson")]));

    assert_eq!(sim.sequence(), before, "nothing was applied");
    assert!(sim.writes().iter().all(|w| w.status == 400));
}

#[tokio::test]
async fn required_headers_and_token() {
    let (sim, w) = start().await;
    let url = format!("{}/v1/verenigingen/V0001001", sim.base_url());
    let c = Client::new();
    let body = json!({"naam": "x"});

    let resp = c
        .patch(&url)
        .bearer_auth(&w.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.headers().get("x-correlation-id").is_none());
    let p: Value = resp.json().await.unwrap();
    assert_eq!(
        field_errors(&p),
        pairs(&[
            ("VR-Initiator", "required"),
            ("X-Correlation-Id", "required")
        ])
    );

    let resp = c
        .patch(&url)
        .bearer_auth(&w.token)
        .header("VR-Initiator", "OVO12")
        .header("X-Correlation-Id", "not-a-guid")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(resp.headers()["x-correlation-id"], "not-a-guid");
    let p: Value = resp.json().await.unwrap();
    assert_eq!(
        field_errors(&p),
        pairs(&[
            ("VR-Initiator", "invalidFormat"),
            ("X-Correlation-Id", "invalidFormat")
        ])
    );

    // no token: 401, still echoing the correlation id
    let resp = c
        .patch(&url)
        .header("VR-Initiator", INITIATOR)
        .header("X-Correlation-Id", CORRELATION)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(resp.headers()["x-correlation-id"], CORRELATION);
    assert_eq!(sim.stats().unauthorized, 1);
    assert_eq!(sim.version("V0001001"), Some(1));
    let statuses: Vec<u16> = sim.writes().iter().map(|w| w.status).collect();
    assert_eq!(statuses, [400, 400, 401]);
    assert_eq!(sim.stats().detail_requests, 0);
}

#[tokio::test]
async fn unknown_association_or_entity_answers_404() {
    let (sim, w) = start().await;
    sim.remove("V0001005").unwrap();
    let before = sim.sequence();
    for (method, path) in [
        (Method::PATCH, "V0009999"),
        (Method::PATCH, "V0001005"),
        (Method::PATCH, "X123"),
        (Method::POST, "V0009999/stop"),
        (Method::PATCH, "V0001001/contactgegevens/99"),
        (Method::DELETE, "V0001001/contactgegevens/99"),
        (Method::DELETE, "V0001001/contactgegevens/abc"),
        (Method::PATCH, "V0001001/locaties/99"),
        (Method::DELETE, "V0001001/locaties/99"),
    ] {
        let body = match path {
            p if p.ends_with("stop") => json!({"einddatum": "2024-01-01"}),
            p if p.contains("contactgegevens") => json!({"contactgegeven": {"waarde": "a@b.be"}}),
            p if p.contains("locaties") => json!({"locatie": {"naam": "x"}}),
            _ => json!({"naam": "x"}),
        };
        let resp = w.send(method.clone(), path, None, &body).await;
        let p = problem(resp, StatusCode::NOT_FOUND).await;
        assert_eq!(p["status"], 404, "{method} {path}");
    }
    assert_eq!(sim.sequence(), before);
}

#[tokio::test]
async fn delayed_answer_after_the_change_is_applied() {
    let (sim, w) = start().await;
    sim.delay_write_answers(Duration::from_millis(600));
    let client = Client::builder()
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client
        .patch(format!("{}/v1/verenigingen/V0001004", sim.base_url()))
        .bearer_auth(&w.token)
        .header("VR-Initiator", INITIATOR)
        .header("X-Correlation-Id", CORRELATION)
        .json(&json!({"naam": "Gewijzigd voor de time-out"}))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_millis(550));
    // committed although the client saw a timeout
    assert_eq!(
        sim.get("V0001004").unwrap()["naam"],
        "Gewijzigd voor de time-out"
    );
    assert_eq!(sim.version("V0001004"), Some(2));
    assert_eq!(sim.writes()[0].status, 202);

    // a patient client gets the 202, late
    let short = json!({"korteNaam": "GVT"});
    let started = Instant::now();
    let resp = w.send(Method::PATCH, "V0001004", Some(2), &short).await;
    assert!(started.elapsed() >= Duration::from_millis(550));
    assert_eq!(accepted(&resp, "V0001004").0, 3);

    sim.delay_write_answers(Duration::ZERO);
    let shorter = json!({"korteNaam": "G"});
    let started = Instant::now();
    let resp = w.send(Method::PATCH, "V0001004", Some(3), &shorter).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn injected_write_faults_are_not_applied() {
    let (sim, w) = start().await;
    sim.fail_writes(2, 503);
    let rename = json!({"naam": "Na de storing"});
    for _ in 0..2 {
        let resp = w.send(Method::PATCH, "V0001006", None, &rename).await;
        problem(resp, StatusCode::SERVICE_UNAVAILABLE).await;
    }
    assert_eq!(sim.version("V0001006"), Some(1));
    // reads are not affected by write faults, writes not by read faults
    w.detail("V0001006").await;
    sim.fail_next(1, 500);
    let resp = w.send(Method::PATCH, "V0001006", None, &rename).await;
    assert_eq!(accepted(&resp, "V0001006").0, 2);
    sim.fail_next(0, 500);
    let statuses: Vec<u16> = sim.writes().iter().map(|w| w.status).collect();
    assert_eq!(statuses, [503, 503, 202]);
    assert_eq!(sim.stats().faults_served, 2);
    sim.clear_writes();
    assert!(sim.writes().is_empty());
}

#[tokio::test]
async fn control_api_for_writes() {
    let (sim, w) = start().await;
    let c = Client::new();
    let base = sim.base_url();
    let stop = json!({"einddatum": "2024-01-01"});
    let (faults, delay) = (
        format!("{base}/_sim/write-faults"),
        format!("{base}/_sim/write-delay"),
    );
    let resp = post_json(&c, &faults, &json!({"status": 500, "count": 1})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let resp = w.send(Method::POST, "V0001001/stop", None, &stop).await;
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let resp = post_json(&c, &faults, &json!({"status": 1000, "count": 1})).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    let resp = post_json(&c, &delay, &json!({"millis": 300})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let started = Instant::now();
    let resp = w.send(Method::POST, "V0001001/stop", None, &stop).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert!(started.elapsed() >= Duration::from_millis(250));
    post_json(&c, &delay, &json!({"millis": 0})).await;

    let writes: Vec<Value> = get_json(&c, format!("{base}/_sim/writes")).await;
    assert_eq!(writes.len(), 2);
    assert_eq!(writes[0]["status"], 500);
    assert_eq!(writes[1]["status"], 202);
    assert_eq!(writes[1]["method"], "POST");
    assert_eq!(writes[1]["path"], "/v1/verenigingen/V0001001/stop");
    assert_eq!(writes[1]["initiator"], INITIATOR);
    assert_eq!(writes[1]["correlation_id"], CORRELATION);
    assert_eq!(writes[1]["if_match"], Value::Null);
    assert_eq!(writes[1]["body"], stop);
    let cleared = c.delete(format!("{base}/_sim/writes")).send().await;
    assert_eq!(cleared.unwrap().status(), StatusCode::OK);
    assert!(sim.writes().is_empty());
    let stats: Value = get_json(&c, format!("{base}/_sim/stats")).await;
    assert_eq!(stats["write_requests"], 2);
}
