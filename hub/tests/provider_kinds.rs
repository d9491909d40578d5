//! A provider kind defined outside the hub plugs in without an edit of the hub: the kind
//! (settings type, checks, `build`) is added to the standard list through
//! `ProviderKinds::with`, a configuration declares an instance of it, a service names that
//! instance, and the adapter built from the configuration serves an application the hub's
//! catalogue checked and enriched. No RabbitMQ or PostgreSQL needed.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use adapter_provider::Decision;
use contracts::applications::ApplicationSubmitted;
use contracts::register::VerenigingDetail;
use hub::config::{load_with, ConfigErrors, Settings, Sources};
use hub::features::applications::catalogue::{enrich, validate_fields, ProviderRef};
use hub::features::applications::providers::ProviderKinds;
use test_support::echo::EchoKind;

/// The checked-in configuration with `extra` applied over it.
fn load(extra: &str, kinds: &ProviderKinds) -> Result<Settings, ConfigErrors> {
    let file = std::env::temp_dir().join(format!("hub-kinds-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(&file, extra).unwrap();
    let loaded = load_with(
        &Sources {
            dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../config")),
            env: None,
            file: Some(file.clone()),
            overrides: Vec::new(),
            environment_variables: false,
        },
        kinds,
    );
    let _ = std::fs::remove_file(file);
    loaded
}

const ECHO: &str = test_support::echo::CONFIG;

#[tokio::test]
async fn a_provider_kind_from_outside_the_hub_plugs_in() {
    let echo = EchoKind::default();
    let kinds = ProviderKinds::standard().with(echo.clone());
    assert_eq!(kinds.names(), ["kiosk", "uldk", "insurance", "test"]);
    let settings = load(ECHO, &kinds).unwrap();

    // The instance sits beside the standard ones; the service names it.
    assert_eq!(
        settings.providers.names(),
        ["kiosk", "uldk", "insurance", "echo"]
    );
    let instance = settings.providers.get("echo").unwrap();
    assert_eq!(instance.kind, "test");
    assert_eq!(instance.endpoint(), None);
    let service = settings.services.get("echo-attest").unwrap();
    assert_eq!(service.provider, ProviderRef::Named("echo".into()));
    // The topology gives it its queue like any provider's.
    let topology = hub::app::topology(&settings);
    assert!(topology
        .consumer_queues()
        .contains(&"hub.provider.echo".to_owned()));

    // An application for the service, checked and enriched by the hub's catalogue.
    let raw = include_str!(
        "../../contracts/examples/applications/application.submitted.kiosk-projectsubsidie.json"
    );
    let mut submitted: ApplicationSubmitted = serde_json::from_str(raw).unwrap();
    submitted.service_code = "echo-attest".into();
    submitted.fields.remove("gevraagdBedrag");
    submitted.fields.remove("begindatum");
    submitted.fields.remove("einddatum");
    submitted.fields.remove("omschrijving");
    assert_eq!(validate_fields(service, &submitted.fields), vec![]);
    let vereniging = serde_json::from_str::<VerenigingDetail>(include_str!(
        "../../contracts/examples/register/detail-V0001001.json"
    ))
    .unwrap()
    .vereniging;
    assert_eq!(
        settings
            .services
            .eligibility(service, &vereniging, submitted.metadata.time.date()),
        Ok(())
    );
    let enriched = enrich(service, &submitted, &vereniging);

    // The adapter built from the configuration serves it.
    let provider = instance.build().unwrap();
    let answer = provider.submit(&enriched).await.unwrap();
    assert_eq!(answer.decision, Decision::Received);
    assert_eq!(
        answer.reference,
        format!("ECHO-{}", submitted.application_id)
    );
    assert_eq!(
        provider.status(&answer.reference).await.unwrap(),
        Decision::Approved {
            detail: Some("echoed".into())
        }
    );
    let received: Vec<uuid::Uuid> = echo.received().iter().map(|a| a.application_id).collect();
    assert_eq!(received, [submitted.application_id]);
}

#[test]
fn the_kinds_problems_come_with_their_keys_and_the_others() {
    let kinds = ProviderKinds::standard().with(EchoKind::default());
    let err = load(
        r#"
[register]
colour = "blue"

[providers.echo]
kind = "test"
verdict = "maybe"
prefix = ""

[providers.loud]
kind = "test"
verdict = "approve"
volume = 11
"#,
        &kinds,
    )
    .unwrap_err();
    let unreported = err.unreported(&[
        "register.colour",
        "providers.echo.verdict",
        "providers.echo.prefix",
        "providers.loud",
    ]);
    assert!(unreported.is_empty(), "{unreported:?} missing from {err}");
}

#[test]
fn without_the_kind_its_instances_are_refused() {
    let err = load(ECHO, &ProviderKinds::standard()).unwrap_err();
    assert_eq!(
        err.problems(),
        [(
            "providers.echo.kind",
            "unknown provider kind \"test\": expected one of kiosk, uldk, insurance"
        )]
    );
}
