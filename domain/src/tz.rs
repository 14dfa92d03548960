//! [`Tz`]: a time zone known to the IANA tz database, parsed once at the edge.
//!
//! Stored events and HTTP bodies carry it as its name (`"Asia/Seoul"`), exactly as the plain
//! string it replaced, so neither history nor answers change shape.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Why a time zone name was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TzError {
    /// The name is empty or only spaces.
    #[error("the call window needs a time zone")]
    Missing,
    /// The tz database has no zone of this name (offsets such as `+09:00` are not zones).
    #[error("unknown time zone {name:?}; use an IANA name such as \"Asia/Seoul\"")]
    Unknown {
        /// The name given.
        name: String,
    },
}

/// An IANA time zone (`Asia/Seoul`, `America/New_York`, `UTC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tz(chrono_tz::Tz);

impl Tz {
    /// `Asia/Seoul`, the default zone of a campaign.
    pub const SEOUL: Self = Self(chrono_tz::Asia::Seoul);

    /// Parses an IANA zone name, exactly as the tz database spells it.
    pub fn parse(name: &str) -> Result<Self, TzError> {
        if name.trim().is_empty() {
            return Err(TzError::Missing);
        }
        chrono_tz::Tz::from_str(name)
            .map(Self)
            .map_err(|_| TzError::Unknown {
                name: name.to_owned(),
            })
    }

    /// The zone's IANA name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The chrono-tz zone, for conversions.
    pub fn zone(self) -> chrono_tz::Tz {
        self.0
    }

    /// The local time of day in this zone at `at`.
    pub fn time_of_day(self, at: DateTime<Utc>) -> NaiveTime {
        at.with_timezone(&self.0).time()
    }
}

impl Default for Tz {
    fn default() -> Self {
        Self::SEOUL
    }
}

impl fmt::Display for Tz {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Tz {
    type Err = TzError;

    fn from_str(name: &str) -> Result<Self, TzError> {
        Self::parse(name)
    }
}

impl Serialize for Tz {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Tz {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::parse(&name).map_err(serde::de::Error::custom)
    }
}

#[cfg(feature = "utoipa")]
impl utoipa::PartialSchema for Tz {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some("IANA time zone name, such as `Asia/Seoul`."))
            .examples([serde_json::json!("Asia/Seoul")])
            .into()
    }
}

#[cfg(feature = "utoipa")]
impl utoipa::ToSchema for Tz {}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn iana_names_parse_and_keep_their_spelling() {
        for name in ["Asia/Seoul", "America/New_York", "UTC", "Europe/London"] {
            assert_eq!(Tz::parse(name).unwrap().name(), name);
        }
        assert_eq!(Tz::default(), Tz::SEOUL);
        assert_eq!(Tz::SEOUL.to_string(), "Asia/Seoul");
    }

    #[test]
    fn unknown_zones_offsets_and_paths_are_refused() {
        for name in [
            "Mars/Olympus",
            "../../../etc/passwd",
            "+09:00",
            "asia/seoul",
            "KST",
        ] {
            assert_eq!(
                Tz::parse(name),
                Err(TzError::Unknown {
                    name: name.to_owned()
                }),
                "{name}"
            );
        }
    }

    #[test]
    fn a_blank_name_is_a_missing_zone() {
        assert_eq!(Tz::parse(""), Err(TzError::Missing));
        assert_eq!(Tz::parse("  "), Err(TzError::Missing));
    }

    #[test]
    fn json_keeps_the_plain_string_form() {
        let tz: Tz = serde_json::from_str("\"America/New_York\"").unwrap();
        assert_eq!(serde_json::to_string(&tz).unwrap(), "\"America/New_York\"");
        let err = serde_json::from_str::<Tz>("\"Mars/Olympus\"").unwrap_err();
        assert!(err.to_string().contains("Mars/Olympus"), "{err}");
        assert!(serde_json::from_str::<Tz>("9").is_err());
    }

    #[test]
    fn the_time_of_day_is_read_in_the_zone() {
        let at = Utc.with_ymd_and_hms(2026, 11, 20, 0, 30, 0).unwrap();
        let nine_thirty = NaiveTime::from_hms_opt(9, 30, 0).unwrap();
        assert_eq!(Tz::SEOUL.time_of_day(at), nine_thirty);
        let utc = Tz::parse("UTC").unwrap();
        assert_eq!(
            utc.time_of_day(at),
            NaiveTime::from_hms_opt(0, 30, 0).unwrap()
        );
    }
}
