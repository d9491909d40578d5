//! Service applications end to end: the loket submits (HTTP or RabbitMQ), the hub checks
//! eligibility, enriches from the projection and hands the application to KIOSK (SOAP), ULDK
//! (REST) or the volunteer insurance (MAGDA-style SOAP), whose simulators validate what they
//! receive and decide; every status change reaches the loket's queue and the association's
//! history. Real RabbitMQ and PostgreSQL; each test has its own vhost and database.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use hub_tests::*;
use partner_sims::insurance::{InsuranceSim, InsuranceSimConfig};
use partner_sims::kiosk::{KioskSim, KioskSimConfig};
use partner_sims::uldk::{UldkSim, UldkSimConfig};
use serde_json::{json, Value};

const SYNC: Duration = Duration::from_secs(60);
const QUIET: Duration = Duration::from_millis(800);

/// V0001001: a feitelijke vereniging doing youth work (JGDW) in Aalst.
const YOUTH_CLUB: &str = "V0001001";
/// V0001002: a VZER doing youth work, with a correspondence address (the insurance needs a
/// seat or correspondence address in the Dutch language area or Brussels).
const YOUTH_CLUB_WITH_ADDRESS: &str = "V0001002";
/// V0001003: a VZW sports club (SPRT) in Aalst.
const SPORTS_CLUB: &str = "V0001003";
/// V0001004: a feitelijke vereniging for arts and hobbies (KECU, HOSP).
const ARTS_CLUB: &str = "V0001004";

struct Partners {
    kiosk: KioskSim,
    uldk: UldkSim,
    insurance: InsuranceSim,
}

