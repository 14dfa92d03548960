//! Rebuilding read models from the event store into a scratch database and comparing them with
//! the live tables: the proof that the read side is a pure function of the events.
//!
//! Each projection is replayed up to the position its live checkpoint has reached, so a live
//! table is compared with exactly the history it was built from.

use std::sync::Arc;

use commands::store::{self, StoreError};
use commands::{Db, EventStore};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Column, Row};

use crate::runner::{Projection, ProjectionError};
use crate::{CampaignList, ScriptList};

const BATCH_SIZE: i64 = 500;

/// Tables a projection owns, each with the key its rows are compared in order of.
pub type Tables = &'static [(&'static str, &'static str)];

/// Every projection with the tables it owns.
pub fn read_models() -> Vec<(Arc<dyn Projection>, Tables)> {
    vec![
        (
            Arc::new(CampaignList),
            &[
                ("campaign_list", "campaign_id"),
                ("call_list", "call_id"),
                ("call_costs", "position"),
            ],
        ),
        (
            Arc::new(ScriptList),
            &[
                ("scripts", "script_id"),
                ("script_versions", "script_id, version"),
            ],
        ),
    ]
}

/// One table whose rebuilt rows differ from the live ones.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDiff {
    pub table: &'static str,
    pub live_rows: usize,
    pub rebuilt_rows: usize,
    /// The first few differing rows, as `live | rebuilt`.
    pub examples: Vec<String>,
}

/// Replays `projection` from `store` into `scratch` (a freshly migrated database) up to
/// `until`, reporting progress as (position, until).
pub async fn rebuild(
    store: &EventStore,
    scratch: &Db,
    projection: &dyn Projection,
    until: i64,
    mut progress: impl FnMut(i64, i64),
) -> Result<(), ProjectionError> {
    let mut position = 0;
    while position < until {
        let events = store.read_after(position, BATCH_SIZE).await?;
        let mut tx = scratch.begin_write().await?;
        let mut applied = position;
        for event in events.iter().take_while(|e| e.position <= until) {
            projection.apply(&mut tx, event).await?;
            applied = event.position;
        }
        store::save_checkpoint(&mut tx, projection.name(), applied).await?;
        tx.commit().await?;
        if applied == position {
            break;
        }
        position = applied;
        progress(position, until);
    }
    Ok(())
}

/// The live checkpoint of a projection.
pub async fn live_position(store: &EventStore, name: &str) -> Result<i64, StoreError> {
    store.checkpoint(name).await
}

/// Compares one table between two databases, row by row in key order.
pub async fn compare_table(
    live: &AnyPool,
    rebuilt: &AnyPool,
    table: &'static str,
    key: &str,
) -> Result<Option<TableDiff>, sqlx::Error> {
    let live_rows = table_rows(live, table, key).await?;
    let rebuilt_rows = table_rows(rebuilt, table, key).await?;
    if live_rows == rebuilt_rows {
        return Ok(None);
    }
    let mut examples = Vec::new();
    for index in 0..live_rows.len().max(rebuilt_rows.len()) {
        let (a, b) = (live_rows.get(index), rebuilt_rows.get(index));
        if a != b && examples.len() < 5 {
            examples.push(format!(
                "{} | {}",
                a.map_or("(none)", String::as_str),
                b.map_or("(none)", String::as_str)
            ));
        }
    }
    Ok(Some(TableDiff {
        table,
        live_rows: live_rows.len(),
        rebuilt_rows: rebuilt_rows.len(),
        examples,
    }))
}

async fn table_rows(pool: &AnyPool, table: &str, key: &str) -> Result<Vec<String>, sqlx::Error> {
    let sql = format!("SELECT * FROM {table} ORDER BY {key}");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(row_text).collect())
}

/// A row as `column=value` pairs, whatever the column types (the Any driver decodes each
/// value as the first type that fits).
fn row_text(row: &AnyRow) -> String {
    row.columns()
        .iter()
        .map(|column| {
            let i = column.ordinal();
            let value = if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                v.map_or("NULL".to_owned(), |v| v.to_string())
            } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                v.unwrap_or_else(|| "NULL".to_owned())
            } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                v.map_or("NULL".to_owned(), |v| v.to_string())
            } else if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
                v.map_or("NULL".to_owned(), |v| v.to_string())
            } else {
                "?".to_owned()
            };
            format!("{}={value}", column.name())
        })
        .collect::<Vec<_>>()
        .join(", ")
}
