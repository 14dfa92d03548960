//! `scripts`: the current version of each live script, drafts included; and `script_versions`:
//! the content of every version, kept after a delete so a campaign can still load the version it
//! was started with.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use commands::StoredEvent;
use commands::services::scripts::{ScriptRecord, ScriptState, ScriptVersionRecord};
use commands::store::{parse_timestamp, timestamp};
use domain::script::{Script, ScriptContent, ScriptEvent};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AnyPool, Row};
use uuid::Uuid;

use crate::rows;
use crate::runner::{Projection, ProjectionError};
use crate::stored::payload_of;

/// Builds `scripts` and `script_versions`; their rows are the script service's
/// [`ScriptRecord`]s and [`ScriptVersionRecord`]s.
pub struct ScriptList;

const COLUMNS: &str = "script_id, name, status, version, natural_input, content, writer, \
                       created_at, updated_at";

impl ScriptList {
    /// The owner's live script `script_id` at its current version (drafts included); `None` when
    /// it does not exist, was deleted, or belongs to another account.
    pub async fn find(
        pool: &AnyPool,
        owner_id: Uuid,
        script_id: Uuid,
    ) -> Result<Option<ScriptRecord>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM scripts WHERE script_id = $1 AND owner_id = $2");
        let query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(script_id.to_string())
            .bind(owner_id.to_string());
        rows::one(pool, query, script_row).await
    }

    /// The owner's scripts, newest first; drafts only when asked for.
    pub async fn for_owner(
        pool: &AnyPool,
        owner_id: Uuid,
        include_drafts: bool,
    ) -> Result<Vec<ScriptRecord>, sqlx::Error> {
        let filter = if include_drafts {
            ""
        } else {
            " AND status = 'SAVED'"
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM scripts WHERE owner_id = $1{filter} \
             ORDER BY created_at DESC, script_id DESC"
        );
        let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner_id.to_string());
        rows::all(pool, query, script_row).await
    }

    /// One version of the owner's script, also after the script was deleted (a campaign keeps
    /// the version it started with).
    pub async fn find_version(
        pool: &AnyPool,
        owner_id: Uuid,
        script_id: Uuid,
        version: u32,
    ) -> Result<Option<ScriptVersionRecord>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT version, content, recorded_at FROM script_versions \
             WHERE script_id = $1 AND owner_id = $2 AND version = $3",
        )
        .bind(script_id.to_string())
        .bind(owner_id.to_string())
        .bind(i64::from(version))
        .fetch_optional(pool)
        .await?;
        row.map(|row| {
            Ok(ScriptVersionRecord {
                version: version_of(&row)?,
                content: content(&row)?,
                recorded_at: time(&row, "recorded_at")?,
            })
        })
        .transpose()
    }
}

fn decode(column: &str, reason: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("scripts.{column}: {reason}").into())
}

fn uuid(row: &AnyRow, column: &str) -> Result<Uuid, sqlx::Error> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|e| decode(column, e))
}

fn time(row: &AnyRow, column: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    let text: String = row.try_get(column)?;
    parse_timestamp(&text).ok_or_else(|| decode(column, "not an RFC 3339 time"))
}

fn version_of(row: &AnyRow) -> Result<u32, sqlx::Error> {
    let version: i64 = row.try_get("version")?;
    u32::try_from(version).map_err(|e| decode("version", e))
}

fn content(row: &AnyRow) -> Result<ScriptContent, sqlx::Error> {
    let text: String = row.try_get("content")?;
    serde_json::from_str(&text).map_err(|e| decode("content", e))
}

fn script_row(row: &AnyRow) -> Result<ScriptRecord, sqlx::Error> {
    let status: String = row.try_get("status")?;
    Ok(ScriptRecord {
        id: uuid(row, "script_id")?,
        name: row.try_get("name")?,
        status: ScriptState::parse(&status).ok_or_else(|| decode("status", &status))?,
        version: version_of(row)?,
        content: content(row)?,
        natural_input: row.try_get("natural_input")?,
        writer: row.try_get("writer")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// A new script row and its first version. Applying it twice changes nothing.
struct NewScript<'a> {
    id: &'a str,
    owner_id: Uuid,
    name: String,
    status: ScriptState,
    version: u32,
    natural_input: String,
    content: String,
    writer: Option<String>,
    at: DateTime<Utc>,
}

async fn insert(
    conn: &mut AnyConnection,
    script: NewScript<'_>,
    position: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO scripts (script_id, owner_id, name, status, version, natural_input, content, \
         writer, created_at, updated_at, last_position) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) ON CONFLICT (script_id) DO NOTHING",
    )
    .bind(script.id)
    .bind(script.owner_id.to_string())
    .bind(script.name)
    .bind(script.status.as_str())
    .bind(i64::from(script.version))
    .bind(script.natural_input)
    .bind(script.content.clone())
    .bind(script.writer)
    .bind(timestamp(script.at))
    .bind(position)
    .execute(&mut *conn)
    .await?;
    insert_version(conn, script.id, script.version, script.content, script.at).await
}

