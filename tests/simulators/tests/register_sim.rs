//! End-to-end tests of the register simulator over real HTTP.
#![allow(clippy::unwrap_used)]

mod common;

use common::{get_json, post_json};

use std::collections::HashSet;
use std::time::{Duration, Instant};

use partner_sims::{
    insz_is_valid, kbo_is_valid, seed, synthetic, validate_vereniging, RegisterSim,
    RegisterSimConfig, DETAIL_CONTEXT,
};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

async fn start() -> RegisterSim {
    start_with(RegisterSimConfig::with_seed()).await
}

async fn start_with(config: RegisterSimConfig) -> RegisterSim {
    RegisterSim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap()
}

async fn token(sim: &RegisterSim) -> String {
    common::token(sim, None).await
}

async fn get(sim: &RegisterSim, token: &str, path: &str) -> reqwest::Response {
    Client::new()
        .get(format!("{}{path}", sim.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn mutaties(sim: &RegisterSim, token: &str, sinds: u64) -> Vec<(String, u64)> {
    let resp = get(
        sim,
        token,
        &format!("/v1/verenigingen/mutaties?sinds={sinds}"),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Vec<Value> = resp.json().await.unwrap();
    body.iter()
        .map(|m| {
            (
                m["vCode"].as_str().unwrap().to_owned(),
                m["sequence"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The status of V0001001's detail document asked for with `token`.
async fn detail_status(sim: &RegisterSim, token: &str) -> StatusCode {
    get(sim, token, "/v1/verenigingen/V0001001").await.status()
}

fn is_problem(resp: &reqwest::Response) -> bool {
    resp.headers()[reqwest::header::CONTENT_TYPE] == "application/problem+json"
}

#[tokio::test]
async fn token_flow() {
    let sim = start().await;
    let c = Client::new();

    let resp = c
        .post(sim.token_url())
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "hub"),
            ("client_secret", "hub-secret"),
            ("scope", "vo_info"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "vo_info");
    assert!(body["access_token"].as_str().unwrap().len() >= 32);

    // Refused: (what, form, status, error).
    type Refusal<'a> = (
        &'a str,
        &'a [(&'a str, &'a str)],
        StatusCode,
        Option<&'a str>,
    );
    let refused: [Refusal; 3] = [
        (
            "a wrong client",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "hub"),
                ("client_secret", "wrong"),
            ],
            StatusCode::UNAUTHORIZED,
            Some("invalid_client"),
        ),
        (
            "no client at all",
            &[("grant_type", "client_credentials")],
            StatusCode::UNAUTHORIZED,
            None,
        ),
        (
            "a wrong grant",
            &[
                ("grant_type", "password"),
                ("client_id", "hub"),
                ("client_secret", "hub-secret"),
            ],
            StatusCode::BAD_REQUEST,
            Some("unsupported_grant_type"),
        ),
    ];
    for (what, form, status, error) in refused {
        let resp = c.post(sim.token_url()).form(form).send().await.unwrap();
        assert_eq!(resp.status(), status, "{what}");
        if let Some(error) = error {
            assert_eq!(
                resp.json::<Value>().await.unwrap()["error"],
                error,
                "{what}"
            );
        }
    }

    // HTTP Basic
    let basic = |secret: &str| {
        c.post(sim.token_url())
            .basic_auth("hub", Some(secret))
            .form(&[("grant_type", "client_credentials")])
    };
    let resp = basic("hub-secret").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let t = resp.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(detail_status(&sim, &t).await, StatusCode::OK);

    let resp = basic("nope").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp
        .headers()
        .contains_key(reqwest::header::WWW_AUTHENTICATE));

    // not a form
    let resp = c.post(sim.token_url()).body("{}").send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    assert_eq!(sim.stats().token_requests, 7);
}

#[tokio::test]
async fn unauthorized_without_bad_or_expired_token() {
    let sim = start().await;
    let c = Client::new();
    let resp = c
        .get(format!("{}/v1/verenigingen/mutaties", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers()[reqwest::header::WWW_AUTHENTICATE],
        "Bearer error=\"invalid_token\""
    );
    assert!(is_problem(&resp));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], 401);
    for k in ["type", "title", "detail", "instance"] {
        assert!(body[k].is_string(), "{k}");
    }

    assert_eq!(
        detail_status(&sim, "made-up").await,
        StatusCode::UNAUTHORIZED
    );

    let t = token(&sim).await;
    assert_eq!(detail_status(&sim, &t).await, StatusCode::OK);
    sim.expire_tokens();
    let resp = get(&sim, &t, "/v1/verenigingen/V0001001").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp
        .headers()
        .contains_key(reqwest::header::WWW_AUTHENTICATE));
    // a new token works again
    let t = token(&sim).await;
    assert_eq!(detail_status(&sim, &t).await, StatusCode::OK);
    // the control API expires too
    let expired = c
        .post(format!("{}/_sim/tokens/expire", sim.base_url()))
        .send()
        .await;
    assert_eq!(expired.unwrap().status(), StatusCode::OK);
    assert_eq!(detail_status(&sim, &t).await, StatusCode::UNAUTHORIZED);
    assert_eq!(sim.stats().unauthorized, 4);
}

#[tokio::test]
async fn tokens_expire_after_ttl() {
    let sim = start_with(RegisterSimConfig {
        token_ttl: Duration::from_millis(300),
        ..RegisterSimConfig::with_seed()
    })
    .await;
    let t = token(&sim).await;
    assert_eq!(detail_status(&sim, &t).await, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(detail_status(&sim, &t).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn mutaties_order_and_sinds() {
    let sim = start().await;
    let t = token(&sim).await;
    let n = seed().len() as u64;
    assert_eq!(sim.sequence(), n);

    let all = mutaties(&sim, &t, 0).await;
    assert_eq!(all.len() as u64, n);
    let seqs: Vec<u64> = all.iter().map(|(_, s)| *s).collect();
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>());
    assert_eq!(all[0].0, "V0001001");

    // missing sinds means 0
    let resp = get(&sim, &t, "/v1/verenigingen/mutaties").await;
    assert_eq!(resp.json::<Vec<Value>>().await.unwrap().len() as u64, n);

    let tail = mutaties(&sim, &t, n - 3).await;
    assert_eq!(tail.len(), 3);
    assert!(tail.iter().all(|(_, s)| *s > n - 3));
    assert!(mutaties(&sim, &t, n).await.is_empty());
    assert!(mutaties(&sim, &t, n + 100).await.is_empty());

    for bad in ["abc", "-1", "1.5"] {
        let resp = get(&sim, &t, &format!("/v1/verenigingen/mutaties?sinds={bad}")).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(is_problem(&resp));
    }

    // several changes of one vCode give one entry with the latest sequence
    let v = "V0001005";
    sim.rename(v, "Een").unwrap();
    sim.rename("V0001010", "Twee").unwrap();
    let last = sim.rename(v, "Drie").unwrap();
    let changes = mutaties(&sim, &t, n).await;
    assert_eq!(
        changes,
        vec![("V0001010".to_owned(), n + 2), (v.to_owned(), last)]
    );
    assert_eq!(sim.stats().mutaties_requests, 9);
}

#[tokio::test]
async fn detail_etag_and_removal() {
    let sim = start().await;
    let t = token(&sim).await;
    let resp = get(&sim, &t, "/v1/verenigingen/v0001001").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[reqwest::header::ETAG], "W/\"1\"");
    assert_eq!(
        resp.headers()[reqwest::header::CONTENT_TYPE],
        "application/json"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["@context"], DETAIL_CONTEXT);
    assert_eq!(body["vereniging"], sim.get("V0001001").unwrap());
    let date = body["metadata"]["datumLaatsteAanpassing"].as_str().unwrap();
    assert_eq!(date.len(), 10);
    assert_eq!(&date[4..5], "-");

    let resp = get(&sim, &t, "/v1/verenigingen/V9999999").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(is_problem(&resp));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], 404);
    assert_eq!(body["instance"], "/v1/verenigingen/V9999999");

    for bad in ["X0001001", "V12", "V00010010"] {
        let resp = get(&sim, &t, &format!("/v1/verenigingen/{bad}")).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(is_problem(&resp));
    }

    let before = sim.sequence();
    let seq = sim.remove("V0001002").unwrap();
    assert_eq!(seq, before + 1);
    let resp = get(&sim, &t, "/v1/verenigingen/V0001002").await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(is_problem(&resp));
    assert_eq!(
        mutaties(&sim, &t, before).await,
        vec![("V0001002".to_owned(), seq)]
    );
    assert!(!sim.vcodes().contains(&"V0001002".to_owned()));
    assert_eq!(sim.get("V0001002"), None);
    assert_eq!(sim.remove("V0001002"), None);
    assert_eq!(sim.rename("V0001002", "x"), None);
    assert_eq!(sim.stats().detail_requests, 6);
}

#[tokio::test]
async fn rename_bumps_version_and_sequence() {
    let sim = start().await;
    let t = token(&sim).await;
    let before = sim.sequence();
    let seq = sim
        .rename(
            "V0001003",
            "Koninklijke Atletiekvereniging Aalst-Denderstreek",
        )
        .unwrap();
    assert_eq!(seq, before + 1);
    assert_eq!(sim.sequence(), seq);
    assert_eq!(sim.version("V0001003"), Some(2));
    let resp = get(&sim, &t, "/v1/verenigingen/V0001003").await;
    assert_eq!(resp.headers()[reqwest::header::ETAG], "W/\"2\"");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["vereniging"]["naam"],
        "Koninklijke Atletiekvereniging Aalst-Denderstreek"
    );
    assert_eq!(
        mutaties(&sim, &t, before).await,
        vec![("V0001003".to_owned(), seq)]
    );
    // stop
    let seq2 = sim.stop("V0001003", "2025-01-31").unwrap();
    assert_eq!(seq2, seq + 1);
    let v = sim.get("V0001003").unwrap();
    assert_eq!(v["status"], "Gestopt");
    assert_eq!(v["einddatum"], "2025-01-31");
    assert!(validate_vereniging(&v).is_ok());
    // patch keeps the vCode
    sim.patch(
        "V0001003",
        json!({"vCode": "V0009999", "korteNaam": "KAVA-D"}),
    )
    .unwrap();
    let v = sim.get("V0001003").unwrap();
    assert_eq!(v["vCode"], "V0001003");
    assert_eq!(v["korteNaam"], "KAVA-D");
    assert_eq!(sim.version("V0001003"), Some(4));
}

