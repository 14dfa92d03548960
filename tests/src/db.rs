//! A fresh database per test: a SQLite file in a temporary directory, or a uuid-named database
//! on the test Postgres server, dropped with the value.

use commands::{Db, EventStore, Metrics};
use sqlx::{AnyPool, Executor};
use tempfile::TempDir;

/// The server holding throwaway test databases (`TEST_POSTGRES_URL`, default the local one).
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database that lives as long as the value.
pub struct TestDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A new SQLite file in a temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        Self {
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A new uuid-named database on the test Postgres server.
    pub async fn postgres() -> Self {
        let admin_url = postgres_admin_url();
        sqlx::any::install_default_drivers();
        let admin = AnyPool::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "Postgres is required for this suite and is not reachable at {admin_url} ({e}). \
                 Start it (see README, Tests) or set TEST_POSTGRES_URL."
            )
        });
        let name = format!("callbot_test_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("creating a test database");
        admin.close().await;
        let url = replace_database(&admin_url, &name);
        Self {
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }

    /// Connects and migrates.
    pub async fn connect(&self) -> Db {
        Db::connect_and_migrate(&self.url)
            .await
            .expect("connecting to the test database")
    }

    /// A store on this database.
    pub async fn store(&self) -> EventStore {
        EventStore::open(self.connect().await, Default::default())
            .await
            .expect("opening the store")
    }

    /// A store with the given metrics.
    pub async fn store_with(&self, metrics: std::sync::Arc<Metrics>) -> EventStore {
        EventStore::open(self.connect().await, metrics)
            .await
            .expect("opening the store")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside any runtime guarantee; a short-lived one of our own is simplest.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async {
                    if let Ok(admin) = AnyPool::connect(&admin_url).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = admin.execute(sqlx::AssertSqlSafe(sql)).await;
                    }
                });
            })
            .join();
        }
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(slash) if slash > "postgres://".len() => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}
