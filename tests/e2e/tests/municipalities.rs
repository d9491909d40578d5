//! The pilot municipalities end to end: territory routing with entered/left notices, data
//! minimisation (JSON and SOAP), the MAGDA-style SOAP channel against a back-office simulator
//! that validates every message against the XSD, and corrections sent back to the register.
//! Real RabbitMQ and PostgreSQL; each test has its own vhost and database.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use hub_tests::*;
use partner_sims::backoffice::{BackOfficeSim, BackOfficeSimConfig};
use serde_json::{json, Value};

const SYNC: Duration = Duration::from_secs(60);
const QUIET: Duration = Duration::from_millis(1500);

/// The default configuration's three municipalities, plus a generic subscriber that gets
/// everything (to see corrections reach "the other subscribers").
const WITH_OBSERVER: &str = r#"
[[subscribers]]
name = "observer"
selector = { kind = "all" }
"#;

/// Beveren on the SOAP channel at `url`; Evergem granted the INSZ.
fn pilot_with_soap(url: &str) -> String {
    format!(
        r#"
[[municipalities]]
name = "aalst"
ovo_code = "OVO002001"
territory = {{ postcodes = ["9300", "9308", "9310", "9320"] }}

[[municipalities]]
name = "evergem"
ovo_code = "OVO002002"
territory = {{ postcodes = ["9940"] }}
fields = {{ insz = true }}

[[municipalities]]
name = "beveren"
ovo_code = "OVO002003"
territory = {{ postcodes = ["9120", "9130", "9150", "2070"] }}
channel = {{ kind = "soap", url = "{url}", timeout = "2s" }}
retry = {{ base = "100ms", cap = "400ms", max_attempts = 6 }}
"#
    )
}

struct Pilot {
    iso: Isolation,
    register: RegisterSim,
    hub: TestHub,
    reader: QueueReader,
}

impl Pilot {
    async fn start(toml: &str) -> Pilot {
        Pilot::start_with(toml, &[]).await
    }

    async fn start_with(toml: &str, extra: &[(&str, &str)]) -> Pilot {
        let (iso, register, hub, reader) = start_synced(Some(toml), extra, SYNC).await;
        Pilot {
            iso,
            register,
            hub,
            reader,
        }
    }

    async fn take(&self, queue: &str, n: usize) -> Vec<Received> {
        self.reader.take_at_least(queue, n, SYNC, QUIET).await
    }

    async fn stop(self) {
        self.hub.stop().await;
        self.register.shutdown();
        self.iso.cleanup().await;
    }
}

fn v_codes(messages: &[Received]) -> Vec<String> {
    let mut v: Vec<String> = messages.iter().map(|m| m.v_code().to_owned()).collect();
    v.sort();
    v
}

/// Every INSZ the simulator's associations carry.
fn every_insz(register: &RegisterSim) -> Vec<String> {
    let mut out = Vec::new();
    for v in register.vcodes() {
        let doc = register.get(&v).unwrap();
        for rep in doc["vertegenwoordigers"].as_array().into_iter().flatten() {
            if let Some(insz) = rep["insz"].as_str().filter(|s| !s.is_empty()) {
                out.push(insz.to_owned());
            }
        }
    }
    out
}

/// No INSZ value, in any notation, anywhere in `text`.
fn assert_no_insz(text: &str, insz: &[String], what: &str) {
    let digits: String = text.chars().filter(|c| c.is_ascii_digit()).collect();
    for value in insz {
        assert!(
            !text.contains(value.as_str()) && !digits.contains(value.as_str()),
            "{what} carries an INSZ"
        );
    }
    assert!(!text.contains("\"insz\""), "{what} has an insz key");
    assert!(!text.contains("<insz>"), "{what} has an insz element");
}

