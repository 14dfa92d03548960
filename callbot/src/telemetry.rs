//! Logs: human-readable lines (coloured only on a terminal) or, with `LOG_FORMAT=json`, one JSON
//! object per line for log collectors. `RUST_LOG` filters; the default is `info,sqlx=warn`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The filter when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Text lines; ANSI colours when stderr is a terminal.
    Text { ansi: bool },
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// From `LOG_FORMAT` (`json`, else text) and whether stderr is a terminal.
    pub fn from_env(log_format: Option<&str>, terminal: bool) -> Self {
        match log_format.map(str::trim) {
            Some(format) if format.eq_ignore_ascii_case("json") => Self::Json,
            _ => Self::Text { ansi: terminal },
        }
    }
}

/// Installs the global subscriber (once, at startup) writing to stderr.
pub fn init() {
    let format = LogFormat::from_env(
        std::env::var("LOG_FORMAT").ok().as_deref(),
        std::io::stderr().is_terminal(),
    );
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text { ansi } => builder.with_ansi(ansi).init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_only_on_a_terminal_and_json_on_request() {
        assert_eq!(
            LogFormat::from_env(None, false),
            LogFormat::Text { ansi: false }
        );
        assert_eq!(
            LogFormat::from_env(None, true),
            LogFormat::Text { ansi: true }
        );
        assert_eq!(LogFormat::from_env(Some("JSON"), true), LogFormat::Json);
        assert_eq!(
            LogFormat::from_env(Some("text"), false),
            LogFormat::Text { ansi: false }
        );
    }
}
