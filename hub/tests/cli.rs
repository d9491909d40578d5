//! The `hub` binary's configuration check, as an operator runs it.

#![allow(clippy::unwrap_used)]

use std::process::Command;

fn check_config(extra_file: &str, env: &[(&str, &str)]) -> (bool, String, String) {
    let dir = std::env::temp_dir().join(format!("hub-cli-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("extra.toml");
    std::fs::write(&file, extra_file).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hub"))
        .args([
            "check-config",
            "--config-dir",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../config"),
            "--env",
            "none",
        ])
        .arg("--config")
        .arg(&file)
        .env_remove("HUB_ENV")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(dir);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_default_configuration_is_valid() {
    let (ok, stdout, stderr) = check_config("", &[]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("configuration is valid"), "{stdout}");
}

#[test]
fn every_problem_is_reported_with_its_key_and_the_exit_code_says_so() {
    let bad = r#"
        [broker]
        prefetch = 0
        url = "http://guest:hunter2@rabbit/"

        [register]
        poll_interval = "every now and then"
        colour = "blue"

        [[subscribers]]
        name = "Aalst Centrum"
        selector = { kind = "postcodes", postcodes = ["93000"] }
    "#;
    let (ok, _, stderr) = check_config(bad, &[("HUB__REGISTER__CLIENT_SECRET", "")]);
    assert!(!ok, "invalid configuration must fail");
    for key in [
        "broker.prefetch",
        "broker.url",
        "register.poll_interval",
        "register.colour",
        "register.client_secret",
        "subscribers[0].name",
        "subscribers[0].selector.postcodes",
    ] {
        assert!(stderr.contains(key), "{key} missing from:\n{stderr}");
    }
    assert!(!stderr.contains("hunter2"), "a secret leaked:\n{stderr}");
}
