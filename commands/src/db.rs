//! One connection pool for Postgres or SQLite, chosen by the database URL.
//!
//! Everything runs through sqlx's `Any` driver with one SQL dialect (`$n` placeholders, text
//! JSON and timestamps), so the store, the relay and every projection have a single code path.
//!
//! Queries that run over and over (pollers, readers of the event log) write their `LIMIT` into
//! the statement's text instead of binding it: SQLite plans a bound `LIMIT` for its value, so
//! binding one expires the statement and every run parses and plans it again.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

/// Which database sits behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// The backend a `DATABASE_URL` names.
    pub fn from_url(url: &str) -> Result<Self, DbError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else {
            Err(DbError::UnsupportedUrl)
        }
    }

    /// A short name for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Sqlite => "sqlite",
        }
    }
}

/// Errors opening or migrating the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL must start with postgres://, postgresql:// or sqlite:")]
    UnsupportedUrl,
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot make {path} private to its owner: {source}")]
    Permissions {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The files next to a SQLite database that hold its data too.
const SQLITE_COMPANIONS: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Makes a SQLite database file readable and writable by its owner only (0600), creating it so
/// when it does not exist yet, whatever the umask. SQLite gives its `-wal`, `-shm` and
/// `-journal` files the database file's mode; those left by an older, laxer start are
/// tightened too. In-memory databases have no file.
fn private_sqlite_files(url: &str) -> Result<(), DbError> {
    use sqlx::sqlite::SqliteConnectOptions;
    if url.contains("mode=memory") {
        return Ok(());
    }
    let options = SqliteConnectOptions::from_str(url).map_err(DbError::Connect)?;
    let path = options.get_filename();
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
        return Ok(());
    }
    let failed = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| DbError::Permissions { path, source }
    };
    create_private(path).map_err(failed(path))?;
    for suffix in SQLITE_COMPANIONS {
        let mut companion = path.as_os_str().to_owned();
        companion.push(suffix);
        let companion = std::path::PathBuf::from(companion);
        if companion.exists() {
            make_private(&companion).map_err(failed(&companion))?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    // An existing file keeps its mode through `open`; the umask may have narrowed a new one.
    make_private(path)
}

#[cfg(unix)]
fn make_private(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(drop)
}

#[cfg(not(unix))]
fn make_private(_path: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}

/// Ids bound at once in an `IN (...)` list: well under both backends' bind-parameter limits.
pub const IN_LIST_CHUNK: usize = 500;

/// The placeholders of an `IN (...)` list of `count` values bound from `$first` on
/// (`$3, $4, $5`).
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Begins a transaction that will write. On SQLite that is `BEGIN IMMEDIATE`: it takes the one
/// write lock at its start, waiting its turn up to the busy timeout. A plain (deferred)
/// transaction reads first and asks for the lock at its first write; when another writer has
/// committed in between, SQLite fails it at once with `database is locked` (codes 5 and 517),
/// which no busy timeout waits out — what a burst of campaign starts met, and a webhook worker
/// racing a campaign's pause. Every transaction that writes begins here.
pub async fn begin_write(
    pool: &AnyPool,
) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    if pool.connect_options().database_url.scheme() == "sqlite" {
        pool.begin_with("BEGIN IMMEDIATE").await
    } else {
        pool.begin().await
    }
}