/// An association whose only location is in Aalst (and on no other pilot territory).
fn aalst_only_single_location(register: &RegisterSim) -> String {
    aalst_only(register)
        .into_iter()
        .find(|v| {
            let doc = register.get(v).unwrap();
            doc["locaties"].as_array().map(Vec::len) == Some(1)
        })
        .expect("the seed has an association with one location, in Aalst only")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_municipality_receives_its_territory_and_crossing_notices() {
    let pilot = Pilot::start(WITH_OBSERVER).await;
    let register = &pilot.register;
    for (name, postcodes) in [("aalst", AALST), ("evergem", EVERGEM), ("beveren", BEVEREN)] {
        let expected = expected_on(register, postcodes);
        let got = pilot
            .take(&format!("subscriber.{name}"), expected.len())
            .await;
        assert_eq!(
            v_codes(&got),
            expected,
            "{name} receives exactly the associations on its territory, once each"
        );
        for m in &got {
            assert_eq!(m.message_type, "association.changed");
            assert_valid(m);
        }
    }
    let everything = pilot
        .take("subscriber.observer", register.vcodes().len())
        .await;
    assert_eq!(everything.len(), register.vcodes().len());

    // Move the association's only location from Aalst to Evergem.
    let v_code = aalst_only_single_location(register);
    let mut locaties = register.get(&v_code).unwrap()["locaties"].clone();
    locaties[0]["adres"]["postcode"] = json!("9940");
    locaties[0]["adres"]["gemeente"] = json!("Evergem");
    let sequence = register
        .patch(&v_code, json!({ "locaties": locaties }))
        .unwrap();

    let aalst = pilot.take("subscriber.aalst", 1).await;
    assert_eq!(aalst.len(), 1, "{aalst:?}");
    let left = &aalst[0];
    assert_eq!(left.message_type, "association.left-territory");
    assert_valid(left);
    assert_eq!(left.v_code(), v_code);
    assert_eq!(left.sequence(), sequence);
    assert_eq!(left.body["territory"], "aalst");
    assert!(
        left.body.get("vereniging").is_none(),
        "a left notice has no association data"
    );
    let naam = register.get(&v_code).unwrap()["naam"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!left.raw.contains(&naam), "not even the name");

    let evergem = pilot.take("subscriber.evergem", 2).await;
    assert_eq!(
        message_types(&evergem),
        ["association.entered-territory", "association.changed"],
        "the notice, then the snapshot"
    );
    for m in &evergem {
        assert_valid(m);
        assert_eq!(m.v_code(), v_code);
        assert_eq!(m.sequence(), sequence);
    }
    assert_eq!(evergem[0].body["territory"], "evergem");
    assert_eq!(
        evergem[1].body["vereniging"]["locaties"][0]["adres"]["postcode"],
        "9940"
    );
    assert_eq!(
        evergem[0].body["metadata"]["correlationId"],
        evergem[1].body["metadata"]["correlationId"]
    );
    assert!(pilot.take("subscriber.beveren", 0).await.is_empty());

    // Moving it back: the reverse notices, nothing twice.
    let mut back = locaties.clone();
    back[0]["adres"]["postcode"] = json!("9300");
    back[0]["adres"]["gemeente"] = json!("Aalst");
    register
        .patch(&v_code, json!({ "locaties": back }))
        .unwrap();
    let evergem = pilot.take("subscriber.evergem", 1).await;
    assert_eq!(message_types(&evergem), ["association.left-territory"]);
    let aalst = pilot.take("subscriber.aalst", 2).await;
    assert_eq!(
        message_types(&aalst),
        ["association.entered-territory", "association.changed"]
    );
    pilot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_soap_municipality_gets_valid_publications_fout_dead_letters_throttling_retries() {
    let backoffice = BackOfficeSim::start(BackOfficeSimConfig::default(), "127.0.0.1:0")
        .await
        .unwrap();
    // The first three calls are throttled: retried, then delivered.
    backoffice.throttle_next(3);
    let register = start_register().await;
    let on_beveren = expected_on(&register, BEVEREN);
    let poison = on_beveren[0].clone();
    backoffice.fout_when_body_contains(
        &format!("<VCode>{poison}</VCode>"),
        "40046",
        "Vereniging onbekend in het lokale register",
    );
    register.shutdown();

    let pilot = Pilot::start(&pilot_with_soap(&backoffice.url())).await;
    let register = &pilot.register;
    let want: BTreeSet<String> = on_beveren.iter().cloned().collect();
    eventually(
        SYNC,
        "beveren's associations accepted over SOAP",
        || async {
            let accepted: BTreeSet<String> = backoffice
                .accepted()
                .iter()
                .filter_map(|r| r.v_code.clone())
                .collect();
            accepted.len() == want.len() - 1
        },
    )
    .await;
    let requests = backoffice.requests();
    assert!(
        requests.iter().all(|r| r.valid),
        "every SOAP message validates against the XSD: {:?}",
        requests
            .iter()
            .filter(|r| !r.valid)
            .map(|r| &r.errors)
            .collect::<Vec<_>>()
    );
    let accepted: BTreeSet<String> = backoffice
        .accepted()
        .iter()
        .filter_map(|r| r.v_code.clone())
        .collect();
    let mut expected = want.clone();
    expected.remove(&poison);
    assert_eq!(accepted, expected, "beveren's territory, the poison aside");
    assert!(
        backoffice.accepted().len() == expected.len(),
        "each accepted once"
    );

    // FOUT: dead-lettered at once, with the diagnosis.
    let (_queue, failure, last_error): (String, String, String) = one_row_within(
        &pilot.iso,
        "SELECT queue, failure, last_error FROM dead_letter WHERE queue = 'hub.deliver.beveren'",
        Duration::from_secs(20),
    )
    .await;
    assert_eq!(failure, "permanent");
    assert!(last_error.contains("40046"), "{last_error}");
    assert!(
        last_error.contains("Vereniging onbekend"),
        "the diagnosis is kept: {last_error}"
    );
    let poison_refused = requests
        .iter()
        .filter(|r| r.v_code.as_deref() == Some(poison.as_str()) && r.answer.is_fout())
        .count();
    assert_eq!(poison_refused, 1, "a FOUT is not retried");
    assert!(
        pilot
            .hub
            .metric("hub_retries_total{adapter=\"beveren\"}")
            .await
            >= 3.0
    );

    // No INSZ in any XML.
    let insz = every_insz(register);
    for r in &requests {
        assert_no_insz(&r.body, &insz, "a SOAP publication to beveren");
    }
    pilot.stop().await;
    backoffice.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_insz_reaches_a_municipality_without_the_grant() {
    let backoffice = BackOfficeSim::start(BackOfficeSimConfig::default(), "127.0.0.1:0")
        .await
        .unwrap();
    let pilot = Pilot::start(&pilot_with_soap(&backoffice.url())).await;
    let register = &pilot.register;
    let insz = every_insz(register);
    assert!(
        !insz.is_empty(),
        "the seed has representatives with an INSZ"
    );

    // A change to every association's representatives, so every municipality gets
    // snapshots with representatives after the initial sync too.
    for v in register.vcodes() {
        let doc = register.get(&v).unwrap();
        if doc["vertegenwoordigers"]
            .as_array()
            .is_some_and(|r| !r.is_empty())
        {
            register
                .patch(&v, json!({ "korteBeschrijving": "Bijgewerkt" }))
                .unwrap();
        }
    }
    let aalst = pilot
        .take("subscriber.aalst", expected_on(register, AALST).len())
        .await;
    assert!(!aalst.is_empty());
    for m in &aalst {
        assert_no_insz(&m.raw, &insz, "a message to aalst");
    }
    // Evergem has the grant: its messages do carry the INSZ of its associations.
    let evergem = pilot
        .take("subscriber.evergem", expected_on(register, EVERGEM).len())
        .await;
    assert!(
        evergem
            .iter()
            .any(|m| insz.iter().any(|i| m.raw.contains(i.as_str()))),
        "the granted municipality gets the INSZ (so the check above can fail)"
    );
    eventually(SYNC, "beveren's publications", || async {
        backoffice.accepted().len() >= expected_on(register, BEVEREN).len()
    })
    .await;
    for r in backoffice.requests() {
        assert_no_insz(&r.body, &insz, "a SOAP publication to beveren");
    }
    pilot.stop().await;
    backoffice.shutdown();
}

// ---------------------------------------------------------------------------------------
// Corrections: municipality → hub → register
// ---------------------------------------------------------------------------------------

fn command(command_id: &str, v_code: &str, kind: &str, data: Value) -> Value {
    json!({ "commandId": command_id, "type": kind, "vCode": v_code, "data": data })
}

/// A [`command`] with a new command id.
fn new_command(v_code: &str, kind: &str, data: Value) -> Value {
    command(&uuid::Uuid::new_v4().to_string(), v_code, kind, data)
}

async fn send(pilot: &Pilot, municipality: &str, body: &Value) {
    let kind = body["type"].as_str().unwrap_or("unknown");
    publish_raw(
        &pilot.iso,
        "hub.commands",
        &format!("{municipality}.{kind}"),
        kind,
        &uuid::Uuid::new_v4().to_string(),
        &serde_json::to_vec(body).unwrap(),
    )
    .await;
}

async fn reply(pilot: &Pilot, municipality: &str) -> Value {
    let replies = pilot
        .take(&format!("municipality.{municipality}.replies"), 1)
        .await;
    assert_eq!(replies.len(), 1, "one reply: {replies:?}");
    assert_eq!(replies[0].message_type, "municipality.reply");
    replies[0].body.clone()
}

/// Sends `body` as `municipality`'s command and takes its one reply.
async fn ask(pilot: &Pilot, municipality: &str, body: &Value) -> Value {
    send(pilot, municipality, body).await;
    reply(pilot, municipality).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_from_aalst_reaches_the_register_and_comes_back_through_the_feed() {
    let pilot = Pilot::start(WITH_OBSERVER).await;
    let register = &pilot.register;
    let v_code = aalst_only_single_location(register);
    let initial = pilot
        .take("subscriber.observer", register.vcodes().len())
        .await;
    assert_eq!(initial.len(), register.vcodes().len());
    pilot
        .take("subscriber.aalst", expected_on(register, AALST).len())
        .await;
    let version = register.version(&v_code).unwrap();

    // Accepted: applied in the register with Aalst as initiator.
    let id = uuid::Uuid::new_v4().to_string();
    let add = command(
        &id,
        &v_code,
        "association.add-contactgegeven",
        json!({ "contactgegeventype": "E-mail", "waarde": "secretariaat@vereniging-aalst.be" }),
    );
    let answer = ask(&pilot, "aalst", &add).await;
    assert_eq!(answer["outcome"], "accepted", "{answer}");
    assert_eq!(answer["commandId"], id.as_str());
    let new_version = register.version(&v_code).unwrap();
    assert_eq!(answer["version"], new_version);
    assert!(new_version > version);
    let writes = register.writes();
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].initiator.as_deref(), Some("OVO002001"));
    assert_eq!(
        writes[0].if_match.as_deref(),
        Some(format!("W/\"{version}\"").as_str())
    );
    let contacts = register.get(&v_code).unwrap()["contactgegevens"].clone();
    assert!(contacts
        .to_string()
        .contains("secretariaat@vereniging-aalst.be"));

    // ... and comes back through the change feed to the other subscribers.
    let observed = pilot.take("subscriber.observer", 1).await;
    assert_eq!(observed.len(), 1);
    assert_eq!(observed[0].v_code(), v_code);
    assert!(observed[0].raw.contains("secretariaat@vereniging-aalst.be"));
    assert_eq!(observed[0].body["changedParts"], json!(["contactgegevens"]));
    let aalst = pilot.take("subscriber.aalst", 1).await;
    assert_eq!(aalst.len(), 1);

    // The same command again: the stored reply, no second write.
    let again = ask(&pilot, "aalst", &add).await;
    assert_eq!(again, answer, "a duplicate gets the same reply");
    assert_eq!(register.writes().len(), 1, "and has no second effect");

    // A stale If-Match: conflicted, nothing changed.
    let mut stale = new_command(
        &v_code,
        "association.change-basisgegevens",
        json!({ "korteNaam": "Oud" }),
    );
    stale["expectedVersion"] = json!(version);
    let answer = ask(&pilot, "aalst", &stale).await;
    assert_eq!(answer["outcome"], "conflicted", "{answer}");
    assert_eq!(register.version(&v_code), Some(new_version));

    // A malformed e-mail: rejected with the field error, never sent to the register.
    let writes_before = register.writes().len();
    let bad = new_command(
        &v_code,
        "association.add-contactgegeven",
        json!({ "contactgegeventype": "E-mail", "waarde": "not-an-email" }),
    );
    let answer = ask(&pilot, "aalst", &bad).await;
    assert_eq!(answer["outcome"], "rejected", "{answer}");
    let fields = strings_at(&answer["errors"], "field");
    assert_eq!(fields, ["data.waarde"], "{answer}");
    // Several errors at once: bad vCode, unknown field, wrong type.
    let worse = json!({
        "commandId": uuid::Uuid::new_v4().to_string(),
        "type": "association.change-basisgegevens",
        "vCode": "X123",
        "data": { "naam": 42, "kleur": "blauw" }
    });
    let answer = ask(&pilot, "aalst", &worse).await;
    assert_eq!(answer["outcome"], "rejected", "{answer}");
    let fields: BTreeSet<&str> = strings_at(&answer["errors"], "field").into_iter().collect();
    for f in ["vCode", "data.naam", "data.kleur"] {
        assert!(fields.contains(f), "{f} missing in {answer}");
    }
    assert_eq!(
        register.writes().len(),
        writes_before,
        "nothing reached the register"
    );

    pilot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_retried_after_a_timeout_is_applied_once() {
    let pilot = Pilot::start_with(WITH_OBSERVER, &[("register.timeout", "1s")]).await;
    let register = &pilot.register;
    let v_code = aalst_only_single_location(register);
    // The register applies the first write, then answers after the hub gave up waiting.
    register.delay_write_answers(Duration::from_secs(3));
    let add = new_command(
        &v_code,
        "association.add-contactgegeven",
        json!({ "contactgegeventype": "Telefoon", "waarde": "053 12 34 56" }),
    );
    send(&pilot, "aalst", &add).await;
    eventually(SYNC, "the first attempt reached the register", || async {
        !register.writes().is_empty()
    })
    .await;
    register.delay_write_answers(Duration::ZERO);
    let answer = reply(&pilot, "aalst").await;
    assert_eq!(answer["outcome"], "accepted", "{answer}");
    let writes = register.writes();
    assert!(writes.len() >= 2, "the hub retried: {}", writes.len());
    let phones = register.get(&v_code).unwrap()["contactgegevens"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["waarde"] == "053 12 34 56")
        .count();
    assert_eq!(phones, 1, "applied once");
    assert_eq!(answer["version"], register.version(&v_code).unwrap());
    pilot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_soap_channel_presents_its_client_certificate() {
    let pki = partner_sims::test_pki();
    let backoffice = BackOfficeSim::start_tls(
        BackOfficeSimConfig::default(),
        "127.0.0.1:0",
        pki.server_tls(),
    )
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(format!("hub-mtls-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, pem: &str| {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path.display().to_string()
    };
    let certificate = file("client.pem", &pki.client_cert_pem);
    let key = file("client.key", &pki.client_key_pem);
    let ca = file("ca.pem", &pki.ca_pem);
    let toml = format!(
        r#"
services = []

[[municipalities]]
name = "beveren"
ovo_code = "OVO002003"
territory = {{ postcodes = ["9120", "9130", "9150", "2070"] }}
channel = {{ kind = "soap", url = "{}", tls = {{ certificate = "{certificate}", private_key = "{key}", ca = "{ca}" }} }}
"#,
        backoffice.url()
    );
    assert!(backoffice.url().starts_with("https://"));
    let pilot = Pilot::start(&toml).await;
    let want = expected_on(&pilot.register, BEVEREN).len();
    eventually(
        SYNC,
        "beveren's associations accepted over mutual TLS",
        || async { backoffice.accepted().len() == want },
    )
    .await;
    for r in backoffice.requests() {
        assert!(r.valid, "{:?}", r.errors);
        assert_eq!(r.client_cn.as_deref(), Some(pki.client_cn.as_str()));
    }
    assert_eq!(backoffice.rejected_handshakes(), 0);
    pilot.stop().await;
    backoffice.shutdown();
    let _ = std::fs::remove_dir_all(dir);
}
