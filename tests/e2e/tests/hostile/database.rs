//! Text PostgreSQL cannot hold (U+0000, NUL) in every kind of input: the item fails on its
//! own, with its reason (a rejection, a dead letter, a 400 naming the field, a rejected
//! reply), and the hub goes on with the next one, ready throughout.

#![allow(clippy::unwrap_used)]

use partner_sims::uldk::{UldkSim, UldkSimConfig};
use serde_json::{json, Value};

use super::fixture::*;
use hub_tests::*;

const NUL_REASON: &str = "contains U+0000 (NUL), which the hub cannot store";
/// V0001001: a feitelijke vereniging doing youth work (JGDW) in Aalst.
const YOUTH_CLUB: &str = "V0001001";

/// An application of [`YOUTH_CLUB`] for `service_code` with these fields: its id and body.
fn application(service_code: &str, fields: Value) -> (String, Value) {
    let id = uuid::Uuid::new_v4().to_string();
    let body = json!({
        "applicationId": id,
        "vCode": YOUTH_CLUB,
        "serviceCode": service_code,
        "applicant": { "voornaam": "An", "achternaam": "Peeters", "e-mail": "an.peeters@example.be" },
        "fields": fields
    });
    (id, body)
}

fn kiosk_application(omschrijving: &str) -> (String, Value) {
    application(
        "kiosk-projectsubsidie",
        json!({
            "projectnaam": "Zomerkamp 2027",
            "gevraagdBedrag": 1200.0,
            "begindatum": "2027-07-01",
            "einddatum": "2027-07-31",
            "omschrijving": omschrijving
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_register_document_is_that_documents_rejection_and_later_changes_flow() {
    let f = Fixture::start(None).await;
    let aalst = aalst_only(&f.register);
    let (bad, good) = (aalst[0].as_str(), aalst[1].as_str());
    let initial = expected_on(&f.register, AALST).len();
    f.reader
        .take_at_least("subscriber.aalst", initial, SYNC, QUIET)
        .await;

    let bad_sequence = f.register.rename(bad, "Chiro\u{0}Aalst").unwrap();
    f.register.rename(good, "Nieuwe naam").unwrap();
    let got = f
        .reader
        .take_at_least("subscriber.aalst", 1, SYNC, QUIET)
        .await;
    assert_eq!(got.len(), 1, "only the good change: {got:?}");
    assert_eq!(got[0].v_code(), good);
    assert_eq!(got[0].body["vereniging"]["naam"], "Nieuwe naam");
    assert_valid(&got[0]);

    let rejections = f.get("/admin/rejections").await;
    let rejection = rejections
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["vCode"] == bad)
        .unwrap_or_else(|| panic!("no rejection for {bad}: {rejections}"));
    assert_eq!(rejection["sequence"], bad_sequence);
    assert_eq!(
        rejection["reason"],
        format!("vereniging.naam: {NUL_REASON}")
    );
    assert_eq!(f.hub.metric("hub_register_rejections_total").await, 1.0);
    f.assert_ready().await;

    // Fixed in the register, it flows again.
    f.register.rename(bad, "Chiro Aalst").unwrap();
    let got = f
        .reader
        .take_at_least("subscriber.aalst", 1, SYNC, QUIET)
        .await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].v_code(), bad);
    assert_eq!(got[0].body["vereniging"]["naam"], "Chiro Aalst");
    f.stop_ready().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_an_application_over_http_is_a_400_naming_the_field_and_nothing_is_stored() {
    let f = Fixture::start(None).await;
    let (_, bad) = kiosk_application("Kamp\u{0}voor 34 leden");
    let (status, problem) = f.post("/applications", &bad).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(
        problem["errors"],
        json!([{ "field": "fields.omschrijving", "code": "nul-character", "reason": NUL_REASON }])
    );
    assert_eq!(f.count("SELECT count(*) FROM application").await, 0);
    f.assert_ready().await;

    let (id, good) = kiosk_application("Kamp voor 34 leden");
    let (status, answer) = f.post("/applications", &good).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["applicationId"], id.as_str());
    assert_eq!(f.count("SELECT count(*) FROM application").await, 1);
    f.stop_ready().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_an_application_over_amqp_is_dead_lettered_and_the_next_one_is_taken() {
    let f = Fixture::start(None).await;
    let (bad_id, bad) = kiosk_application("Kamp\u{0}voor 34 leden");
    let message_id = f
        .publish(
            "hub.applications",
            "application.submitted",
            "application.submitted",
            &as_submitted(&bad_id, &bad),
        )
        .await;
    let (good_id, good) = kiosk_application("Kamp voor 34 leden");
    f.publish(
        "hub.applications",
        "application.submitted",
        "application.submitted",
        &as_submitted(&good_id, &good),
    )
    .await;

    f.assert_permanent_dead_letter(
        &message_id,
        &format!("fields.omschrijving: {NUL_REASON} (nul-character)"),
    )
    .await;
    eventually(SYNC, "the next application stored", || async {
        f.count(&format!(
            "SELECT count(*) FROM application WHERE application_id = '{good_id}'"
        ))
        .await
            == 1
    })
    .await;
    assert_eq!(f.count("SELECT count(*) FROM application").await, 1);
    f.stop_ready().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_command_is_rejected_with_the_field_and_the_next_command_is_applied() {
    let f = Fixture::start(None).await;
    let command = |id: &str, waarde: &str| {
        json!({
            "commandId": id,
            "type": "association.add-contactgegeven",
            "vCode": YOUTH_CLUB,
            "data": { "contactgegeventype": "Website", "waarde": waarde }
        })
    };
    let bad_id = uuid::Uuid::new_v4().to_string();
    let good_id = uuid::Uuid::new_v4().to_string();
    for body in [
        command(&bad_id, "https://chiro.example\u{0}.be"),
        command(&good_id, "https://chiro-aalst.example.be"),
    ] {
        f.publish(
            "hub.commands",
            "aalst.association.add-contactgegeven",
            "association.add-contactgegeven",
            &body,
        )
        .await;
    }
    let replies = f
        .reader
        .take_at_least("municipality.aalst.replies", 2, SYNC, QUIET)
        .await;
    assert_eq!(replies.len(), 2, "{replies:?}");
    let bad = replies
        .iter()
        .find(|r| r.body["commandId"] == bad_id.as_str())
        .unwrap();
    assert_eq!(bad.body["outcome"], "rejected", "{}", bad.raw);
    let nul: Vec<&Value> = bad.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["code"] == "nul-character")
        .collect();
    assert_eq!(
        nul,
        [&json!({ "field": "data.waarde", "code": "nul-character", "reason": NUL_REASON })]
    );
    let good = replies
        .iter()
        .find(|r| r.body["commandId"] == good_id.as_str())
        .unwrap();
    assert_eq!(good.body["outcome"], "accepted", "{}", good.raw);
    let writes = f.register.writes();
    assert_eq!(
        writes.len(),
        1,
        "only the good command reaches the register"
    );
    assert!(format!("{:?}", writes[0].body).contains("chiro-aalst.example.be"));
    f.stop_ready().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_municipal_answer_is_dead_lettered_and_the_next_answer_is_applied() {
    let f = Fixture::start(None).await;
    let (id, body) = application(
        "aalst-jeugdsubsidie",
        json!({ "werkjaar": "2026-2027", "aantalLeden": 34 }),
    );
    let (status, answer) = f.post("/applications", &body).await;
    assert_eq!(status, 202, "{answer}");
    f.reader
        .take_at_least("municipality.aalst.applications", 1, SYNC, QUIET)
        .await;

    let answer = |reference: &str| json!({ "applicationId": id, "status": "ontvangen", "providerReference": reference });
    let bad = f
        .publish(
            "hub.applications",
            "municipality.aalst.application-status",
            "municipality.application-status",
            &answer("AALST\u{0}42"),
        )
        .await;
    f.publish(
        "hub.applications",
        "municipality.aalst.application-status",
        "municipality.application-status",
        &answer("AALST-42"),
    )
    .await;
    f.assert_permanent_dead_letter(&bad, &format!("providerReference: {NUL_REASON}"))
        .await;
    eventually(SYNC, "the next answer applied", || async {
        let app = f.get(&format!("/applications/{id}")).await;
        app["status"] == "ontvangen" && app["providerReference"] == "AALST-42"
    })
    .await;
    f.stop_ready().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_provider_answer_is_stored_without_it_and_the_application_is_decided() {
    let uldk = UldkSim::start(
        UldkSimConfig {
            treatment_after: std::time::Duration::from_millis(200),
            decision_after: std::time::Duration::from_millis(400),
            ..UldkSimConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    uldk.refuse_when_body_contains("Zomerkamp", "geen\u{0}tenten");
    let toml = format!(
        "[applications]\npoll_interval = \"200ms\"\n\n[providers.uldk]\nkind = \"uldk\"\nurl = \"{}\"\ntimeout = \"2s\"\n",
        uldk.base_url()
    );
    let f = Fixture::start(Some(&toml)).await;
    let application = |plaats: &str| tent_loan(YOUTH_CLUB, plaats);
    let (refused, body) = application("Zomerkamp Gent");
    assert_eq!(f.post("/applications", &body).await.0, 202);
    let (next, body) = application("Gent");
    assert_eq!(f.post("/applications", &body).await.0, 202);
    eventually(SYNC, "the refusal recorded, without the NUL", || async {
        let app = f.get(&format!("/applications/{refused}")).await;
        app["status"] == "afgewezen"
    })
    .await;
    let app = f.get(&format!("/applications/{refused}")).await;
    assert!(
        app.to_string().contains("geen\u{FFFD}tenten"),
        "the reason kept readable: {app}"
    );
    eventually(SYNC, "the next application decided", || async {
        let app = f.get(&format!("/applications/{next}")).await;
        app["status"] == "goedgekeurd"
    })
    .await;
    f.stop_ready().await;
    uldk.shutdown();
}
