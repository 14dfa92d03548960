//! Single-active workers (the relay, each projection, the dialer) across processes.
//!
//! On Postgres a worker holds a session advisory lock on a connection of its own for as long as
//! it runs; a second process waits until the first one dies. SQLite is one process by nature.

use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection};
use tokio_util::sync::CancellationToken;

use crate::db::{Backend, Db};

/// Held while this process is the active one; dropping the connection releases the lock.
pub struct Lease {
    _connection: Option<AnyConnection>,
}

/// Waits until this process may run the worker `name`; `None` if shutdown came first.
pub async fn acquire(db: &Db, name: &str, shutdown: &CancellationToken) -> Option<Lease> {
    if db.backend() == Backend::Sqlite {
        return Some(Lease { _connection: None });
    }
    let mut announced = false;
    loop {
        match try_lock(db, name).await {
            Ok(Some(connection)) => {
                return Some(Lease {
                    _connection: Some(connection),
                });
            }
            Ok(None) if !announced => {
                tracing::info!(worker = name, "another process is active; standing by");
                announced = true;
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(worker = name, error = %err, "cannot take the worker lock"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = shutdown.cancelled() => return None,
        }
    }
}

async fn try_lock(db: &Db, name: &str) -> Result<Option<AnyConnection>, sqlx::Error> {
    let mut connection: PoolConnection<Any> = db.pool().acquire().await?;
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
        .bind(format!("callbot:{name}"))
        .fetch_one(&mut *connection)
        .await?;
    // A connection holding the lock leaves the pool, so closing it is what releases the lock.
    Ok(locked.then(|| connection.detach()))
}