impl Partners {
    async fn start() -> Partners {
        let fast = Duration::from_millis(300);
        let kiosk = KioskSim::start(
            KioskSimConfig {
                treatment_after: fast,
                decision_after: fast * 2,
                ..KioskSimConfig::default()
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let uldk = UldkSim::start(
            UldkSimConfig {
                treatment_after: fast,
                decision_after: fast * 2,
                ..UldkSimConfig::default()
            },
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let insurance = InsuranceSim::start(
            InsuranceSimConfig {
                decision_delay: Duration::from_millis(50),
                ..InsuranceSimConfig::default()
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        Partners {
            kiosk,
            uldk,
            insurance,
        }
    }

    /// The catalogue and the providers, without periods (so the tests hold on any date).
    fn config(&self) -> String {
        format!(
            r#"
[applications]
poll_interval = "200ms"

[providers.kiosk]
kind = "kiosk"
url = "{kiosk}"
timeout = "2s"

[providers.uldk]
kind = "uldk"
url = "{uldk}"
timeout = "2s"

[providers.insurance]
kind = "insurance"
url = "{insurance}"
timeout = "2s"

{tentlening}

[[services]]
code = "kiosk-projectsubsidie"
name = "Projectsubsidie"
provider = "kiosk"
data = ["basisgegevens", "locaties", "contactgegevens"]
fields = [
  {{ name = "projectnaam", type = "string", required = true }},
  {{ name = "gevraagdBedrag", type = "number", required = true }},
  {{ name = "begindatum", type = "date", required = true }},
  {{ name = "einddatum", type = "date", required = true }},
  {{ name = "omschrijving", type = "string", required = false }},
]

[[services]]
code = "vrijwilligersverzekering"
name = "Gratis vrijwilligersverzekering"
provider = "insurance"
data = ["basisgegevens", "locaties", "contactgegevens"]
eligibility = {{ verenigingstypes = ["FV", "VZER", "VZW"] }}
fields = [
  {{ name = "aantalVrijwilligers", type = "integer", required = true }},
  {{ name = "betaaldPersoneel", type = "boolean", required = true }},
  {{ name = "geschatteUren", type = "integer", required = true }},
]
"#,
            tentlening = ULDK_TENTLENING,
            kiosk = self.kiosk.url(),
            uldk = self.uldk.base_url(),
            insurance = self.insurance.url(),
        )
    }

    fn shutdown(&self) {
        self.kiosk.shutdown();
        self.uldk.shutdown();
        self.insurance.shutdown();
    }
}

struct Loket {
    iso: Isolation,
    register: RegisterSim,
    hub: TestHub,
    reader: QueueReader,
    partners: Partners,
    http: reqwest::Client,
    /// Every status change taken off `loket.applications` so far.
    seen: std::sync::Mutex<Vec<Value>>,
}

impl Loket {
    /// No municipalities; the providers on their simulators.
    async fn start() -> Loket {
        Self::start_with(|partners| format!("municipalities = []\n{}", partners.config())).await
    }

    /// A hub configured by `config` (given the simulators), synced with the register.
    async fn start_with(config: impl FnOnce(&Partners) -> String) -> Loket {
        init_logs();
        let partners = Partners::start().await;
        let toml = config(&partners);
        let (iso, register, hub, reader) = start_synced(Some(&toml), &[], SYNC).await;
        Loket {
            iso,
            register,
            hub,
            reader,
            partners,
            http: reqwest::Client::new(),
            seen: std::sync::Mutex::new(Vec::new()),
        }
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.hub.post_json(&self.http, path, body).await
    }

    async fn get(&self, path: &str) -> Value {
        self.hub.get_json(path).await
    }

    /// Submits `application` over HTTP (`POST /applications`), asserts it was accepted (202)
    /// and returns the answer.
    async fn submit(&self, application: &Value) -> Value {
        let (status, answer) = self.post("/applications", application).await;
        assert_eq!(status, 202, "{answer}");
        answer
    }

    /// Submits application `id` over RabbitMQ (`hub.applications`), as the loket's
    /// `application.submitted` with its metadata.
    async fn submit_over_amqp(&self, id: &str, application: &Value) {
        publish_raw(
            &self.iso,
            "hub.applications",
            "application.submitted",
            "application.submitted",
            &uuid::Uuid::new_v4().to_string(),
            &serde_json::to_vec(&as_submitted(id, application)).unwrap(),
        )
        .await;
    }

    /// Status changes on the loket's queue for one application, in arrival order.
    async fn statuses(&self, id: &str, at_least: usize) -> Vec<Value> {
        let mine = |seen: &[Value]| -> Vec<Value> {
            seen.iter()
                .filter(|m| m["applicationId"] == id)
                .cloned()
                .collect()
        };
        let deadline = tokio::time::Instant::now() + SYNC;
        loop {
            let got = mine(&self.seen.lock().unwrap());
            if got.len() >= at_least || tokio::time::Instant::now() > deadline {
                // A little longer, for what follows.
                let more = self.reader.drain("loket.applications", QUIET).await;
                self.seen
                    .lock()
                    .unwrap()
                    .extend(more.into_iter().map(|m| m.body));
                return mine(&self.seen.lock().unwrap());
            }
            for m in self.reader.drain("loket.applications", QUIET).await {
                assert_eq!(m.message_type, "application.status-changed");
                self.seen.lock().unwrap().push(m.body);
            }
        }
    }

    async fn application_rows(&self) -> i64 {
        let mut db = self.iso.db().await;
        sqlx::query_scalar("SELECT count(*) FROM application")
            .fetch_one(&mut db)
            .await
            .unwrap()
    }

    async fn stop(self) {
        self.hub.stop().await;
        self.register.shutdown();
        self.partners.shutdown();
        self.iso.cleanup().await;
    }
}

fn applicant() -> Value {
    json!({ "voornaam": "An", "achternaam": "Peeters", "e-mail": "an.peeters@example.be" })
}

fn uldk_fields() -> Value {
    json!({
        "periode": { "van": "2027-07-10", "tot": "2027-07-20" },
        "tenten": [{ "type": "seniortent", "aantal": 3 }, { "type": "patrouilletent", "aantal": 2 }],
        "aantalLeden": 34,
        "ophaling": { "datum": "2027-07-08", "plaats": "Gent" }
    })
}

fn kiosk_fields(amount: f64) -> Value {
    json!({
        "projectnaam": "Zomerkamp 2027",
        "gevraagdBedrag": amount,
        "begindatum": "2027-07-01",
        "einddatum": "2027-07-31",
        "omschrijving": "Kamp voor 34 leden"
    })
}

fn insurance_fields(paid_staff: bool) -> Value {
    json!({ "aantalVrijwilligers": 12, "betaaldPersoneel": paid_staff, "geschatteUren": 600 })
}

fn application(v_code: &str, service: &str, fields: Value) -> (String, Value) {
    let id = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "applicationId": id,
        "vCode": v_code,
        "serviceCode": service,
        "applicant": applicant(),
        "fields": fields,
    });
    (id, body)
}

fn status_names(changes: &[Value]) -> Vec<String> {
    changes
        .iter()
        .map(|c| c["status"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Every status change validates against its schema.
fn assert_valid_changes(changes: &[Value]) {
    let schema: Value =
        serde_json::from_str(contracts::applications::STATUS_CHANGED_SCHEMA).unwrap();
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    for c in changes {
        let errors: Vec<String> = validator.iter_errors(c).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{c}: {errors:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_provider_gets_the_application_in_its_format_and_its_decision_returns() {
    let loket = Loket::start().await;

    // ULDK over RabbitMQ, KIOSK and the insurance over HTTP.
    let (uldk_id, uldk) = application(YOUTH_CLUB, "uldk-tentlening", uldk_fields());
    loket.submit_over_amqp(&uldk_id, &uldk).await;
    let (kiosk_id, kiosk) = application(ARTS_CLUB, "kiosk-projectsubsidie", kiosk_fields(1500.0));
    let answer = loket.submit(&kiosk).await;
    assert_eq!(answer["location"], format!("/applications/{kiosk_id}"));
    let (insurance_id, insurance) = application(
        YOUTH_CLUB_WITH_ADDRESS,
        "vrijwilligersverzekering",
        insurance_fields(false),
    );
    loket.submit(&insurance).await;

    for (id, provider) in [
        (&uldk_id, "uldk"),
        (&kiosk_id, "kiosk"),
        (&insurance_id, "insurance"),
    ] {
        let changes = loket.statuses(id, 3).await;
        let names = status_names(&changes);
        assert_eq!(
            names.first().map(String::as_str),
            Some("ingediend"),
            "{provider}"
        );
        assert_eq!(
            names.last().map(String::as_str),
            Some("goedgekeurd"),
            "{provider}: {names:?}"
        );
        assert!(
            names.contains(&"ontvangen".to_owned()),
            "{provider}: {names:?}"
        );
        assert_valid_changes(&changes);
        let reference = changes
            .iter()
            .find_map(|c| c["providerReference"].as_str())
            .unwrap_or_default()
            .to_owned();
        assert!(!reference.is_empty(), "{provider} gave a reference");

        let app = loket.get(&format!("/applications/{id}")).await;
        assert_eq!(app["status"], "goedgekeurd", "{app}");
        assert_eq!(app["providerReference"], reference.as_str());
        assert_eq!(
            timeline(&app),
            names,
            "the timeline is what the loket was told"
        );
    }

    // Each provider received exactly one valid submission in its own format, without INSZ.
    let kiosk_in = loket.partners.kiosk.submissions();
    assert_eq!(kiosk_in.len(), 1);
    assert!(loket.partners.kiosk.requests().iter().all(|r| r.valid));
    let uldk_in = loket.partners.uldk.submissions();
    assert_eq!(uldk_in.len(), 1);
    assert!(loket.partners.uldk.requests().iter().all(|r| r.valid));
    let insurance_in = loket.partners.insurance.submissions();
    assert_eq!(insurance_in.len(), 1);
    assert!(loket.partners.insurance.requests().iter().all(|r| r.valid));
    for body in [
        kiosk_in[0].body.clone(),
        uldk_in[0].body.to_string(),
        insurance_in[0].body.clone(),
    ] {
        assert!(!body.contains("insz"), "no INSZ to a provider");
        assert!(body.contains("Peeters"), "the applicant is there");
    }
    // Enriched from the projection: the association's name, which the loket did not send.
    let naam = loket.register.get(YOUTH_CLUB).unwrap()["naam"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(uldk_in[0].body.to_string().contains(&naam));

    // The association's history: the register's snapshot and the applications, newest first.
    let history = loket
        .get(&format!("/associations/{YOUTH_CLUB}/history?limit=100"))
        .await;
    let kinds = strings_at(&history["items"], "kind");
    assert!(kinds.contains(&"application.goedgekeurd"), "{kinds:?}");
    assert!(kinds.contains(&"application.ingediend"), "{kinds:?}");
    assert!(kinds.contains(&"register.association.changed"), "{kinds:?}");
    let times = strings_at(&history["items"], "at");
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    loket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ineligible_application_is_refused_with_reasons_and_never_reaches_the_provider() {
    let loket = Loket::start().await;
    // ULDK for a sports club.
    let (id, body) = application(SPORTS_CLUB, "uldk-tentlening", uldk_fields());
    let answer = loket.submit(&body).await;
    assert_eq!(answer["status"], "afgewezen");
    let changes = loket.statuses(&id, 2).await;
    assert_eq!(status_names(&changes), ["ingediend", "afgewezen"]);
    let reason = changes[1]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("JGDW") || reason.contains("hoofdactiviteit"),
        "{reason}"
    );
    assert_valid_changes(&changes);

    // Insurance for a stopped association.
    loket.register.stop(ARTS_CLUB, "2026-01-31").unwrap();
    eventually(SYNC, "the stop reached the projection", || async {
        let v = loket.get(&format!("/associations/{ARTS_CLUB}")).await;
        v["status"] == "Gestopt"
    })
    .await;
    let (id, body) = application(
        ARTS_CLUB,
        "vrijwilligersverzekering",
        insurance_fields(false),
    );
    let answer = loket.submit(&body).await;
    assert_eq!(answer["status"], "afgewezen");
    let changes = loket.statuses(&id, 2).await;
    let reason = changes[1]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("Gestopt") || reason.contains("status"),
        "{reason}"
    );

    // The services query says the same, with reasons.
    let services = loket
        .get(&format!("/associations/{SPORTS_CLUB}/services"))
        .await;
    let uldk = services["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"] == "uldk-tentlening")
        .unwrap();
    assert_eq!(uldk["eligible"], false);
    assert!(!uldk["reasons"].as_array().unwrap().is_empty());

    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(loket.partners.uldk.requests().is_empty(), "never sent");
    assert!(loket.partners.insurance.requests().is_empty(), "never sent");
    loket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_application_twice_makes_one_dossier() {
    let loket = Loket::start().await;
    let (id, body) = application(ARTS_CLUB, "kiosk-projectsubsidie", kiosk_fields(800.0));
    let (first, a) = loket.post("/applications", &body).await;
    let (second, b) = loket.post("/applications", &body).await;
    assert_eq!((first, second), (202, 202), "{a} {b}");
    assert_eq!(a["applicationId"], b["applicationId"]);
    // Also over RabbitMQ, while the first is being handled.
    loket.submit_over_amqp(&id, &body).await;
    let changes = loket.statuses(&id, 4).await;
    assert_eq!(
        status_names(&changes)
            .iter()
            .filter(|s| *s == "ingediend")
            .count(),
        1
    );
    assert_eq!(loket.application_rows().await, 1);
    assert_eq!(
        loket.partners.kiosk.submissions().len(),
        1,
        "one dossier at KIOSK"
    );

    // The same id for something else is a conflict.
    let mut other = body.clone();
    other["fields"]["gevraagdBedrag"] = json!(9999.0);
    let (status, problem) = loket.post("/applications", &other).await;
    assert_eq!(status, 409, "{problem}");
    loket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_is_down_gets_the_application_when_back_and_refusals_are_afgewezen() {
    let loket = Loket::start().await;
    loket.partners.kiosk.set_down(true);
    let (id, body) = application(ARTS_CLUB, "kiosk-projectsubsidie", kiosk_fields(1200.0));
    loket.submit(&body).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(loket.partners.kiosk.submissions().is_empty());
    assert!(
        loket
            .hub
            .metric("hub_retries_total{adapter=\"kiosk\"}")
            .await
            >= 1.0
    );
    loket.partners.kiosk.set_down(false);
    let changes = loket.statuses(&id, 3).await;
    assert_eq!(
        status_names(&changes).last().map(String::as_str),
        Some("goedgekeurd")
    );
    assert_eq!(loket.partners.kiosk.submissions().len(), 1);

    // The insurance refuses an organisation with paid staff: afgewezen with its reason.
    let (id, body) = application(
        YOUTH_CLUB_WITH_ADDRESS,
        "vrijwilligersverzekering",
        insurance_fields(true),
    );
    loket.submit(&body).await;
    let changes = loket.statuses(&id, 3).await;
    assert_eq!(
        status_names(&changes),
        ["ingediend", "ontvangen", "afgewezen"]
    );
    let reason = changes[2]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("VV-101"), "{reason}");
    // KIOSK refuses an amount above its maximum, later, through the follow-up.
    let (id, body) = application(ARTS_CLUB, "kiosk-projectsubsidie", kiosk_fields(90000.0));
    loket.post("/applications", &body).await;
    let changes = loket.statuses(&id, 3).await;
    assert_eq!(
        status_names(&changes).last().map(String::as_str),
        Some("afgewezen")
    );
    loket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_gets_every_field_error_and_nothing_is_stored() {
    let loket = Loket::start().await;
    let body = json!({
        "applicationId": "not-a-uuid",
        "vCode": "X12",
        "serviceCode": "uldk-tentlening",
        "applicant": { "voornaam": "An", "e-mail": "geen-adres", "insz": "85071512397" },
        "fields": { "periode": "volgende zomer", "aantalLeden": 34, "kleur": "blauw" },
        "extra": true
    });
    let response = loket
        .http
        .post(format!("{}/applications", loket.hub.http))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    let fields = strings_at(&problem["errors"], "field");
    for f in [
        "applicationId",
        "vCode",
        "applicant.achternaam",
        "applicant.e-mail",
        "applicant.insz",
        "fields.periode",
        "fields.tenten",
        "fields.ophaling",
        "fields.kleur",
        "extra",
    ] {
        assert!(fields.contains(&f), "{f} missing in {problem}");
    }
    // Not JSON at all.
    let response = loket
        .http
        .post(format!("{}/applications", loket.hub.http))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    // An unknown association.
    let (_, body) = application("V9999999", "kiosk-projectsubsidie", kiosk_fields(10.0));
    let (status, problem) = loket.post("/applications", &body).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(loket.application_rows().await, 0, "nothing stored");

    // The queries answer.
    let found = loket
        .get("/associations?postcode=9300&hoofdactiviteit=JGDW")
        .await;
    let v_codes = strings_at(&found["items"], "vCode");
    assert!(v_codes.contains(&YOUTH_CLUB), "{v_codes:?}");
    assert!(!v_codes.contains(&SPORTS_CLUB));
    assert!(!found.to_string().contains("\"insz\""));
    let one = loket.get(&format!("/associations/{YOUTH_CLUB}")).await;
    assert_eq!(one["vCode"], YOUTH_CLUB);
    assert!(!one.to_string().contains("\"insz\""));
    loket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withdrawn_application_stays_withdrawn() {
    let loket = Loket::start().await;
    // A slow KIOSK: the association withdraws before the decision.
    let (id, body) = application(ARTS_CLUB, "kiosk-projectsubsidie", kiosk_fields(500.0));
    loket.submit(&body).await;
    let (status, answer) = loket
        .post(
            &format!("/applications/{id}/withdraw"),
            &json!({"reason": "kamp gaat niet door"}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let app = loket.get(&format!("/applications/{id}")).await;
    assert_eq!(app["status"], "ingetrokken", "{app}");
    let (status, _) = loket
        .post(&format!("/applications/{id}/withdraw"), &json!({}))
        .await;
    assert_eq!(status, 409, "a second withdrawal is refused");
    loket.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_municipal_service_goes_through_the_municipality_and_its_answers_come_back() {
    let loket = Loket::start_with(|partners| {
        format!(
            r#"{}

[[services]]
code = "aalst-jeugdsubsidie"
name = "Werkingssubsidie jeugdwerk stad Aalst"
provider = "municipality:aalst"
data = ["basisgegevens", "contactgegevens", "locaties", "hoofdactiviteitenVerenigingsloket"]
eligibility = {{ hoofdactiviteiten = ["JGDW"], territory = {{ postcodes = ["9300", "9308", "9310", "9320"] }} }}
fields = [
  {{ name = "werkjaar", type = "string", required = true }},
  {{ name = "aantalLeden", type = "integer", required = true }},
]
"#,
            partners.config()
        )
    })
    .await;

    let (id, body) = application(
        YOUTH_CLUB,
        "aalst-jeugdsubsidie",
        json!({ "werkjaar": "2026-2027", "aantalLeden": 34 }),
    );
    loket.submit(&body).await;
    // Aalst receives the enriched application on its own queue.
    let received = loket
        .reader
        .take_at_least("municipality.aalst.applications", 1, SYNC, QUIET)
        .await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].message_type, "application.dispatch");
    assert_eq!(received[0].body["applicationId"], id.as_str());
    assert!(received[0].raw.contains("Chiro"), "enriched with the name");
    assert!(!received[0].raw.contains("insz"), "never an INSZ");

    // Aalst answers: received, then granted.
    let answer_status = |status: &str, extra: Value| {
        let mut m = json!({ "applicationId": id, "status": status });
        if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
            m.extend(extra.clone());
        }
        serde_json::to_vec(&m).unwrap()
    };
    for (status, extra) in [
        (
            "ontvangen",
            json!({ "providerReference": "AALST-JEUGD-2026-0042" }),
        ),
        ("goedgekeurd", json!({ "reason": "1.250 EUR toegekend" })),
        // Not allowed after a decision: refused, never applied.
        ("in_behandeling", json!({})),
    ] {
        publish_raw(
            &loket.iso,
            "hub.applications",
            "municipality.aalst.application-status",
            "municipality.application-status",
            &uuid::Uuid::new_v4().to_string(),
            &answer_status(status, extra),
        )
        .await;
    }
    let changes = loket.statuses(&id, 3).await;
    assert_eq!(
        status_names(&changes),
        ["ingediend", "ontvangen", "goedgekeurd"]
    );
    assert_valid_changes(&changes);
    assert_eq!(changes[1]["providerReference"], "AALST-JEUGD-2026-0042");
    loket
        .hub
        .wait_metric(
            SYNC,
            "the late transition refused",
            "hub_application_transitions_refused_total",
            1.0,
        )
        .await;
    let app = loket.get(&format!("/applications/{id}")).await;
    assert_eq!(app["status"], "goedgekeurd");
    loket.stop().await;
}
