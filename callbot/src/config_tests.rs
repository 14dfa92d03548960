use super::*;

fn load(dir: &Path, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let var = |name: &str| {
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_string())
    };
    Config::from_lookup(
        "127.0.0.1:0".parse().unwrap(),
        dir.to_path_buf(),
        vec![Role::All],
        var,
    )
}

/// Fails unless `name` set to `value` is refused.
#[track_caller]
fn assert_refused(name: &str, value: &str) {
    let dir = tempfile::tempdir().unwrap();
    assert_invalid(load(dir.path(), &[(name, value)]), name);
}

/// Fails unless `result` is the refusal of the variable `name`.
#[track_caller]
fn assert_invalid<T>(result: Result<T, ConfigError>, name: &str) {
    match result.map(|_| ()) {
        Err(ConfigError::Invalid { name: refused, .. }) if refused == name => {}
        other => panic!("expected {name} to be refused, got {other:?}"),
    }
}

#[test]
fn embedded_mode_generates_secrets_once_and_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let first = load(dir.path(), &[]).unwrap();
    let second = load(dir.path(), &[]).unwrap();
    assert!(first.is_embedded());
    assert_eq!(
        first.jwt_secret.expose_secret(),
        second.jwt_secret.expose_secret()
    );
    assert_eq!(
        first.recording_key.expose_secret(),
        second.recording_key.expose_secret()
    );
    assert!(first.database_url.ends_with("callbot.db"));
}

#[test]
fn postgres_mode_requires_shared_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let err = load(dir.path(), &[("DATABASE_URL", "postgres://localhost/x")]).unwrap_err();
    assert!(matches!(err, ConfigError::Missing { name: "JWT_SECRET" }));
}

#[test]
fn a_recording_key_of_the_wrong_size_is_refused() {
    assert_refused("RECORDING_KEY", "c2hvcnQ=");
}

#[test]
fn trusted_proxies_and_the_metrics_token_are_read_and_a_bad_proxy_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(dir.path(), &[]).unwrap();
    assert!(config.trusted_proxies.is_empty());
    assert!(config.metrics_token.is_none());
    let config = load(
        dir.path(),
        &[
            ("TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8"),
            ("METRICS_TOKEN", " scrape-me "),
        ],
    )
    .unwrap();
    assert!(config.trusted_proxies.contains("10.1.2.3".parse().unwrap()));
    assert_eq!(
        config.metrics_token.as_ref().map(|t| t.expose_secret()),
        Some("scrape-me")
    );
    assert_refused("TRUSTED_PROXIES", "proxy.local");
}

#[test]
fn an_unknown_database_scheme_is_refused() {
    assert_refused("DATABASE_URL", "mysql://x");
}

#[test]
fn openai_settings_come_with_the_key_and_have_defaults() {
    let dir = tempfile::tempdir().unwrap();
    assert!(load(dir.path(), &[]).unwrap().providers.openai.is_none());
    let config = load(dir.path(), &[("OPENAI_API_KEY", "sk-test-secret")]).unwrap();
    let openai = config.providers.openai.clone().unwrap();
    assert_eq!(openai.api_key.expose_secret(), "sk-test-secret");
    assert_eq!(openai.base_url, "https://api.openai.com/v1");
    assert_eq!(openai.model, "gpt-4o-mini");
    assert!(!format!("{config:?}").contains("sk-test-secret"));
    let config = load(
        dir.path(),
        &[
            ("OPENAI_API_KEY", "k"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/"),
            ("OPENAI_MODEL", "gpt-4o"),
        ],
    )
    .unwrap();
    let openai = config.providers.openai.unwrap();
    assert_eq!(
        (openai.base_url.as_str(), openai.model.as_str()),
        ("http://127.0.0.1:9/v1", "gpt-4o")
    );
    assert_invalid(
        load(
            dir.path(),
            &[
                ("OPENAI_API_KEY", "k"),
                ("OPENAI_BASE_URL", "api.openai.com"),
            ],
        ),
        "OPENAI_BASE_URL",
    );
}

/// Fails unless the seconds setting `name` defaults to `default`, reads a good value into
/// `field` and refuses each of `bad`.
#[track_caller]
fn assert_seconds_setting(
    name: &str,
    field: fn(&Config) -> std::time::Duration,
    default: u64,
    good: u64,
    bad: &[&str],
) {
    let dir = tempfile::tempdir().unwrap();
    let seconds = std::time::Duration::from_secs;
    assert_eq!(field(&load(dir.path(), &[]).unwrap()), seconds(default));
    let config = load(dir.path(), &[(name, &good.to_string())]).unwrap();
    assert_eq!(field(&config), seconds(good));
    for value in bad {
        assert_refused(name, value);
    }
}

#[test]
fn the_shutdown_grace_defaults_to_ten_seconds_and_is_bounded() {
    let bad = ["0", "601", "soon", "-1"];
    assert_seconds_setting("SHUTDOWN_GRACE_SECONDS", |c| c.shutdown_grace, 10, 3, &bad);
}

#[test]
fn the_maximum_call_length_defaults_to_fifteen_minutes_and_is_bounded() {
    let bad = ["59", "14401", "long"];
    assert_seconds_setting("MAX_CALL_SECONDS", |c| c.max_call, 900, 300, &bad);
}

#[test]
fn rate_limit_scale_defaults_to_one_and_must_be_positive() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(load(dir.path(), &[]).unwrap().rate_limit_scale, 1.0);
    let config = load(dir.path(), &[("RATE_LIMIT_SCALE", "100")]).unwrap();
    assert_eq!(config.rate_limit_scale, 100.0);
    for bad in ["0", "-2", "lots"] {
        assert_refused("RATE_LIMIT_SCALE", bad);
    }
}