/// Records a version's content (the owner is read from the script's row, which exists by then).
async fn insert_version(
    conn: &mut AnyConnection,
    id: &str,
    version: u32,
    content: String,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO script_versions (script_id, version, owner_id, content, recorded_at) \
         SELECT $1, $2, owner_id, $3, $4 FROM scripts WHERE script_id = $1 \
         ON CONFLICT (script_id, version) DO NOTHING",
    )
    .bind(id)
    .bind(i64::from(version))
    .bind(content)
    .bind(timestamp(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// A new current version (edit or save). Guarded by `last_position`.
struct Change<'a> {
    id: &'a str,
    name: String,
    natural_input: Option<String>,
    content: String,
    version: u32,
    status: ScriptState,
    at: DateTime<Utc>,
}

async fn change(
    conn: &mut AnyConnection,
    change: Change<'_>,
    position: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE scripts SET name = $1, natural_input = COALESCE($2, natural_input), content = $3, \
         version = $4, status = $5, updated_at = $6, last_position = $7 \
         WHERE script_id = $8 AND last_position < $7",
    )
    .bind(change.name)
    .bind(change.natural_input)
    .bind(change.content.clone())
    .bind(i64::from(change.version))
    .bind(change.status.as_str())
    .bind(timestamp(change.at))
    .bind(position)
    .bind(change.id)
    .execute(&mut *conn)
    .await?;
    insert_version(conn, change.id, change.version, change.content, change.at).await
}

#[async_trait]
impl Projection for ScriptList {
    fn name(&self) -> &'static str {
        "script_list"
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let Some(payload) = payload_of::<Script>(event)? else {
            return Ok(());
        };
        let id = event.aggregate_id.as_str();
        let position = event.position;
        let json = |content: &ScriptContent| {
            serde_json::to_string(content).map_err(|e| ProjectionError::bad_event(event, e))
        };
        match payload {
            ScriptEvent::ScriptCreated {
                owner_id,
                name,
                natural_input,
                content,
                version,
                created_at,
            } => {
                let script = NewScript {
                    id,
                    owner_id,
                    name,
                    status: ScriptState::Saved,
                    version,
                    natural_input,
                    content: json(&content)?,
                    writer: None,
                    at: created_at,
                };
                insert(conn, script, position).await?;
            }
            ScriptEvent::ScriptDrafted {
                owner_id,
                name,
                natural_input,
                content,
                version,
                writer,
                drafted_at,
            } => {
                let script = NewScript {
                    id,
                    owner_id,
                    name,
                    status: ScriptState::Draft,
                    version,
                    natural_input,
                    content: json(&content)?,
                    writer: Some(writer),
                    at: drafted_at,
                };
                insert(conn, script, position).await?;
            }
            ScriptEvent::ScriptSaved {
                version,
                name,
                natural_input,
                content,
                saved_at,
            } => {
                let saved = Change {
                    id,
                    name,
                    natural_input: Some(natural_input),
                    content: json(&content)?,
                    version,
                    status: ScriptState::Saved,
                    at: saved_at,
                };
                change(conn, saved, position).await?;
            }
            ScriptEvent::ScriptEdited {
                version,
                name,
                content,
                edited_at,
            } => {
                // An edit keeps the status: read it from the row (a draft stays a draft).
                let status: Option<String> =
                    sqlx::query_scalar("SELECT status FROM scripts WHERE script_id = $1")
                        .bind(id)
                        .fetch_optional(&mut *conn)
                        .await?;
                let status = status
                    .as_deref()
                    .and_then(ScriptState::parse)
                    .unwrap_or(ScriptState::Saved);
                let edited = Change {
                    id,
                    name,
                    natural_input: None,
                    content: json(&content)?,
                    version,
                    status,
                    at: edited_at,
                };
                change(conn, edited, position).await?;
            }
            ScriptEvent::ScriptDeleted { .. } => {
                sqlx::query("DELETE FROM scripts WHERE script_id = $1")
                    .bind(id)
                    .execute(conn)
                    .await?;
            }
        }
        Ok(())
    }
}
