//! A projection for tests of the projection machinery itself (runners, fences, restarts): one
//! row per event in the table `ledger`, keyed by position so that a second write of one fails.

use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use commands::{Db, EventStore, StoredEvent};
use projections::{Projection, ProjectionError};
use sqlx::AnyConnection;

/// Writes one row per event; its first `failures` events fail as if the database had gone away.
#[derive(Default)]
pub struct Ledger {
    failures: AtomicU32,
}

impl Ledger {
    /// A ledger whose first `failures` events fail with a database error.
    pub fn failing_first(failures: u32) -> Self {
        Self {
            failures: AtomicU32::new(failures),
        }
    }

    /// Creates the `ledger` table in `db`.
    pub async fn create_table(db: &Db) {
        sqlx::query("CREATE TABLE ledger (position BIGINT PRIMARY KEY)")
            .execute(db.pool())
            .await
            .expect("the ledger table");
    }

    /// The rows written so far.
    pub async fn rows(store: &EventStore) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM ledger")
            .fetch_one(store.db().pool())
            .await
            .expect("a count")
    }
}

#[async_trait]
impl Projection for Ledger {
    fn name(&self) -> &'static str {
        "ledger"
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, Ordering::SeqCst);
            return Err(ProjectionError::Database(sqlx::Error::PoolTimedOut));
        }
        sqlx::query("INSERT INTO ledger (position) VALUES ($1)")
            .bind(event.position)
            .execute(conn)
            .await?;
        Ok(())
    }
}
