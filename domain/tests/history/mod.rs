//! The golden event fixtures under `tests/fixtures/events/<aggregate>/<Event>.v<version>.json`:
//! each is one event exactly as the event store keeps it (type name, version, payload), so a
//! test can replay history written by older code. Shared by the domain's and the projections'
//! history tests (the latter include this file by path).

#![allow(dead_code)] // each test crate that includes this uses a different part of it

use std::path::{Path, PathBuf};

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_json::Value;

/// Aggregate types in the order a history creates them (an account owns scripts, campaigns
/// follow a script, calls belong to a campaign).
pub const AGGREGATES: [&str; 4] = ["account", "script", "campaign", "call"];

/// One stored event of the fixtures.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Fixture {
    /// The aggregate type as stored (`campaign`).
    pub aggregate_type: String,
    /// The stored event type name (`CampaignCreated`).
    pub event_type: String,
    /// The stored event version (`1.0`).
    pub event_version: String,
    /// The payload as stored.
    pub payload: Value,
    /// Where it was read from.
    #[serde(skip)]
    pub path: PathBuf,
}

impl Fixture {
    /// Whether this is a deletion, which a history replays last.
    pub fn is_deletion(&self) -> bool {
        self.event_type.ends_with("Deleted")
    }
}

/// The folder of the fixtures.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("domain/tests/fixtures/events")
}

/// Every fixture of `aggregate_type`, each checked against its file name.
pub fn fixtures(aggregate_type: &str) -> Vec<Fixture> {
    let dir = fixtures_dir().join(aggregate_type);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a readable fixture");
            let mut fixture: Fixture =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let expected_name = format!("{}.v{}.json", fixture.event_type, fixture.event_version);
            assert_eq!(
                path.file_name().and_then(|name| name.to_str()),
                Some(expected_name.as_str()),
                "a fixture is named after its event type and version"
            );
            assert_eq!(fixture.aggregate_type, aggregate_type, "{}", path.display());
            fixture.path = path;
            fixture
        })
        .collect()
}

/// The fixtures of `aggregate_type` in the order its event enum declares the variants (roughly
/// the order of a life), older versions first.
pub fn in_declaration_order(aggregate_type: &str, variants: &[&str]) -> Vec<Fixture> {
    let mut fixtures = fixtures(aggregate_type);
    fixtures.sort_by_key(|fixture| {
        let index = variants
            .iter()
            .position(|variant| *variant == fixture.event_type)
            .unwrap_or_else(|| {
                panic!(
                    "{}: {} is not a variant of the {aggregate_type} events",
                    fixture.path.display(),
                    fixture.event_type
                )
            });
        (index, fixture.event_version.clone())
    });
    fixtures
}

/// The variant names of an externally tagged enum, read from its derived `Deserialize`: serde
/// hands the complete list to `deserialize_enum`, so a variant added later is listed without
/// anyone remembering to.
pub fn variant_names<'de, E: Deserialize<'de>>() -> &'static [&'static str] {
    let mut names = None;
    // The deserializer always fails once it has the names; the failure is the expected end.
    let outcome = E::deserialize(VariantNames(&mut names));
    assert!(outcome.is_err(), "nothing can be read from a variant list");
    names.expect("an enum deserializer asks for its variants")
}

/// A deserializer that only records the variants it is asked for.
struct VariantNames<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for VariantNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only enums list their variants"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(variants);
        Err(de::Error::custom("variants recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}
