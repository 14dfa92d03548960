//! `callbot doctor` against the sandboxes: it passes as they come, and names the failing check
//! (with a non-zero exit) for each broken setting.

mod common;

use std::process::Output;

use common::callbot;

/// Runs `callbot doctor` with `vars` on a fresh data dir.
async fn doctor(vars: &[(&str, String)]) -> (Output, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::from(callbot());
    command
        .arg("doctor")
        .arg("--data-dir")
        .arg(dir.path())
        .env("RUST_LOG", "off");
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

fn twilio_vars(
    twilio: &sandbox::twilio::TwilioSandbox,
    token: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("TWILIO_ACCOUNT_SID", twilio.account_sid().to_owned()),
        ("TWILIO_AUTH_TOKEN", token.to_owned()),
        (
            "TWILIO_PHONE_NUMBER",
            sandbox::twilio::PHONE_NUMBER.to_owned(),
        ),
        ("TWILIO_API_BASE", twilio.api_base()),
        ("PUBLIC_BASE_URL", "https://callbot.example".to_owned()),
    ]
}

#[tokio::test]
async fn doctor_passes_on_the_embedded_sandboxes() {
    let (output, stdout) = doctor(&[]).await;
    assert!(output.status.success(), "{stdout}");
    for name in [
        "database",
        "NATS",
        "Twilio credentials",
        "Twilio balance",
        "Twilio caller id",
        "ElevenLabs key",
        "ElevenLabs agent",
        "ElevenLabs audio format",
        "ElevenLabs client tools",
        "OpenAI",
        "report font",
        "free disk",
    ] {
        assert!(stdout.contains(&format!("✓ {name}: ")), "{name}: {stdout}");
    }
    assert!(!stdout.contains('✗'), "{stdout}");
}

#[tokio::test]
async fn doctor_names_a_wrong_twilio_token() {
    let twilio = sandbox::twilio::spawn(Default::default()).await;
    let (output, stdout) = doctor(&twilio_vars(&twilio, "not-the-token")).await;
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✗ Twilio credentials: "), "{stdout}");
    assert!(
        stdout.contains("fix: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"),
        "{stdout}"
    );
}

#[tokio::test]
async fn doctor_names_an_unverified_caller_id() {
    let twilio = sandbox::twilio::spawn(Default::default()).await;
    twilio.set_owned_numbers(&[]);
    let token = twilio.auth_token().to_owned();
    let (output, stdout) = doctor(&twilio_vars(&twilio, &token)).await;
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✓ Twilio credentials: "), "{stdout}");
    assert!(stdout.contains("✗ Twilio caller id: "), "{stdout}");
    assert!(stdout.contains("Verified Caller IDs"), "{stdout}");
}

#[tokio::test]
async fn doctor_names_an_agent_with_the_wrong_audio_format_and_a_missing_tool() {
    let elevenlabs = sandbox::elevenlabs::spawn(1.0).await;
    elevenlabs.set_agent_audio_formats("pcm_16000", "ulaw_8000");
    elevenlabs.set_agent_client_tools(&["report_outcome", "opt_out"]);
    let vars = [
        ("ELEVENLABS_API_KEY", elevenlabs.api_key().to_owned()),
        (
            "ELEVENLABS_AGENT_ID",
            sandbox::elevenlabs::AGENT_ID.to_owned(),
        ),
        ("ELEVENLABS_API_BASE", elevenlabs.api_base()),
    ];
    let (output, stdout) = doctor(&vars).await;
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✓ ElevenLabs agent: "), "{stdout}");
    assert!(
        stdout.contains("✗ ElevenLabs audio format: input pcm_16000, output ulaw_8000"),
        "{stdout}"
    );
    assert!(
        stdout.contains("✗ ElevenLabs client tools: missing: revoke_recording_consent"),
        "{stdout}"
    );
    assert!(stdout.contains("2 of 12 checks failed"), "{stdout}");
}

#[tokio::test]
async fn doctor_names_an_agent_that_does_not_exist() {
    let elevenlabs = sandbox::elevenlabs::spawn(1.0).await;
    let vars = [
        ("ELEVENLABS_API_KEY", elevenlabs.api_key().to_owned()),
        ("ELEVENLABS_AGENT_ID", "agent_gone".to_owned()),
        ("ELEVENLABS_API_BASE", elevenlabs.api_base()),
    ];
    let (output, stdout) = doctor(&vars).await;
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("✗ ElevenLabs agent: agent agent_gone not found"),
        "{stdout}"
    );
}