#[test]
fn rates_default_and_refuse_nonsense() {
    let none = |_: &str| None;
    assert_eq!(rates_from_lookup(&none).unwrap(), Rates::default());
    let set = |name: &str| (name == "OPENAI_INPUT_RATE").then(|| "2.5".to_owned());
    assert_eq!(
        rates_from_lookup(&set).unwrap().openai_input_per_million,
        2.5
    );
    let bad = |name: &str| (name == "ELEVENLABS_RATE_PER_MINUTE").then(|| "-1".to_owned());
    let error = rates_from_lookup(&bad).unwrap_err().to_string();
    assert!(error.contains("ELEVENLABS_RATE_PER_MINUTE"), "{error}");
}

#[cfg(unix)]
#[test]
fn finding_8_the_data_dir_and_the_secrets_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let parent = tempfile::tempdir().unwrap();
    let data_dir = parent.path().join("data");
    load(&data_dir, &[]).unwrap();
    assert_eq!(mode(&data_dir), 0o700);
    assert_eq!(mode(&data_dir.join("secrets")), 0o700);
    for name in ["JWT_SECRET", "RECORDING_KEY"] {
        assert_eq!(mode(&data_dir.join("secrets").join(name)), 0o600, "{name}");
    }
    // A data dir an older version left open is closed on the next start.
    std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    load(&data_dir, &[]).unwrap();
    assert_eq!(mode(&data_dir), 0o700);
}

#[test]
fn http_limits_default_and_refuse_nonsense() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(dir.path(), &[]).unwrap();
    assert_eq!(config.http, HttpLimits::default());
    assert_eq!(config.media_unverified_per_address, 64);
    assert_eq!(
        config.media_threads,
        media_bridge::media_threads::MediaThreads::default_count()
    );
    let config = load(
        dir.path(),
        &[
            ("HTTP_HEADER_TIMEOUT_SECONDS", "0.5"),
            ("HTTP_BODY_TIMEOUT_SECONDS", "2"),
            ("HTTP_MAX_CONNECTIONS", "10"),
            ("MEDIA_UNVERIFIED_SOCKETS_PER_ADDRESS", "3"),
            ("MEDIA_START_DEADLINE_SECONDS", "120"),
            ("MEDIA_THREADS", "3"),
        ],
    )
    .unwrap();
    assert_eq!(
        config.http,
        HttpLimits {
            header_timeout: std::time::Duration::from_millis(500),
            body_timeout: std::time::Duration::from_secs(2),
            max_connections: 10,
        }
    );
    assert_eq!(config.media_unverified_per_address, 3);
    assert_eq!(config.media_threads, 3);
    assert_eq!(
        config.media_start_deadline,
        std::time::Duration::from_secs(120)
    );
    for (name, bad) in [
        ("HTTP_HEADER_TIMEOUT_SECONDS", "0"),
        ("HTTP_HEADER_TIMEOUT_SECONDS", "301"),
        ("HTTP_BODY_TIMEOUT_SECONDS", "soon"),
        ("HTTP_MAX_CONNECTIONS", "0"),
        ("MEDIA_UNVERIFIED_SOCKETS_PER_ADDRESS", "-1"),
        ("MEDIA_START_DEADLINE_SECONDS", "601"),
        ("MEDIA_THREADS", "0"),
        ("MEDIA_THREADS", "257"),
    ] {
        assert_refused(name, bad);
    }
}

#[test]
fn secrets_never_show_in_debug_output() {
    let dir = tempfile::tempdir().unwrap();
    let config = load(dir.path(), &[("JWT_SECRET", "hunter2hunter2")]).unwrap();
    assert!(!format!("{config:?}").contains("hunter2"));
}
