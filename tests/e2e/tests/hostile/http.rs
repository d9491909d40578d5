//! Oversize, mistyped, malformed and deeply nested input over HTTP and AMQP, oversize answers
//! from the register and a provider, and a client that stalls in its request head: each is
//! that item's failure (a problem answer, a dead letter or a rejection with its reason) while
//! the next good item goes through and `/readyz` stays 200.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use hub_tests::*;
use partner_sims::uldk::{UldkSim, UldkSimConfig};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SYNC: Duration = Duration::from_secs(60);

/// V0001001: a feitelijke vereniging doing youth work (JGDW) in Aalst: may borrow tents.
const YOUTH_CLUB: &str = "V0001001";

/// The catalogue reduced to ULDK's tents, without periods (so it holds on any date).
fn uldk_config(uldk: &UldkSim) -> String {
    format!(
        r#"
[applications]
poll_interval = "200ms"

[providers.uldk]
kind = "uldk"
url = "{uldk}"
timeout = "5s"

{tentlening}
"#,
        tentlening = ULDK_TENTLENING,
        uldk = uldk.base_url()
    )
}

struct Setup {
    iso: Isolation,
    register: RegisterSim,
    uldk: UldkSim,
    hub: TestHub,
    http: reqwest::Client,
}

impl Setup {
    /// A hub (default municipalities, ULDK on its simulator) synced with the register.
    async fn start(extra: &[(&str, &str)]) -> Setup {
        init_logs();
        let uldk = UldkSim::start(
            UldkSimConfig {
                treatment_after: Duration::from_millis(300),
                decision_after: Duration::from_millis(600),
                ..UldkSimConfig::default()
            },
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let iso = Isolation::new().await.unwrap();
        let register = start_register().await;
        let toml = uldk_config(&uldk);
        let settings = settings_with_file(&iso, &register, &iso.amqp_url(), Some(&toml), extra);
        let hub = TestHub::start(settings).await;
        // Published too: what the test publishes is routed (before, an exchange may exist
        // without its queues' bindings yet).
        wait_synced(&iso, &register, SYNC).await;
        Setup {
            iso,
            register,
            uldk,
            hub,
            http: reqwest::Client::new(),
        }
    }

    async fn post(&self, path: &str, content_type: &str, body: Vec<u8>) -> (u16, String, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.hub.http))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        http_answer(response).await
    }

    /// `POST /applications` of 20 MB of JSON over a raw connection that keeps reading while
    /// it writes (an HTTP client library gives up on the write once the hub answers early
    /// and closes): `chunked`, or with `Content-Length`. Answers status, type and body.
    async fn raw_oversize_post(&self, chunked: bool) -> (u16, String, Value) {
        const SIZE: usize = 20 * 1024 * 1024;
        let addr = self.hub.http.trim_start_matches("http://").to_owned();
        let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let (mut read, mut write) = stream.into_split();
        let length = if chunked {
            "transfer-encoding: chunked".to_owned()
        } else {
            format!("content-length: {SIZE}")
        };
        let head = format!(
            "POST /applications HTTP/1.1\r\nhost: hub\r\ncontent-type: application/json\r\n{length}\r\n\r\n"
        );
        let writer = tokio::spawn(async move {
            write.write_all(head.as_bytes()).await?;
            let piece = vec![b' '; 64 * 1024];
            for _ in 0..SIZE / piece.len() {
                if chunked {
                    write
                        .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                        .await?;
                    write.write_all(&piece).await?;
                    write.write_all(b"\r\n").await?;
                } else {
                    write.write_all(&piece).await?;
                }
            }
            if chunked {
                write.write_all(b"0\r\n\r\n").await?;
            }
            std::io::Result::Ok(())
        });
        let mut answer = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        let complete = |a: &[u8]| {
            let text = String::from_utf8_lossy(a);
            let Some((head, body)) = text.split_once("\r\n\r\n") else {
                return false;
            };
            let length = header(head, "content-length").and_then(|v| v.parse::<usize>().ok());
            length.is_some_and(|n| body.len() >= n)
        };
        let read_all = async {
            while !complete(&answer) {
                match read.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => answer.extend_from_slice(&buf[..n]),
                }
            }
        };
        tokio::time::timeout(SYNC, read_all).await.unwrap();
        writer.abort();
        let text = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let kind = header(head, "content-type").unwrap_or_default();
        (
            status,
            kind,
            serde_json::from_str(body).unwrap_or(Value::Null),
        )
    }

    /// `/readyz` answers 200. Polled rather than asked once: other test binaries may
    /// restart the shared RabbitMQ (`restart_rabbitmq`), which no hub can be ready through.
    async fn assert_ready(&self) {
        eventually(SYNC, "/readyz 200", || async {
            self.hub.get("/readyz").await.status().as_u16() == 200
        })
        .await;
    }

    /// `(failure, last_error)` of the dead letters recorded for `queue`, waiting for `n`.
    async fn dead_letters(&self, queue: &str, n: usize) -> Vec<(String, String)> {
        let mut db = self.iso.db().await;
        let mut rows: Vec<(String, String)> = Vec::new();
        let deadline = tokio::time::Instant::now() + SYNC;
        while tokio::time::Instant::now() < deadline {
            rows = sqlx::query_as(
                "SELECT failure, coalesce(last_error, '') FROM dead_letter WHERE queue = $1 ORDER BY id",
            )
            .bind(queue)
            .fetch_all(&mut db)
            .await
            .unwrap();
            if rows.len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        rows
    }

    async fn application_status(&self, id: &str) -> Option<String> {
        let response = self.hub.get(&format!("/applications/{id}")).await;
        if response.status().as_u16() != 200 {
            return None;
        }
        let body: Value = response.json().await.unwrap();
        body["status"].as_str().map(str::to_owned)
    }

    async fn stop(self) {
        self.hub.stop().await;
        self.register.shutdown();
        self.uldk.shutdown();
        self.iso.cleanup().await;
    }
}

