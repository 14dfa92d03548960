//! `callbot doctor`: checks the configuration and each provider for real, prints each check with
//! ✓ or ✗ and, for a failed one, the fix. Without credentials a provider is its embedded sandbox,
//! which is set up as Auto CallBot needs, so every check passes.

use std::sync::Arc;
use std::time::Duration;

use commands::{Db, EventBus, EventStore, SystemClock};
use media_bridge::provider_accounts::{ELEVENLABS_CREDITS_PER_CALL, TWILIO_MIN_MICROS};
use projections::reports::ReportFont;
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::config::Config;
use crate::providers::Providers;

/// How long one check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(15);
/// Free space below which the data dir's disk fails the check.
const MIN_FREE_BYTES: u64 = 1 << 30;
/// The audio format Twilio Media Streams carry, both ways.
const ULAW_8000: &str = "ulaw_8000";
/// The client tools the agent must define.
pub const CLIENT_TOOLS: [&str; 3] = ["report_outcome", "opt_out", "revoke_recording_consent"];

/// One check's name and outcome: what was found, or what is wrong and how to fix it.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: &'static str,
    pub outcome: Result<String, Failure>,
}

/// A failed check.
#[derive(Debug, Clone)]
pub struct Failure {
    pub problem: String,
    pub fix: String,
}

fn pass(name: &'static str, found: impl Into<String>) -> Check {
    Check {
        name,
        outcome: Ok(found.into()),
    }
}

fn fail(name: &'static str, problem: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        name,
        outcome: Err(Failure {
            problem: problem.into(),
            fix: fix.into(),
        }),
    }
}

impl Check {
    /// `✓ name: found` or `✗ name: problem` and `  fix: …`.
    pub fn line(&self) -> String {
        match &self.outcome {
            Ok(found) => format!("✓ {}: {found}", self.name),
            Err(failure) => format!(
                "✗ {}: {}\n    fix: {}",
                self.name, failure.problem, failure.fix
            ),
        }
    }
}

/// Every check, in order.
pub async fn run(config: &Config) -> Vec<Check> {
    let mut checks = Vec::new();
    let db = match within(Db::connect_and_migrate(&config.database_url)).await {
        Ok(Ok(db)) => {
            checks.push(pass("database", "reachable, migrations applied"));
            Some(db)
        }
        Ok(Err(error)) => {
            checks.push(fail(
                "database",
                error.to_string(),
                "set DATABASE_URL to a reachable Postgres (or leave it unset for the embedded SQLite)",
            ));
            None
        }
        Err(late) => {
            checks.push(fail("database", late, "check DATABASE_URL and the network"));
            None
        }
    };
    checks.push(nats(config).await);
    // The providers need an event store; without the database a scratch one stands in.
    let db = match db {
        Some(db) => Some(db),
        None => Db::connect_and_migrate("sqlite::memory:").await.ok(),
    };
    let store = match db {
        Some(db) => EventStore::open(db, Default::default()).await.ok(),
        None => None,
    };
    match store {
        Some(store) => match Providers::start(config, store, Arc::new(SystemClock)).await {
            Ok(providers) => checks.extend(provider_checks(config, &providers).await),
            Err(error) => checks.push(fail(
                "providers",
                error.to_string(),
                "check the TWILIO_* and ELEVENLABS_* settings",
            )),
        },
        None => checks.push(fail(
            "providers",
            "no event store could be opened to connect them",
            "fix the database first",
        )),
    }
    checks.push(openai(config).await);
    checks.push(report_font(&config.report_font));
    checks.push(free_disk(&config.data_dir));
    checks
}

async fn within<T>(work: impl Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(CHECK_TIMEOUT, work)
        .await
        .map_err(|_| format!("no answer within {} s", CHECK_TIMEOUT.as_secs()))
}

async fn nats(config: &Config) -> Check {
    let Some(nats) = &config.nats else {
        return pass("NATS", "not configured: the in-process bus (embedded mode)");
    };
    match within(EventBus::nats(nats.clone())).await {
        Ok(Ok(_)) => pass("NATS", "reachable, stream ready"),
        Ok(Err(error)) => fail(
            "NATS",
            error.to_string(),
            "check NATS_URL and that JetStream is on",
        ),
        Err(late) => fail(
            "NATS",
            late,
            "check NATS_URL: is nats-server running with -js?",
        ),
    }
}

