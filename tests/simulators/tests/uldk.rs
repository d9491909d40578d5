//! The ULDK simulator over real HTTP: the contract's answers (201/200/409/400/415/422/404),
//! the status timeline, the allocation rule, and the test controls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{get_json, post_json};

use std::time::Duration;

use partner_sims::uldk::{
    BehaviourChange, FailNext, TentStock, UldkSim, UldkSimConfig, UldkStatus,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn example() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../contracts/examples/uldk/uldk.reservation.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The example with another aanvraagId (and the given changes).
fn body(n: u32, change: impl FnOnce(&mut Value)) -> Value {
    let mut b = example();
    b["aanvraagId"] = json!(format!("00000000-0000-4000-8000-{n:012}"));
    change(&mut b);
    b
}

fn fast() -> UldkSimConfig {
    UldkSimConfig {
        treatment_after: Duration::from_millis(150),
        decision_after: Duration::from_millis(300),
        ..UldkSimConfig::default()
    }
}

async fn start(config: UldkSimConfig) -> UldkSim {
    UldkSim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

struct Answer {
    status: StatusCode,
    content_type: String,
    location: Option<String>,
    retry_after: Option<String>,
    body: Value,
}

async fn answer(resp: reqwest::Response) -> Answer {
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type").unwrap_or_default();
    let location = header("location");
    let retry_after = header("retry-after");
    let status = resp.status();
    let text = resp.text().await.unwrap();
    Answer {
        status,
        content_type,
        location,
        retry_after,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

async fn post(sim: &UldkSim, body: &Value) -> Answer {
    let key = body["aanvraagId"].as_str().unwrap_or("none").to_owned();
    post_with(sim, body, Some(&key)).await
}

async fn post_with(sim: &UldkSim, body: &Value, key: Option<&str>) -> Answer {
    let mut req = reqwest::Client::new()
        .post(format!("{}/v1/reservaties", sim.base_url()))
        .json(body);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    answer(req.send().await.unwrap()).await
}

async fn get(sim: &UldkSim, id: &str) -> Answer {
    let url = format!("{}/v1/reservaties/{id}", sim.base_url());
    answer(reqwest::get(url).await.unwrap()).await
}

fn is_reservation_id(id: &str) -> bool {
    id.len() == 8 && id.starts_with("R-") && id[2..].chars().all(|c| c.is_ascii_digit())
}

#[tokio::test]
async fn a_reservation_is_created_once_per_idempotency_key() {
    let sim = start(fast()).await;
    let b = example();
    let first = post(&sim, &b).await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.content_type, "application/json");
    let id = first.body["reservatieId"].as_str().unwrap().to_owned();
    assert!(is_reservation_id(&id), "{id}");
    assert_eq!(
        first.body,
        json!({"reservatieId": id, "status": "aangevraagd"})
    );
    assert_eq!(
        first.location.as_deref(),
        Some(&*format!("/v1/reservaties/{id}"))
    );

    // The same key and body again: 200 with the same reservation.
    let again = post(&sim, &b).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["reservatieId"], json!(id));
    assert_eq!(again.location, first.location);

    // The same key, members in another order and other white space: still the same body.
    let members: Vec<String> = b
        .as_object()
        .unwrap()
        .iter()
        .rev()
        .map(|(k, v)| format!("\n  {k:?} : {v}"))
        .collect();
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/reservaties", sim.base_url()))
        .header("Idempotency-Key", b["aanvraagId"].as_str().unwrap())
        .header("content-type", "application/json; charset=utf-8")
        .body(format!("{{{}\n}}", members.join(",")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);

    // The same key after the register changed the association's name and e-mail: the same
    // reservation (ULDK keeps what it got first).
    let mut renamed = b.clone();
    renamed["vereniging"]["naam"] = json!("Chiro Sint-Jozef Evergem-Centrum");
    renamed["vereniging"]
        .as_object_mut()
        .unwrap()
        .remove("e-mail");
    let replay = post(&sim, &renamed).await;
    assert_eq!(replay.status, StatusCode::OK);
    assert_eq!(replay.body["reservatieId"], json!(id));

    // The same key asking for something else (or for another association): 409.
    let mut other = b.clone();
    other["aantalLeden"] = json!(40);
    let conflict = post(&sim, &other).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert_eq!(conflict.content_type, "application/problem+json");
    assert_eq!(conflict.body["status"], json!(409));
    assert_eq!(
        conflict.body["type"],
        json!("urn:uldk:problem:idempotency-conflict")
    );
    let mut other = b.clone();
    other["vereniging"]["vCode"] = json!("V0002099");
    assert_eq!(post(&sim, &other).await.status, StatusCode::CONFLICT);

    let requests = sim.requests();
    assert_eq!(requests.len(), 6);
    assert!(requests.iter().all(|r| r.valid && r.method == "POST"));
    assert_eq!(
        requests.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![201, 200, 200, 200, 409, 409]
    );
    assert_eq!(
        requests.iter().map(|r| r.duplicate).collect::<Vec<_>>(),
        vec![false, true, true, true, false, false]
    );
    assert_eq!(
        requests[0].idempotency_key.as_deref(),
        b["aanvraagId"].as_str()
    );
    assert_eq!(requests[0].body, b);
    assert_eq!(sim.submissions().len(), 1);
    let reservations = sim.reservations();
    assert_eq!(reservations.len(), 1);
    assert_eq!(reservations[0].reservatie_id, id);
    assert_eq!(
        reservations[0].aanvraag_id,
        b["aanvraagId"].as_str().unwrap()
    );

    // A second application gets the next id.
    let second = post(&sim, &body(2, |_| {})).await;
    assert_eq!(second.status, StatusCode::CREATED);
    let id2 = second.body["reservatieId"].as_str().unwrap();
    assert!(is_reservation_id(id2) && id2 != id);
    sim.shutdown();
}

#[tokio::test]
async fn an_invalid_body_gets_422_with_every_error() {
    let sim = start(fast()).await;
    let b = body(1, |b| {
        b["tenten"][0]["type"] = json!("bungalowtent");
        b.as_object_mut().unwrap().remove("aantalLeden");
        b["contactpersoon"]["e-mail"] = json!("niet-een-adres");
        b["periode"]["van"] = json!("2027-02-30");
        b["vereniging"]["insz"] = json!("85071512397");
    });
    let a = post(&sim, &b).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.content_type, "application/problem+json");
    assert_eq!(a.body["type"], json!("urn:uldk:problem:validation"));
    let errors = a.body["errors"].as_array().unwrap();
    let pointers: Vec<&str> = errors
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    for p in [
        "/tenten/0/type",
        "",
        "/contactpersoon/e-mail",
        "/periode/van",
        "/vereniging",
    ] {
        assert!(pointers.contains(&p), "{p} missing in {pointers:?}");
    }
    assert!(errors
        .iter()
        .all(|e| e["detail"].as_str().is_some_and(|d| !d.is_empty())));

    let r = &sim.requests()[0];
    assert!(!r.valid);
    assert_eq!(r.errors.len(), errors.len());
    assert_eq!(r.status, 422);
    assert!(sim.reservations().is_empty());
    assert!(sim.submissions().is_empty());

    // What a schema cannot say: the order of the dates.
    let b = body(2, |b| {
        b["periode"]["tot"] = json!("2027-07-01");
        b["ophaling"]["datum"] = json!("2027-07-05");
    });
    let a = post(&sim, &b).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let pointers: Vec<&str> = a.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(pointers, vec!["/periode/tot", "/ophaling/datum"]);
    sim.shutdown();
}

#[tokio::test]
async fn request_level_problems_get_400_and_415() {
    let sim = start(fast()).await;
    let b = example();
    let a = post_with(&sim, &b, None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        a.body["type"],
        json!("urn:uldk:problem:idempotency-key-missing")
    );
    let a = post_with(&sim, &b, Some("11111111-1111-4111-8111-111111111111")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        a.body["type"],
        json!("urn:uldk:problem:idempotency-key-mismatch")
    );
    // The key in upper case is the same key.
    let upper = b["aanvraagId"].as_str().unwrap().to_ascii_uppercase();
    assert_eq!(
        post_with(&sim, &b, Some(&upper)).await.status,
        StatusCode::CREATED
    );

    let client = reqwest::Client::new();
    let url = format!("{}/v1/reservaties", sim.base_url());
    let resp = client
        .post(&url)
        .header("Idempotency-Key", "x")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = client
        .post(&url)
        .header("Idempotency-Key", "x")
        .header("content-type", "text/plain")
        .body(b.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let statuses: Vec<u16> = sim.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![400, 400, 201, 400, 415]);
    assert_eq!(sim.submissions().len(), 1);
    sim.shutdown();
}

#[tokio::test]
async fn an_unknown_reservation_is_404() {
    let sim = start(fast()).await;
    for id in ["R-999999", "nope"] {
        let a = get(&sim, id).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
        assert_eq!(a.content_type, "application/problem+json");
        assert_eq!(a.body["status"], json!(404));
    }
    assert_eq!(sim.requests().len(), 2);
    sim.shutdown();
}

#[tokio::test]
async fn a_reservation_is_received_treated_and_allocated() {
    // Wide margins: the checks in between must not race the clock on a busy machine.
    let sim = start(UldkSimConfig {
        treatment_after: Duration::from_millis(500),
        decision_after: Duration::from_millis(1500),
        ..UldkSimConfig::default()
    })
    .await;
    let created = post(&sim, &example()).await;
    let id = created.body["reservatieId"].as_str().unwrap().to_owned();
    assert_eq!(get(&sim, &id).await.body["status"], json!("aangevraagd"));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let a = get(&sim, &id).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.body,
        json!({"reservatieId": id, "status": "in_behandeling"})
    );
    assert!(sim
        .wait_for_decision(&id, Duration::from_secs(5))
        .await
        .is_some());
    let a = get(&sim, &id).await;
    assert_eq!(
        a.body,
        json!({
            "reservatieId": id,
            "status": "toegewezen",
            "toewijzing": {
                "tenten": [
                    {"type": "seniortent", "aantal": 3},
                    {"type": "patrouilletent", "aantal": 2}
                ],
                "ophaalpunt": "Gent",
                "ophaaldatum": "2027-07-01"
            }
        })
    );
    // A replay now answers the reservation as it stands.
    let replay = post(&sim, &example()).await;
    assert_eq!(replay.status, StatusCode::OK);
    assert_eq!(replay.body, a.body);
    let r = sim.reservation(&id).unwrap();
    assert_eq!(r.status, UldkStatus::Toegewezen);
    assert_eq!(r.representation(), a.body);
    sim.shutdown();
}

#[tokio::test]
async fn the_allocation_is_capped_by_the_members() {
    let sim = start(fast()).await;
    // 20 members asking 5 seniortents and 3 patrouilletents: 3 seniortents sleep 24 ≥ 20.
    let a = post(
        &sim,
        &body(1, |b| {
            b["aantalLeden"] = json!(20);
            b["tenten"] = json!([{"type": "seniortent", "aantal": 5}, {"type": "patrouilletent", "aantal": 3}]);
        }),
    )
    .await;
    // 12 members in patrouilletents only: ceil(12 / 5) = 3 of the 6 asked.
    let b = post(
        &sim,
        &body(2, |b| {
            b["aantalLeden"] = json!(12);
            b["tenten"] = json!([{"type": "patrouilletent", "aantal": 6}]);
        }),
    )
    .await;
    let id_a = a.body["reservatieId"].as_str().unwrap();
    let id_b = b.body["reservatieId"].as_str().unwrap();
    let ra = decision(&sim, id_a).await;
    let rb = decision(&sim, id_b).await;
    assert_eq!(
        ra.toewijzing.unwrap()["tenten"],
        json!([{"type": "seniortent", "aantal": 3}])
    );
    assert_eq!(
        rb.toewijzing.unwrap()["tenten"],
        json!([{"type": "patrouilletent", "aantal": 3}])
    );
    sim.shutdown();
}

#[tokio::test]
async fn outside_the_season_is_refused() {
    let sim = start(fast()).await;
    let cases = [
        ("2027-11-10", "2027-11-20", "2027-11-09"),
        ("2027-03-16", "2027-03-20", "2027-03-14"),
        ("2027-03-15", "2027-11-15", "2027-03-15"),
    ];
    let mut ids = Vec::new();
    for (n, (van, tot, datum)) in cases.iter().enumerate() {
        let a = post(
            &sim,
            &body(n as u32, |b| {
                b["periode"] = json!({"van": van, "tot": tot});
                b["ophaling"]["datum"] = json!(datum);
            }),
        )
        .await;
        assert_eq!(a.status, StatusCode::CREATED);
        ids.push(a.body["reservatieId"].as_str().unwrap().to_owned());
    }
    let decided: Vec<_> = futures_decided(&sim, &ids).await;
    assert_eq!(decided[0].status, UldkStatus::Geweigerd);
    assert!(decided[0]
        .reden
        .as_deref()
        .unwrap()
        .contains("uitleenseizoen"));
    assert_eq!(
        decided[1].status,
        UldkStatus::Geweigerd,
        "collected before 15 March"
    );
    assert_eq!(
        decided[2].status,
        UldkStatus::Toegewezen,
        "the season's bounds are inclusive"
    );
    let doc = get(&sim, &ids[0]).await.body;
    assert_eq!(doc["status"], json!("geweigerd"));
    assert!(doc.get("toewijzing").is_none());
    sim.shutdown();
}

async fn futures_decided(
    sim: &UldkSim,
    ids: &[String],
) -> Vec<partner_sims::uldk::UldkReservation> {
    let mut out = Vec::new();
    for id in ids {
        out.push(decision(sim, id).await);
    }
    out
}

/// The reservation `id` once decided (within 3 s).
async fn decision(sim: &UldkSim, id: &str) -> partner_sims::uldk::UldkReservation {
    sim.wait_for_decision(id, Duration::from_secs(3))
        .await
        .unwrap()
}

#[tokio::test]
async fn the_stock_runs_out_for_overlapping_periods_only() {
    let sim = start(UldkSimConfig {
        stock: TentStock {
            seniortent: 4,
            patrouilletent: 1,
        },
        ..fast()
    })
    .await;
    // July: 3 seniortents and 2 patrouilletents asked, 33 members: gets 3 + 1 (the stock).
    let first = post(&sim, &body(1, |_| {})).await;
    // Overlapping: 1 seniortent left, no patrouilletent.
    let second = post(
        &sim,
        &body(2, |b| b["periode"]["van"] = json!("2027-07-05")),
    )
    .await;
    // Overlapping again: nothing left.
    let third = post(&sim, &body(3, |_| {})).await;
    // August: the tents are back.
    let fourth = post(
        &sim,
        &body(4, |b| {
            b["periode"] = json!({"van": "2027-08-02", "tot": "2027-08-11"});
            b["ophaling"]["datum"] = json!("2027-08-01");
        }),
    )
    .await;
    let ids: Vec<String> = [first, second, third, fourth]
        .iter()
        .map(|a| a.body["reservatieId"].as_str().unwrap().to_owned())
        .collect();
    let d = futures_decided(&sim, &ids).await;
    assert_eq!(
        d[0].toewijzing.as_ref().unwrap()["tenten"],
        json!([{"type": "seniortent", "aantal": 3}, {"type": "patrouilletent", "aantal": 1}])
    );
    assert_eq!(
        d[1].toewijzing.as_ref().unwrap()["tenten"],
        json!([{"type": "seniortent", "aantal": 1}])
    );
    assert_eq!(d[2].status, UldkStatus::Geweigerd);
    assert!(d[2].reden.as_deref().unwrap().contains("voorraad"));
    assert_eq!(
        d[3].toewijzing.as_ref().unwrap()["tenten"],
        json!([{"type": "seniortent", "aantal": 3}, {"type": "patrouilletent", "aantal": 1}])
    );
    sim.shutdown();
}

#[tokio::test]
async fn faults_down_and_reset() {
    let sim = start(fast()).await;
    sim.fail_next(2, 503);
    let a = post(&sim, &example()).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(a.content_type, "application/problem+json");
    assert_eq!(a.retry_after.as_deref(), Some("1"));
    assert_eq!(
        get(&sim, "R-100001").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(post(&sim, &example()).await.status, StatusCode::CREATED);
    // Faulted requests were checked, recorded, and made nothing.
    let r = sim.requests();
    assert_eq!(r.len(), 3);
    assert!(r[0].valid && r[0].status == 503 && r[0].reservatie_id.is_none());
    assert_eq!(sim.submissions().len(), 1);

    sim.fail_next(1, 429);
    assert_eq!(
        post(&sim, &example()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    sim.fail_next(1, 1234);
    assert_eq!(
        get(&sim, "R-100001").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );

    sim.set_down(true);
    for _ in 0..3 {
        let a = get(&sim, "R-100001").await;
        assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(a.body["type"], json!("urn:uldk:problem:down"));
    }
    assert!(sim.behaviour().down);
    sim.reset();
    assert_eq!(sim.behaviour(), Default::default());
    assert_eq!(get(&sim, "R-100001").await.status, StatusCode::OK);
    // reset keeps the reservations.
    assert_eq!(sim.reservations().len(), 1);
    sim.shutdown();
}

#[tokio::test]
async fn a_delayed_answer_may_follow_a_made_reservation() {
    let sim = start(fast()).await;
    sim.set_delay(Duration::from_millis(400));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let b = example();
    let err = client
        .post(format!("{}/v1/reservaties", sim.base_url()))
        .header("Idempotency-Key", b["aanvraagId"].as_str().unwrap())
        .json(&b)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    // The reservation exists although the client never heard of it.
    assert_eq!(sim.reservations().len(), 1);
    sim.set_delay(Duration::ZERO);
    let replay = post(&sim, &b).await;
    assert_eq!(replay.status, StatusCode::OK);
    assert_eq!(
        replay.body["reservatieId"],
        json!(sim.reservations()[0].reservatie_id)
    );

    sim.set_delay(Duration::from_millis(150));
    let started = std::time::Instant::now();
    assert_eq!(get(&sim, "R-100001").await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150));
    sim.shutdown();
}

#[tokio::test]
async fn refusal_by_body_content() {
    let sim = start(fast()).await;
    sim.refuse_when_body_contains("V0002041", "Geen erkende jeugdvereniging.");
    let a = post(&sim, &example()).await;
    let b = post(
        &sim,
        &body(2, |b| b["vereniging"]["vCode"] = json!("V0002099")),
    )
    .await;
    let ra = decision(&sim, a.body["reservatieId"].as_str().unwrap()).await;
    let rb = decision(&sim, b.body["reservatieId"].as_str().unwrap()).await;
    assert_eq!(ra.status, UldkStatus::Geweigerd);
    assert_eq!(ra.reden.as_deref(), Some("Geen erkende jeugdvereniging."));
    assert_eq!(rb.status, UldkStatus::Toegewezen);
    sim.shutdown();
}

#[tokio::test]
async fn behaviour_over_http() {
    let sim = start(fast()).await;
    let client = reqwest::Client::new();
    let url = format!("{}/_sim/behaviour", sim.base_url());
    let resp = client
        .post(&url)
        .json(&json!({
            "failNext": {"count": 2, "status": 502},
            "delayMs": 10,
            "refuseWhenBodyContains": {"substring": "Evergem", "reden": "Nee."}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let shown: Value = resp.json().await.unwrap();
    assert_eq!(shown["failNext"], json!({"count": 2, "status": 502}));
    assert_eq!(shown["delayMs"], json!(10));
    assert_eq!(shown["down"], json!(false));
    let b = sim.behaviour();
    assert_eq!(
        b.fail_next,
        Some(FailNext {
            count: 2,
            status: 502
        })
    );
    assert_eq!(b.refuse_when_body_contains.len(), 1);
    assert_eq!(post(&sim, &example()).await.status, StatusCode::BAD_GATEWAY);

    let shown: Value = client
        .post(&url)
        .json(&json!({"reset": true, "down": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        shown,
        json!({"failNext": null, "down": true, "delayMs": 0, "refuseWhenBodyContains": []})
    );
    let got: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert_eq!(got, shown);
    let resp = post_json(&client, &url, &json!({"explode": true})).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    let b = sim.change_behaviour(BehaviourChange {
        down: Some(false),
        ..Default::default()
    });
    assert!(!b.down);
    assert_eq!(post(&sim, &example()).await.status, StatusCode::CREATED);
    let listed: Value = get_json(&client, format!("{}/_sim/reservations", sim.base_url())).await;
    assert_eq!(listed[0]["aanvraagId"], example()["aanvraagId"]);
    let listed: Value = get_json(&client, format!("{}/_sim/requests", sim.base_url())).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    assert_eq!(listed[1]["status"], json!(201));
    sim.shutdown();
    sim.stopped().await.unwrap();
}