/// A pool plus the knowledge of which backend it talks to.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl Db {
    /// Connects (creating a missing SQLite file) without touching the schema.
    pub async fn connect(url: &str) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        if backend == Backend::Sqlite {
            private_sqlite_files(url)?;
        }
        let mut url = url.to_owned();
        if backend == Backend::Sqlite && !url.contains("mode=") {
            url.push_str(if url.contains('?') {
                "&mode=rwc"
            } else {
                "?mode=rwc"
            });
        }
        let options = AnyConnectOptions::from_str(&url)
            .map_err(DbError::Connect)?
            .disable_statement_logging();
        let pool_options = match backend {
            Backend::Postgres => AnyPoolOptions::new().max_connections(16),
            // SQLite has one writer at a time; WAL lets readers go on while it writes.
            Backend::Sqlite => AnyPoolOptions::new()
                .max_connections(8)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                        Ok(())
                    })
                }),
        };
        let pool = pool_options
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(DbError::Connect)?;
        Ok(Self { pool, backend })
    }

    /// Connects and applies every pending migration.
    pub async fn connect_and_migrate(url: &str) -> Result<Self, DbError> {
        let db = Self::connect(url).await?;
        db.migrate().await?;
        Ok(db)
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> Result<(), DbError> {
        match self.backend {
            Backend::Postgres => migrations::POSTGRES.run(&self.pool).await?,
            Backend::Sqlite => migrations::SQLITE.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Begins a transaction that will write: [`begin_write`] on this pool.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        begin_write(&self.pool).await
    }

    /// The underlying pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// True when a trivial query succeeds.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// The database file and the two SQLite writes beside it in WAL mode.
    const FILES: [&str; 3] = ["callbot.db", "callbot.db-wal", "callbot.db-shm"];

    fn mode(path: &std::path::Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// A new temporary directory and the URL of a SQLite file `callbot.db` in it.
    fn temp_sqlite() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("callbot.db").display());
        (dir, url)
    }

    async fn execute(db: &Db, sql: &'static str) {
        sqlx::query(sql).execute(db.pool()).await.unwrap();
    }

    #[tokio::test]
    async fn finding_8_sqlite_files_are_readable_by_their_owner_only() {
        let (dir, url) = temp_sqlite();
        let db = Db::connect_and_migrate(&url).await.unwrap();
        // Written in WAL mode, so the -wal and -shm files exist beside the database.
        execute(&db, "CREATE TABLE probe (x INTEGER)").await;
        for name in FILES {
            let path = dir.path().join(name);
            assert!(path.exists(), "{name} was not created");
            assert_eq!(mode(&path), 0o600, "{name}");
        }
    }

    #[tokio::test]
    async fn finding_8_an_older_world_readable_database_is_tightened() {
        let (dir, url) = temp_sqlite();
        drop(Db::connect_and_migrate(&url).await.unwrap());
        for name in FILES {
            let path = dir.path().join(name);
            if path.exists() {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            }
        }
        let _db = Db::connect(&url).await.unwrap();
        for name in FILES {
            let path = dir.path().join(name);
            if path.exists() {
                assert_eq!(mode(&path), 0o600, "{name}");
            }
        }
    }

    /// Writers that read before they write, all at once on one SQLite file, as the event store
    /// and the projection runners do in a burst of campaign starts: every one commits (none meets
    /// `database is locked`) and none loses another's update.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_burst_of_read_then_write_transactions_on_sqlite_all_commit() {
        const WRITERS: i64 = 16;
        const EACH: i64 = 20;
        let (_dir, url) = temp_sqlite();
        let db = Db::connect(&url).await.unwrap();
        execute(
            &db,
            "CREATE TABLE tally (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
        )
        .await;
        execute(&db, "INSERT INTO tally (id, n) VALUES (1, 0)").await;
        let writers: Vec<_> = (0..WRITERS)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    for _ in 0..EACH {
                        let mut tx = db.begin_write().await?;
                        let n: i64 = sqlx::query_scalar("SELECT n FROM tally WHERE id = 1")
                            .fetch_one(&mut *tx)
                            .await?;
                        tokio::task::yield_now().await;
                        sqlx::query("UPDATE tally SET n = $1 WHERE id = 1")
                            .bind(n + 1)
                            .execute(&mut *tx)
                            .await?;
                        tx.commit().await?;
                    }
                    Ok::<_, sqlx::Error>(())
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap().expect("every transaction commits");
        }
        let n: i64 = sqlx::query_scalar("SELECT n FROM tally WHERE id = 1")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(n, WRITERS * EACH);
    }
}