async fn provider_checks(config: &Config, providers: &Providers) -> Vec<Check> {
    let mut checks = Vec::new();
    let twilio = &providers.twilio.client;
    let sandboxed = if config.providers.twilio.is_none() {
        " (sandbox)"
    } else {
        ""
    };
    match within(twilio.fetch_account()).await {
        Ok(Ok(account)) if account.status == "active" => checks.push(pass(
            "Twilio credentials",
            format!("account {} is active{sandboxed}", account.sid),
        )),
        Ok(Ok(account)) => {
            checks.push(fail(
                "Twilio credentials",
                format!("account {} is {}", account.sid, account.status),
                "reactivate the account in the Twilio console, or use another",
            ));
            return checks;
        }
        Ok(Err(error)) => {
            checks.push(fail(
                "Twilio credentials",
                error.to_string(),
                "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN to the account's SID and auth token",
            ));
            return checks;
        }
        Err(late) => {
            checks.push(fail(
                "Twilio credentials",
                late,
                "check TWILIO_API_BASE and the network",
            ));
            return checks;
        }
    }
    match within(twilio.balance()).await {
        Ok(Ok(balance)) => {
            let enough = balance.micros().is_some_and(|m| m >= TWILIO_MIN_MICROS);
            checks.push(if enough {
                pass(
                    "Twilio balance",
                    format!("{} {}", balance.balance, balance.currency),
                )
            } else {
                fail(
                    "Twilio balance",
                    format!(
                        "{} {} is below 1.00: no campaign starts",
                        balance.balance, balance.currency
                    ),
                    "add funds in the Twilio console (Billing)",
                )
            });
        }
        Ok(Err(error)) => checks.push(fail(
            "Twilio balance",
            error.to_string(),
            "check the account's Billing page in the Twilio console",
        )),
        Err(late) => checks.push(fail("Twilio balance", late, "check the network")),
    }
    let number = twilio.config().phone_number.clone();
    checks.push(match within(providers.preflight.check_caller_id(&number)).await {
        Ok(Ok(())) => pass("Twilio caller id", format!("{number} is owned or verified")),
        Ok(Err(error)) => fail(
            "Twilio caller id",
            error.to_string(),
            format!("buy {number} in Twilio or verify it (Phone Numbers → Verified Caller IDs), or set TWILIO_PHONE_NUMBER to one that is"),
        ),
        Err(late) => fail("Twilio caller id", late, "check the network"),
    });
    checks.extend(elevenlabs(providers).await);
    checks
}

async fn elevenlabs(providers: &Providers) -> Vec<Check> {
    let account = &providers.elevenlabs;
    let http = reqwest::Client::new();
    let mut checks = Vec::new();
    match within(account.get(&http, "/v1/user/subscription")).await {
        Ok(Ok(response)) if response.status().is_success() => {
            let body: Value = response.json().await.unwrap_or_default();
            let left = body["character_limit"].as_i64().unwrap_or(0)
                - body["character_count"].as_i64().unwrap_or(0);
            checks.push(pass(
                "ElevenLabs key",
                format!("accepted ({left} credits left)"),
            ));
            if left < ELEVENLABS_CREDITS_PER_CALL {
                checks.push(fail(
                    "ElevenLabs credits",
                    format!("{left} credits left: not one call's worth"),
                    "upgrade or wait for the next period in ElevenLabs",
                ));
            }
        }
        Ok(Ok(response)) => {
            checks.push(fail(
                "ElevenLabs key",
                format!("refused (HTTP {})", response.status().as_u16()),
                "set ELEVENLABS_API_KEY to a key of the account (Profile → API keys)",
            ));
            return checks;
        }
        Ok(Err(error)) | Err(error) => {
            checks.push(fail(
                "ElevenLabs key",
                error,
                "check ELEVENLABS_API_BASE and the network",
            ));
            return checks;
        }
    }
    let path = format!("/v1/convai/agents/{}", account.agent_id);
    let agent = match within(account.get(&http, &path)).await {
        Ok(Ok(response)) if response.status().is_success() => {
            match response.json::<Value>().await {
                Ok(agent) => agent,
                Err(error) => {
                    checks.push(fail("ElevenLabs agent", error.to_string(), "try again"));
                    return checks;
                }
            }
        }
        Ok(Ok(response)) => {
            checks.push(fail(
                "ElevenLabs agent",
                format!("agent {} not found (HTTP {})", account.agent_id, response.status().as_u16()),
                "set ELEVENLABS_AGENT_ID to the id of an agent of this account (Agents → the agent → ID)",
            ));
            return checks;
        }
        Ok(Err(error)) | Err(error) => {
            checks.push(fail("ElevenLabs agent", error, "check the network"));
            return checks;
        }
    };
    checks.push(pass(
        "ElevenLabs agent",
        format!("{} exists", account.agent_id),
    ));
    checks.push(audio_format(&agent));
    checks.push(client_tools(&agent));
    checks
}

