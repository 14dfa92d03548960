//! Conversation details (PROTOCOLS §E): `GET {base}/v1/convai/conversations/{id}`, read after
//! the call for the provider's transcript and cost.

use serde::{Deserialize, Serialize};

/// The parts of the details this service uses; unknown fields are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationDetails {
    pub conversation_id: String,
    /// `initiated`, `in-progress`, `processing`, `done` or `failed`.
    pub status: String,
    #[serde(default)]
    pub transcript: Vec<DetailsLine>,
    #[serde(default)]
    pub metadata: DetailsMetadata,
}

/// One turn of the provider's transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetailsLine {
    /// `agent` or `user`.
    pub role: String,
    /// Null for turns that were only tool calls.
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub time_in_call_secs: Option<f64>,
}

/// `metadata` of the details.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DetailsMetadata {
    #[serde(default)]
    pub call_duration_secs: Option<f64>,
    /// Credits charged.
    #[serde(default)]
    pub cost: Option<f64>,
    /// The charge in US dollars, when the account reports it.
    #[serde(default)]
    pub cost_fiat: Option<f64>,
}

impl ConversationDetails {
    /// Whether the provider has finished with the conversation (its transcript and cost are final).
    pub fn is_final(&self) -> bool {
        matches!(self.status.as_str(), "done" | "failed")
    }

    /// The voice cost in micro-dollars: `cost_fiat` when given, else the duration at
    /// `rate_per_minute` US dollars (per started second).
    pub fn cost_micros(&self, rate_per_minute: f64) -> i64 {
        if let Some(fiat) = self
            .metadata
            .cost_fiat
            .filter(|c| c.is_finite() && *c >= 0.0)
        {
            return (fiat * 1_000_000.0).round() as i64;
        }
        let secs = self
            .metadata
            .call_duration_secs
            .filter(|s| s.is_finite() && *s >= 0.0)
            .unwrap_or(0.0)
            .ceil();
        (secs / 60.0 * rate_per_minute * 1_000_000.0).round() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_parse_from_the_provider_shape_and_price_the_call() {
        let body = serde_json::json!({
            "agent_id": "a", "conversation_id": "conv_1", "status": "done",
            "transcript": [
                {"role": "agent", "message": "안녕하세요", "time_in_call_secs": 0},
                {"role": "user", "message": null, "time_in_call_secs": 2, "tool_calls": []},
                {"role": "user", "message": "네 ", "time_in_call_secs": 3.5}
            ],
            "metadata": {"call_duration_secs": 90, "cost": 900},
            "analysis": {"call_successful": "success"}
        });
        let details: ConversationDetails = serde_json::from_value(body).unwrap();
        assert!(details.is_final());
        assert_eq!(details.transcript.len(), 3);
        assert_eq!(details.transcript[1].message, None);
        // No cost_fiat: 90 s at $0.10 per minute.
        assert_eq!(details.cost_micros(0.10), 150_000);
        let mut with_fiat = details.clone();
        with_fiat.metadata.cost_fiat = Some(0.0453);
        assert_eq!(with_fiat.cost_micros(0.10), 45_300);
    }
}
