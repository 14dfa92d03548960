//! Offline maintenance commands: `callbot replay` and `callbot audit verify`.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use commands::store::ChainReport;
use commands::{Backend, Db, EventStore};
use projections::replay::{self, TableDiff};
use sqlx::Executor;

/// Rebuilds every read model into scratch tables, compares, prints the result; fails when any
/// table differs.
pub async fn replay(database_url: &str) -> anyhow::Result<()> {
    let diffs = replay_report(database_url, true).await?;
    if diffs.is_empty() {
        println!("replay: every read model is identical to its rebuild");
        return Ok(());
    }
    for diff in &diffs {
        println!(
            "replay: {} differs ({} live rows, {} rebuilt)",
            diff.table, diff.live_rows, diff.rebuilt_rows
        );
        for example in &diff.examples {
            println!("    live | rebuilt: {example}");
        }
    }
    anyhow::bail!(
        "{} read-model table(s) differ from their rebuild",
        diffs.len()
    )
}

/// The differences between the live read models and a rebuild from the events.
pub async fn replay_report(
    database_url: &str,
    show_progress: bool,
) -> anyhow::Result<Vec<TableDiff>> {
    let live = Db::connect_and_migrate(database_url)
        .await
        .context("opening the database")?;
    let store = EventStore::open(live.clone(), Default::default()).await?;
    let scratch = Scratch::create(database_url, &live).await?;
    let result = async {
        let mut diffs = Vec::new();
        for (projection, tables) in replay::read_models() {
            let until = replay::live_position(&store, projection.name()).await?;
            let name = projection.name();
            replay::rebuild(&store, &scratch.db, projection.as_ref(), until, |at, of| {
                if show_progress {
                    eprint!(
                        "\rreplay {name}: {at}/{of} events ({}%)   ",
                        at * 100 / of.max(1)
                    );
                    let _ = std::io::stderr().flush();
                }
            })
            .await?;
            if show_progress {
                eprintln!("\rreplay {name}: {until}/{until} events, comparing");
            }
            for (table, key) in tables {
                if let Some(diff) =
                    replay::compare_table(live.pool(), scratch.db.pool(), table, key).await?
                {
                    diffs.push(diff);
                }
            }
        }
        anyhow::Ok(diffs)
    }
    .await;
    scratch.drop(&live).await;
    result
}

/// Where a rebuild goes: a new SQLite file, or a new schema on the live Postgres server.
struct Scratch {
    db: Db,
    place: Place,
}

enum Place {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Scratch {
    async fn create(database_url: &str, live: &Db) -> anyhow::Result<Self> {
        let id = uuid::Uuid::new_v4().simple();
        let (url, place) = match live.backend() {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("callbot-replay-{id}.db"));
                (format!("sqlite://{}", path.display()), Place::Sqlite(path))
            }
            Backend::Postgres => {
                let schema = format!("callbot_replay_{id}");
                live.pool()
                    .execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .await
                    .context("creating the scratch schema")?;
                let separator = if database_url.contains('?') { '&' } else { '?' };
                (
                    format!("{database_url}{separator}options=-csearch_path%3D{schema}"),
                    Place::Postgres(schema),
                )
            }
        };
        let db = Db::connect_and_migrate(&url)
            .await
            .context("creating the scratch database")?;
        Ok(Self { db, place })
    }

    async fn drop(self, live: &Db) {
        self.db.pool().close().await;
        match self.place {
            Place::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Place::Postgres(schema) => {
                let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                if let Err(err) = live.pool().execute(sqlx::AssertSqlSafe(sql)).await {
                    tracing::warn!(error = %err, "could not drop the scratch schema");
                }
            }
        }
    }
}

/// Verifies the hash chain, prints the result; fails naming the first broken event.
pub async fn audit_verify(database_url: &str) -> anyhow::Result<()> {
    let report = verify_report(database_url, true).await?;
    let legacy = (report.chain_start - 1).clamp(0, report.head);
    if legacy > 0 {
        println!("audit: events #1..#{legacy} predate the hash chain and are not covered");
    }
    match &report.problem {
        None => {
            println!(
                "audit: chain intact, {} events verified, head #{} hash {}",
                report.checked, report.head, report.head_hash
            );
            Ok(())
        }
        Some(problem) => anyhow::bail!("audit: hash chain broken: {problem}"),
    }
}

/// The chain walk's report.
pub async fn verify_report(database_url: &str, show_progress: bool) -> anyhow::Result<ChainReport> {
    let db = Db::connect_and_migrate(database_url)
        .await
        .context("opening the database")?;
    let store = EventStore::open(db, Default::default()).await?;
    let report = store
        .verify_chain(|at, of| {
            if show_progress {
                eprint!("\raudit: {at}/{of} events");
                let _ = std::io::stderr().flush();
            }
        })
        .await?;
    if show_progress {
        eprintln!();
    }
    Ok(report)
}