/// The value of header `name` (lower case) in a raw HTTP head, lower-cased.
fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix(&format!("{name}:"))
            .map(|v| v.trim().to_owned())
    })
}

fn application(v_code: &str) -> (String, Value) {
    super::fixture::tent_loan(v_code, "Gent")
}

/// Asserts that `answer` is the problem `status`, `title` with a detail containing
/// `detail`; `case` names the request in the messages.
fn assert_problem(
    case: &str,
    answer: &(u16, String, Value),
    status: u16,
    title: &str,
    detail: &str,
) {
    let (got, kind, body) = answer;
    assert_eq!(*got, status, "{case}: {body}");
    assert_eq!(kind, "application/problem+json", "{case}: {body}");
    assert_eq!(body["status"], status, "{case}: {body}");
    assert_eq!(body["title"], title, "{case}: {body}");
    let text = body["detail"].as_str().unwrap_or_default();
    assert!(text.contains(detail), "{case}: {detail:?} not in {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_http_bodies_get_problems_and_the_next_application_is_accepted() {
    let s = Setup::start(&[]).await;
    let json_type = "application/json";

    // 20 MB: 413 (the default limit is 1 MiB), not 400 invalid-json; declared by its
    // Content-Length (refused before anything is read) or chunked (refused once past it).
    let answer = s.raw_oversize_post(false).await;
    assert_problem(
        "20 MB with Content-Length",
        &answer,
        413,
        "Request body too large",
        "larger than 1048576 bytes (http.max_body_bytes; Content-Length 20971520)",
    );
    let answer = s.raw_oversize_post(true).await;
    assert_problem(
        "20 MB chunked",
        &answer,
        413,
        "Request body too large",
        "larger than 1048576 bytes (http.max_body_bytes; read so far)",
    );
    s.assert_ready().await;

    // Malformed UTF-8: 400 with the offset.
    let answer = s
        .post(
            "/applications",
            json_type,
            b"{\"naam\": \"\xc3\x28\"}".to_vec(),
        )
        .await;
    assert_problem(
        "malformed UTF-8",
        &answer,
        400,
        "Invalid JSON",
        "the body is not UTF-8: invalid byte at offset 10",
    );
    assert_eq!(answer.2["errors"][0]["code"], "invalid-json");

    let (_, good) = application(YOUTH_CLUB);
    let (id, _) = application(YOUTH_CLUB);
    let withdraw = format!("/applications/{id}/withdraw");
    // (case, path, content type, body, status, title, detail)
    let cases = [
        // Not JSON by its content type: 415, on both JSON routes.
        (
            "an application as text/plain",
            "/applications",
            "text/plain",
            serde_json::to_vec(&good).unwrap(),
            415,
            "Unsupported media type",
            "given: \"text/plain\"",
        ),
        (
            "a withdrawal as text/xml",
            withdraw.as_str(),
            "text/xml",
            b"<x/>".to_vec(),
            415,
            "Unsupported media type",
            "given: \"text/xml\"",
        ),
        // 10,000 levels of nesting: 400, serde_json stops at its recursion limit.
        (
            "10,000 levels of nesting",
            "/applications",
            json_type,
            "[".repeat(10_000).into_bytes(),
            400,
            "Invalid JSON",
            "the body is not valid JSON: recursion limit exceeded",
        ),
        // application/*+json is JSON too: this one is only invalid as JSON.
        (
            "application/merge-patch+json",
            "/applications",
            "application/merge-patch+json",
            b"{".to_vec(),
            400,
            "Invalid JSON",
            "the body is not valid JSON: EOF",
        ),
    ];
    for (case, path, content_type, body, status, title, detail) in cases {
        let answer = s.post(path, content_type, body).await;
        assert_problem(case, &answer, status, title, detail);
    }

    // Nothing held up: a good application right after is accepted, the hub ready.
    s.assert_ready().await;
    let (id, good) = application(YOUTH_CLUB);
    let (status, _, body) = s
        .post(
            "/applications",
            "application/json; charset=utf-8",
            serde_json::to_vec(&good).unwrap(),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["applicationId"], id.as_str());
    s.assert_ready().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_stalling_in_its_request_head_is_disconnected() {
    init_logs();
    let iso = Isolation::new().await.unwrap();
    let register = start_register().await;
    let settings = settings(&iso, &register, &[("http.header_read_timeout", "1s")]);
    let hub = TestHub::start(settings).await;
    eventually(SYNC, "ready", || async {
        hub.get("/readyz").await.status().as_u16() == 200
    })
    .await;

    let addr = hub.http.trim_start_matches("http://").to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stalled
        .write_all(b"GET /readyz HTTP/1.1\r\nHo")
        .await
        .unwrap();
    // The hub stays ready for everyone else while the stalled client waits.
    assert_eq!(hub.get("/readyz").await.status().as_u16(), 200);
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(20), stalled.read_to_end(&mut rest))
        .await
        .expect("the stalled connection was not closed");
    // Closed (EOF or reset), and never answered as if the request had been complete.
    let answered = String::from_utf8_lossy(&rest).into_owned();
    assert!(!answered.contains("200 OK"), "{answered}");
    drop(closed);
    assert_eq!(hub.get("/readyz").await.status().as_u16(), 200);

    stop_all(hub, register, iso).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_amqp_messages_are_dead_lettered_with_their_reason_and_good_ones_follow() {
    let s = Setup::start(&[]).await;
    let oversize = format!("{{\"x\": \"{}\"}}", "x".repeat(1024 * 1024)).into_bytes();
    let deep = "[".repeat(10_000).into_bytes();
    let not_utf8 = b"{\"applicationId\": \"\xff\"}".to_vec();
    let bad: [(&[u8], String); 3] = [
        (
            &oversize,
            format!(
                "refused: the body is {} bytes, larger than the limit of 1048576 bytes",
                oversize.len()
            ),
        ),
        (
            &deep,
            "refused: the body is not JSON: recursion limit exceeded".to_owned(),
        ),
        (
            &not_utf8,
            "refused: the body is not UTF-8 (invalid byte at offset 19)".to_owned(),
        ),
    ];

    // hub.applications.intake
    for (body, _) in &bad {
        let id = uuid::Uuid::new_v4().to_string();
        let kind = "application.submitted";
        publish_raw(&s.iso, "hub.applications", kind, kind, &id, body).await;
    }
    let (id, good) = application(YOUTH_CLUB);
    let kind = "application.submitted";
    let message_id = uuid::Uuid::new_v4().to_string();
    let body = serde_json::to_vec(&good).unwrap();
    publish_raw(&s.iso, "hub.applications", kind, kind, &message_id, &body).await;

    // hub.commands.aalst
    let kind = "association.add-contactgegeven";
    for (body, _) in &bad {
        let id = uuid::Uuid::new_v4().to_string();
        publish_raw(
            &s.iso,
            "hub.commands",
            &format!("aalst.{kind}"),
            kind,
            &id,
            body,
        )
        .await;
    }
    let command_id = uuid::Uuid::new_v4().to_string();
    let command = json!({
        "commandId": command_id,
        "type": kind,
        "vCode": YOUTH_CLUB,
        "data": { "contactgegeventype": "E-mail", "waarde": "secretariaat@jeugd-aalst.be" },
    });
    let message_id = uuid::Uuid::new_v4().to_string();
    let body = serde_json::to_vec(&command).unwrap();
    publish_raw(
        &s.iso,
        "hub.commands",
        &format!("aalst.{kind}"),
        kind,
        &message_id,
        &body,
    )
    .await;

    for queue in ["hub.applications.intake", "hub.commands.aalst"] {
        let dead = s.dead_letters(queue, bad.len()).await;
        assert_eq!(dead.len(), bad.len(), "{queue}: {dead:?}");
        for ((failure, reason), (_, expected)) in dead.iter().zip(&bad) {
            assert_eq!(failure, "permanent", "{queue}");
            assert!(reason.starts_with(expected.as_str()), "{queue}: {reason:?}");
        }
    }

    // The good ones after them went through.
    eventually(SYNC, "the good application stored", || async {
        s.application_status(&id).await.is_some()
    })
    .await;
    let reader = QueueReader::connect(&s.iso).await;
    let replies = reader
        .take_at_least(
            "municipality.aalst.replies",
            1,
            SYNC,
            Duration::from_millis(500),
        )
        .await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert_eq!(replies[0].body["commandId"], command_id.as_str());
    assert_eq!(
        replies[0].body["outcome"], "accepted",
        "{}",
        replies[0].body
    );
    s.assert_ready().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_register_document_is_rejected_and_later_changes_flow() {
    let s = Setup::start(&[]).await;
    let huge = "V0001005";
    let sequence = s.register.make_huge(huge, 5 * 1024 * 1024).unwrap();
    let renamed = "V0001006";
    s.register.rename(renamed, "Na het grote document").unwrap();

    let (v_code, seq, reason): (String, i64, String) = one_row_within(
        &s.iso,
        "SELECT vcode, sequence, reason FROM register_rejection",
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(v_code, huge);
    assert_eq!(seq as u64, sequence);
    assert!(
        reason.starts_with("detail document refused: answer larger than 4194304 bytes"),
        "{reason}"
    );

    // The change after it in the feed arrived.
    eventually(SYNC, "the later rename projected", || async {
        let body: Value = s
            .hub
            .get(&format!("/associations/{renamed}"))
            .await
            .json()
            .await
            .unwrap_or(Value::Null);
        body["naam"] == "Na het grote document"
    })
    .await;
    s.assert_ready().await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_provider_answer_fails_that_application_only() {
    let s = Setup::start(&[]).await;
    let (first, first_body) = application(YOUTH_CLUB);
    let (second, second_body) = application(YOUTH_CLUB);
    s.uldk
        .huge_answer_when_body_contains(&first, 5 * 1024 * 1024);
    for body in [&first_body, &second_body] {
        let (status, _, answer) = s
            .post(
                "/applications",
                "application/json",
                serde_json::to_vec(body).unwrap(),
            )
            .await;
        assert_eq!(status, 202, "{answer}");
    }

    let dead = s.dead_letters("hub.provider.uldk", 1).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].0, "permanent");
    assert!(
        dead[0]
            .1
            .contains("answered 201 Created: answer larger than 4194304 bytes"),
        "{}",
        dead[0].1
    );
    assert!(dead[0].1.contains(&first), "{}", dead[0].1);

    // The other application was submitted and is followed up.
    eventually(SYNC, "the second application received by ULDK", || async {
        matches!(
            s.application_status(&second).await.as_deref(),
            Some("ontvangen" | "in_behandeling" | "goedgekeurd" | "afgewezen")
        )
    })
    .await;
    assert_eq!(
        s.application_status(&first).await.as_deref(),
        Some("ingediend")
    );
    s.assert_ready().await;
    s.stop().await;
}