/// The agent's audio is µ-law 8000 in and out, as Twilio Media Streams carry it.
fn audio_format(agent: &Value) -> Check {
    let config = &agent["conversation_config"];
    let input = config["asr"]["user_input_audio_format"]
        .as_str()
        .unwrap_or("unset");
    let output = config["tts"]["agent_output_audio_format"]
        .as_str()
        .unwrap_or("unset");
    if input == ULAW_8000 && output == ULAW_8000 {
        pass("ElevenLabs audio format", "µ-law 8000 in and out")
    } else {
        fail(
            "ElevenLabs audio format",
            format!("input {input}, output {output}; calls need ulaw_8000 both ways"),
            "in the agent's Voice and Advanced settings set the user input and the TTS output format to μ-law 8000 Hz",
        )
    }
}

/// The client tools the calls report through are defined on the agent.
fn client_tools(agent: &Value) -> Check {
    let tools = agent["conversation_config"]["agent"]["prompt"]["tools"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let defined: Vec<&str> = tools
        .iter()
        .filter(|tool| tool["type"] == "client")
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    let missing: Vec<&str> = CLIENT_TOOLS
        .into_iter()
        .filter(|name| !defined.contains(name))
        .collect();
    if missing.is_empty() {
        pass("ElevenLabs client tools", CLIENT_TOOLS.join(", "))
    } else {
        fail(
            "ElevenLabs client tools",
            format!("missing: {}", missing.join(", ")),
            "add each as a client tool of the agent (Tools → Add tool → Client), named exactly so",
        )
    }
}

async fn openai(config: &Config) -> Check {
    let Some(openai) = &config.providers.openai else {
        return pass(
            "OpenAI",
            "not configured: scripts and summaries are written offline",
        );
    };
    let url = format!("{}/models/{}", openai.base_url, openai.model);
    let asked = reqwest::Client::new()
        .get(url)
        .bearer_auth(openai.api_key.expose_secret())
        .send();
    match within(asked).await {
        Ok(Ok(response)) if response.status().is_success() => pass(
            "OpenAI",
            format!("key accepted, model {} available", openai.model),
        ),
        Ok(Ok(response)) if response.status() == reqwest::StatusCode::NOT_FOUND => fail(
            "OpenAI",
            format!("model {} is not available to this key", openai.model),
            "set OPENAI_MODEL to a model the key may use",
        ),
        Ok(Ok(response)) => fail(
            "OpenAI",
            format!("refused (HTTP {})", response.status().as_u16()),
            "set OPENAI_API_KEY to a valid key",
        ),
        Ok(Err(error)) => fail(
            "OpenAI",
            error.without_url().to_string(),
            "check OPENAI_BASE_URL and the network",
        ),
        Err(late) => fail("OpenAI", late, "check OPENAI_BASE_URL and the network"),
    }
}

fn report_font(font: &ReportFont) -> Check {
    match font {
        ReportFont::BuiltIn => pass("report font", "the built-in Korean font"),
        ReportFont::File(path) => match std::fs::read(path) {
            Ok(bytes) if !bytes.is_empty() => pass("report font", path.display().to_string()),
            Ok(_) => fail(
                "report font",
                format!("{} is empty", path.display()),
                "point REPORT_FONT_PATH at a TrueType or OpenType file",
            ),
            Err(error) => fail(
                "report font",
                format!("{}: {error}", path.display()),
                "point REPORT_FONT_PATH at a readable TrueType or OpenType file, or unset it for the built-in font",
            ),
        },
    }
}

fn free_disk(data_dir: &std::path::Path) -> Check {
    let probe = if data_dir.exists() {
        data_dir
    } else {
        std::path::Path::new(".")
    };
    match rustix::fs::statvfs(probe) {
        Ok(stats) => {
            let free = stats.f_bavail.saturating_mul(stats.f_frsize);
            let gib = free as f64 / (1u64 << 30) as f64;
            if free >= MIN_FREE_BYTES {
                pass(
                    "free disk",
                    format!("{gib:.1} GiB free at {}", probe.display()),
                )
            } else {
                fail(
                    "free disk",
                    format!("{gib:.2} GiB free at {}", probe.display()),
                    "free space or move DATA_DIR: recordings and reports need room",
                )
            }
        }
        Err(error) => fail(
            "free disk",
            format!("{}: {error}", probe.display()),
            "check DATA_DIR",
        ),
    }
}