#[tokio::test]
async fn malformed_until_next_change() {
    let sim = start().await;
    let t = token(&sim).await;
    let before = sim.sequence();
    let seq = sim.make_malformed("V0001004").unwrap();
    assert_eq!(seq, before + 1);
    assert_eq!(
        mutaties(&sim, &t, before).await,
        vec![("V0001004".to_owned(), seq)]
    );
    let resp = get(&sim, &t, "/v1/verenigingen/V0001004").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["vereniging"]["naam"], 42);
    assert_eq!(body["vereniging"]["locaties"], "nope");
    // the stored object itself stays valid
    assert!(validate_vereniging(&sim.get("V0001004").unwrap()).is_ok());

    sim.rename("V0001004", "Weer leesbaar").unwrap();
    let body: Value = get(&sim, &t, "/v1/verenigingen/V0001004")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["vereniging"]["naam"], "Weer leesbaar");
    assert!(body["vereniging"]["locaties"].is_array());
}

#[tokio::test]
async fn injected_faults() {
    let sim = start().await;
    let t = token(&sim).await;
    sim.fail_next(2, 503);
    for _ in 0..2 {
        let resp = get(&sim, &t, "/v1/verenigingen/mutaties").await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(is_problem(&resp));
    }
    assert_eq!(
        get(&sim, &t, "/v1/verenigingen/mutaties").await.status(),
        StatusCode::OK
    );
    assert_eq!(sim.stats().faults_served, 2);

    // through the control API; faults come before authentication
    let c = Client::new();
    let faults = format!("{}/_sim/faults", sim.base_url());
    let resp = post_json(&c, &faults, &json!({"status": 500, "count": 3})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        get(&sim, "nonsense", "/v1/verenigingen/V0001001")
            .await
            .status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    // 0 clears
    post_json(&c, &faults, &json!({"status": 500, "count": 0})).await;
    assert_eq!(detail_status(&sim, &t).await, StatusCode::OK);
    // the token endpoint is not affected
    sim.fail_next(5, 500);
    token(&sim).await;
    sim.fail_next(0, 500);

    let resp = post_json(&c, &faults, &json!({"status": 1000, "count": 1})).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = c
        .post(&faults)
        .body("not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    let stats: Value = get_json(&c, format!("{}/_sim/stats", sim.base_url())).await;
    assert_eq!(stats["faults_served"], 3);
    assert_eq!(stats["token_requests"], 2);
    assert_eq!(stats["mutaties_requests"], 3);
    assert_eq!(stats["detail_requests"], 2);
    assert_eq!(stats["unauthorized"], 0);
}

#[tokio::test]
async fn control_api_over_http() {
    let sim = start().await;
    let t = token(&sim).await;
    let c = Client::new();
    let base = sim.base_url();

    let list: Vec<String> = get_json(&c, format!("{base}/_sim/verenigingen")).await;
    assert_eq!(list, sim.vcodes());

    let stored: Value = get_json(&c, format!("{base}/_sim/verenigingen/v0001001")).await;
    assert_eq!(stored["vCode"], "V0001001");

    // PUT a new one (vCode taken from the path)
    let mut new = synthetic(1, 7).remove(0);
    new.as_object_mut().unwrap().remove("vCode");
    let resp = c
        .put(format!("{base}/_sim/verenigingen/V0005000"))
        .json(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let r: Value = resp.json().await.unwrap();
    assert_eq!(r["version"], 1);
    assert_eq!(r["sequence"], sim.sequence());
    assert_eq!(
        get(&sim, &t, "/v1/verenigingen/V0005000").await.status(),
        StatusCode::OK
    );

    // a mismatching vCode, a body that is not an object
    let url = format!("{base}/_sim/verenigingen/V0005001");
    for body in [json!({"vCode": "V0005002", "naam": "x"}), json!([1, 2])] {
        let resp = c.put(&url).json(&body).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{body}");
    }

    // PATCH
    let resp = c
        .patch(format!("{base}/_sim/verenigingen/V0001001"))
        .json(&json!({"naam": "Chiro Sint-Jozef Aalst-Centrum", "doelgroep": {"maximumleeftijd": 17}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap()["version"], 2);
    let v = sim.get("V0001001").unwrap();
    assert_eq!(v["naam"], "Chiro Sint-Jozef Aalst-Centrum");
    assert_eq!(v["doelgroep"]["maximumleeftijd"], 17);
    assert_eq!(v["doelgroep"]["minimumleeftijd"], 6);

    // stop
    let stop = format!("{base}/_sim/verenigingen/V0001001/stop");
    let resp = post_json(&c, &stop, &json!({"einddatum": "2025-06-30"})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(sim.get("V0001001").unwrap()["status"], "Gestopt");
    let resp = post_json(&c, &stop, &json!({"einddatum": "30/06/2025"})).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // malformed
    let resp = c
        .post(format!("{base}/_sim/verenigingen/V0001001/malformed"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = get(&sim, &t, "/v1/verenigingen/V0001001")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["vereniging"]["naam"], 42);

    // DELETE
    let removed = format!("{base}/_sim/verenigingen/V0001001");
    let resp = c.delete(&removed).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(detail_status(&sim, &t).await, StatusCode::NOT_FOUND);
    // the removed one is gone for the control API too; a bogus vCode is refused
    for (request, expected) in [
        (c.delete(&removed), StatusCode::NOT_FOUND),
        (c.get(&removed), StatusCode::NOT_FOUND),
        (
            c.patch(format!("{base}/_sim/verenigingen/bogus"))
                .json(&json!({})),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let resp = request.send().await.unwrap();
        assert_eq!(resp.status(), expected, "{}", resp.url());
    }

    // re-creating a removed vCode continues its version
    let seq = sim.put(stored);
    assert_eq!(seq, sim.sequence());
    assert_eq!(sim.version("V0001001"), Some(6));
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let sim = start().await;
    let url = sim.token_url();
    sim.shutdown();
    sim.stopped().await.unwrap();
    let r = Client::new()
        .post(url)
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await;
    assert!(r.is_err());
}

#[tokio::test]
async fn start_rejects_bad_vcode() {
    let config = RegisterSimConfig {
        associations: vec![json!({"vCode": "nope"})],
        ..RegisterSimConfig::default()
    };
    let err = RegisterSim::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

// ---------------------------------------------------------------------------------------------
// data

fn postcodes(v: &Value) -> Vec<String> {
    v["locaties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["adres"]["postcode"].as_str().unwrap().to_owned())
        .collect()
}

fn count_in(data: &[Value], pcs: &[&str]) -> usize {
    data.iter()
        .filter(|v| postcodes(v).iter().any(|p| pcs.contains(&p.as_str())))
        .count()
}

fn assert_all_valid(data: &[Value]) {
    let mut vcodes = HashSet::new();
    for v in data {
        if let Err(errs) = validate_vereniging(v) {
            panic!("invalid vereniging: {errs:#?}");
        }
        assert!(
            vcodes.insert(v["vCode"].as_str().unwrap().to_owned()),
            "duplicate vCode"
        );
        for r in v["vertegenwoordigers"].as_array().unwrap() {
            let insz = r["insz"].as_str().unwrap();
            assert_eq!(insz.len(), 11);
            assert!(insz.bytes().all(|b| b.is_ascii_digit()));
            assert!(insz_is_valid(insz), "{insz}");
        }
        for s in v["sleutels"].as_array().unwrap() {
            if s["bron"] == "KBO" {
                let kbo = s["waarde"].as_str().unwrap();
                assert_eq!(kbo.len(), 10);
                assert!(kbo_is_valid(kbo), "{kbo}");
            }
        }
    }
}

const AALST: &[&str] = &["9300", "9308", "9310", "9320"];
const EVERGEM: &[&str] = &["9940"];
const BEVEREN: &[&str] = &["9120", "9130", "9150", "2070"];

#[test]
fn seed_is_valid_and_spread() {
    let data = seed();
    assert!(data.len() >= 55, "{}", data.len());
    assert_all_valid(&data);
    for (i, v) in data.iter().enumerate() {
        assert_eq!(v["vCode"], format!("V{:07}", 1001 + i));
    }
    assert!(count_in(&data, AALST) >= 10);
    assert!(count_in(&data, EVERGEM) >= 8);
    assert!(count_in(&data, BEVEREN) >= 8);
    assert!(data
        .iter()
        .filter(|v| postcodes(v).iter().any(|p| AALST.contains(&p.as_str())))
        .all(|v| v["locaties"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| AALST.contains(&l["adres"]["postcode"].as_str().unwrap()))
            .all(|l| l["adres"]["gemeente"] == "Aalst")));
    assert!(data.iter().filter(|v| postcodes(v).is_empty()).count() >= 2);
    assert!(data.iter().any(|v| {
        let p = postcodes(v);
        p.iter().any(|p| AALST.contains(&p.as_str())) && p.iter().any(|p| p == "9000")
    }));
    let types: HashSet<&str> = data
        .iter()
        .map(|v| v["verenigingstype"]["code"].as_str().unwrap())
        .collect();
    for t in ["FV", "VZER", "VZW", "IVZW", "PS"] {
        assert!(types.contains(t), "{t}");
    }
    assert!(data.iter().filter(|v| v["status"] == "Gestopt").count() >= 2);
    let with = |code: &str| {
        data.iter()
            .filter(|v| {
                v["hoofdactiviteitenVerenigingsloket"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|h| h["code"] == code)
            })
            .count()
    };
    assert!(with("JGDW") >= 5);
    assert!(with("SPRT") >= 5);
}

#[test]
fn synthetic_is_fast_valid_and_deterministic() {
    let started = Instant::now();
    let data = synthetic(10_000, 1);
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    assert_eq!(data.len(), 10_000);
    assert_all_valid(&data);
    let last_seed = seed().len() as u64 + 1000;
    assert_eq!(data[0]["vCode"], format!("V{:07}", last_seed + 1));
    let seed_codes: HashSet<String> = seed()
        .iter()
        .map(|v| v["vCode"].as_str().unwrap().to_owned())
        .collect();
    assert!(data
        .iter()
        .all(|v| !seed_codes.contains(v["vCode"].as_str().unwrap())));
    assert!(count_in(&data, AALST) > 1000);
    assert!(count_in(&data, EVERGEM) > 500);
    assert!(count_in(&data, BEVEREN) > 500);
    assert_eq!(synthetic(50, 1), data[..50].to_vec());
    assert_ne!(synthetic(50, 2), data[..50].to_vec());
}

#[tokio::test]
async fn large_register_serves_mutaties() {
    let mut associations = seed();
    associations.extend(synthetic(10_000, 3));
    let sim = start_with(RegisterSimConfig {
        associations,
        ..RegisterSimConfig::default()
    })
    .await;
    let t = token(&sim).await;
    let all = mutaties(&sim, &t, 0).await;
    assert_eq!(all.len() as u64, sim.sequence());
    assert!(all.windows(2).all(|w| w[0].1 < w[1].1));
}
