//! Single-active workers (the relay, each projection, the dialer) across processes: leases that
//! notice their loss, and fencing for the work done under them.
//!
//! On Postgres a lease is a session advisory lock held on a connection of its own for as long as
//! the worker runs; other processes stand by and try again every [`STANDBY_POLL`]. A lock is
//! lost silently when its connection dies (a restart of the database, `pg_terminate_backend`), so
//! the holder checks it before every unit of work and while it waits ([`Lease::is_alive`]: the
//! lock is still granted to the connection's backend and the epoch is still ours).
//!
//! Fencing: every acquisition bumps the lease's epoch in `worker_leases` and records who holds
//! it. Work saved under a lease carries the lease's [`Fence`] and is refused with [`LeaseLost`]
//! once the epoch has moved on ([`Fence::hold`]), so a holder that has not noticed its loss yet
//! cannot overwrite what its successor did.
//!
//! SQLite is one process by nature: the lease is taken at once, but its epoch moves the same way.

use std::sync::OnceLock;
use std::time::Duration;

use chrono::Utc;
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection};
use tokio_util::sync::CancellationToken;

use crate::db::{Backend, Db};
use crate::store::{StoreError, timestamp};

/// How often a standing-by process tries to take a lease: a successor takes over within about
/// this long of the holder's death.
pub const STANDBY_POLL: Duration = Duration::from_millis(500);
/// The longest pause between attempts while the database refuses them.
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(5);
/// How long a lease check may take before the lease counts as lost (a connection that hangs
/// rather than fails, as across a network partition).
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(5);

/// This process as a lease holder: `host:pid` (the host as the kernel names it, else
/// `$HOSTNAME`, else `localhost`).
pub fn process_holder() -> &'static str {
    static HOLDER: OnceLock<String> = OnceLock::new();
    HOLDER.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|host| host.trim().to_owned())
            .filter(|host| !host.is_empty())
            .unwrap_or_else(|| "localhost".to_owned());
        format!("{host}:{}", std::process::id())
    })
}

/// Who holds a lease, as `worker_leases` records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseRecord {
    /// Bumped by every acquisition.
    pub epoch: i64,
    /// The holder's id (see [`process_holder`]).
    pub holder: String,
}

/// Work saved under a lease whose epoch has moved on: another holder took over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the lease {name} has moved on from epoch {epoch}: another process holds it")]
pub struct LeaseLost {
    pub name: String,
    pub epoch: i64,
}

/// The lease a piece of work is done under: its name and the epoch this holder acquired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    name: String,
    epoch: i64,
    backend: Backend,
}

impl Fence {
    /// The lease's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The epoch this holder acquired.
    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    /// Inside a transaction: checks that the lease is still at this epoch and holds its row
    /// until the transaction ends, so that no successor can bump the epoch meanwhile: its
    /// acquisition waits for this commit, and then reads what it wrote. Call it before the
    /// transaction's writes.
    pub async fn hold(&self, tx: &mut AnyConnection) -> Result<(), StoreError> {
        let held = match self.backend {
            Backend::Postgres => sqlx::query_scalar::<_, i64>(
                "SELECT epoch FROM worker_leases WHERE name = $1 AND epoch = $2 FOR SHARE",
            )
            .bind(&self.name)
            .bind(self.epoch)
            .fetch_optional(tx)
            .await?
            .is_some(),
            // A write first: SQLite then holds its one write lock, where a read first would
            // pin a snapshot that any append in between makes unwritable.
            Backend::Sqlite => {
                sqlx::query("UPDATE worker_leases SET epoch = epoch WHERE name = $1 AND epoch = $2")
                    .bind(&self.name)
                    .bind(self.epoch)
                    .execute(tx)
                    .await?
                    .rows_affected()
                    == 1
            }
        };
        if held {
            Ok(())
        } else {
            Err(self.lost().into())
        }
    }

    fn lost(&self) -> LeaseLost {
        LeaseLost {
            name: self.name.clone(),
            epoch: self.epoch,
        }
    }
}

/// Held while this process is the active one; dropping it closes the lock's connection, which
/// releases the lock.
pub struct Lease {
    fence: Fence,
    holder: String,
    hold: Hold,
}

/// What keeps a lease this process's.
enum Hold {
    /// SQLite: the process itself.
    Process,
    /// Postgres: the connection holding the advisory lock.
    Lock(AnyConnection),
    /// Found lost; its connection is closed.
    Lost,
}

impl Lease {
    /// What work done under this lease carries.
    pub fn fence(&self) -> &Fence {
        &self.fence
    }

    /// Who holds it (this process).
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Whether the lease is still ours, checked on the lock's own connection: the lock is still
    /// granted to its backend and the epoch has not moved; records the heartbeat. A check that
    /// fails or takes longer than [`HEARTBEAT_TIMEOUT`] counts as a loss. A lost lease stays
    /// lost: drop it and acquire afresh.
    pub async fn is_alive(&mut self) -> bool {
        let connection = match &mut self.hold {
            Hold::Process => return true,
            Hold::Lost => return false,
            Hold::Lock(connection) => connection,
        };
        let check = sqlx::query(
            "UPDATE worker_leases SET heartbeat_at = $1 \
             WHERE name = $2 AND epoch = $3 AND EXISTS (\
                 SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
                 AND pid = pg_backend_pid() AND objsubid = 1 \
                 AND ((classid::bigint << 32) | objid::bigint) = hashtext($4)::bigint)",
        )
        .bind(timestamp(Utc::now()))
        .bind(&self.fence.name)
        .bind(self.fence.epoch)
        .bind(lock_key(&self.fence.name))
        .execute(connection);
        let why = match tokio::time::timeout(HEARTBEAT_TIMEOUT, check).await {
            Ok(Ok(done)) if done.rows_affected() == 1 => return true,
            Ok(Ok(_)) => "the lock is gone or the epoch moved on".to_owned(),
            Ok(Err(error)) => format!("its connection failed: {error}"),
            Err(_) => format!("its connection did not answer within {HEARTBEAT_TIMEOUT:?}"),
        };
        tracing::warn!(
            lease = self.fence.name,
            epoch = self.fence.epoch,
            why,
            "lease lost"
        );
        // Closing the connection gives up the lock, if the server still thinks it is held.
        self.hold = Hold::Lost;
        false
    }
}

/// What one attempt to take a lease found.
pub enum Attempt {
    /// This process holds it now.
    Acquired(Lease),
    /// Another process holds it (`None`: it holds the lock but has not recorded itself yet).
    Held(Option<LeaseRecord>),
}

/// Waits until this process may run the worker `name`; `None` if shutdown came first.
pub async fn acquire(db: &Db, name: &str, shutdown: &CancellationToken) -> Option<Lease> {
    acquire_as(db, name, process_holder(), shutdown, |_| {}).await
}

/// [`acquire`] as `holder`, telling `standing_by` who holds the lease while this process waits.
pub async fn acquire_as(
    db: &Db,
    name: &str,
    holder: &str,
    shutdown: &CancellationToken,
    mut standing_by: impl FnMut(Option<&LeaseRecord>),
) -> Option<Lease> {
    let mut announced = false;
    let mut pause = STANDBY_POLL;
    loop {
        // A worker told to stop takes nothing, not even for a moment: on SQLite taking the
        // lease moves its epoch on, away from the runner that took it last.
        if shutdown.is_cancelled() {
            return None;
        }
        match try_acquire(db, name, holder).await {
            Ok(Attempt::Acquired(lease)) => {
                tracing::info!(
                    lease = name,
                    epoch = lease.fence.epoch,
                    holder,
                    "lease acquired"
                );
                return Some(lease);
            }
            Ok(Attempt::Held(record)) => {
                if !announced {
                    tracing::info!(lease = name, holder = ?record.as_ref().map(|r| &r.holder), "another process is active; standing by");
                    announced = true;
                }
                standing_by(record.as_ref());
                pause = STANDBY_POLL;
            }
            Err(error) => {
                tracing::warn!(lease = name, %error, ?pause, "cannot take the lease");
                standing_by(None);
                pause = (pause * 2).min(MAX_RETRY_PAUSE);
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.cancelled() => return None,
        }
    }
}

/// One attempt to take the lease `name` as `holder`; on success its epoch is bumped.
pub async fn try_acquire(db: &Db, name: &str, holder: &str) -> Result<Attempt, StoreError> {
    let (hold, epoch) = match db.backend() {
        Backend::Sqlite => {
            let epoch = bump_epoch(&mut *db.pool().acquire().await?, name, holder).await?;
            (Hold::Process, epoch)
        }
        Backend::Postgres => {
            let mut connection: PoolConnection<Any> = db.pool().acquire().await?;
            let (locked, epoch, current): (bool, Option<i64>, Option<String>) = sqlx::query_as(
                "SELECT pg_try_advisory_lock(hashtext($1)), l.epoch, l.holder \
                 FROM (SELECT 1) AS one LEFT JOIN worker_leases l ON l.name = $2",
            )
            .bind(lock_key(name))
            .bind(name)
            .fetch_one(&mut *connection)
            .await?;
            if !locked {
                let record = epoch
                    .zip(current)
                    .map(|(epoch, holder)| LeaseRecord { epoch, holder });
                return Ok(Attempt::Held(record));
            }
            // A connection holding the lock leaves the pool, so closing it releases the lock;
            // the epoch moves on that connection too: if it dies here, the lease is never used.
            let mut connection = connection.detach();
            let epoch = bump_epoch(&mut connection, name, holder).await?;
            (Hold::Lock(connection), epoch)
        }
    };
    Ok(Attempt::Acquired(Lease {
        fence: Fence {
            name: name.to_owned(),
            epoch,
            backend: db.backend(),
        },
        holder: holder.to_owned(),
        hold,
    }))
}

/// Every lease as `worker_leases` records it, by name.
pub async fn leases(db: &Db) -> Result<Vec<(String, LeaseRecord)>, StoreError> {
    let rows: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT name, epoch, holder FROM worker_leases ORDER BY name")
            .fetch_all(db.pool())
            .await?;
    Ok(rows
        .into_iter()
        .map(|(name, epoch, holder)| (name, LeaseRecord { epoch, holder }))
        .collect())
}

async fn bump_epoch(
    connection: &mut AnyConnection,
    name: &str,
    holder: &str,
) -> Result<i64, StoreError> {
    let now = timestamp(Utc::now());
    let epoch = sqlx::query_scalar(
        "INSERT INTO worker_leases (name, epoch, holder, acquired_at, heartbeat_at) \
         VALUES ($1, 1, $2, $3, $4) \
         ON CONFLICT (name) DO UPDATE SET epoch = worker_leases.epoch + 1, \
         holder = excluded.holder, acquired_at = excluded.acquired_at, \
         heartbeat_at = excluded.heartbeat_at \
         RETURNING epoch",
    )
    .bind(name)
    .bind(holder)
    .bind(&now)
    .bind(&now)
    .fetch_one(connection)
    .await?;
    Ok(epoch)
}

/// The advisory lock's text key (hashed by Postgres into the lock id).
fn lock_key(name: &str) -> String {
    format!("callbot:{name}")
}
