//! SQL migrations for both event-store backends, embedded into the binary and applied at start.
//!
//! Every migration is written once in `shared/` when its SQL reads the same on PostgreSQL and
//! SQLite; a backend's own folder holds only the migrations whose SQL differs (today the event
//! table, whose key is a rowid on SQLite). Each file keeps the bytes it was released with, so
//! the checksums recorded in existing databases still match.

use std::sync::LazyLock;

use sqlx::migrate::Migrator;

/// Migrations for PostgreSQL (production).
pub static POSTGRES: LazyLock<Migrator> =
    LazyLock::new(|| with_shared(&sqlx::migrate!("./postgres")));

/// Migrations for SQLite (the embedded default).
pub static SQLITE: LazyLock<Migrator> = LazyLock::new(|| with_shared(&sqlx::migrate!("./sqlite")));

/// The migrations whose SQL both backends run unchanged.
static SHARED: Migrator = sqlx::migrate!("./shared");

/// A backend's own migrations and the shared ones, in version order.
fn with_shared(own: &Migrator) -> Migrator {
    Migrator::with_migrations(own.iter().chain(SHARED.iter()).cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_backend_runs_every_version_once_in_order() {
        for migrator in [&*POSTGRES, &*SQLITE] {
            let versions: Vec<i64> = migrator.iter().map(|m| m.version).collect();
            let expected: Vec<i64> = (1..=versions.len() as i64).collect();
            assert_eq!(versions, expected);
        }
    }

    /// The SHA-384 (first 16 bytes) of each migration as released: databases record the checksum
    /// of every migration they ran and refuse to start when a file has changed since. First each
    /// backend's own 0001, then the shared 0002 on.
    const RELEASED_OWN: [&str; 2] = [
        "5a53f9087362f96e8bd8298692935914",
        "1a26bd427a5da3f6dcfbfb54d9470be6",
    ];
    const RELEASED_SHARED: [&str; 10] = [
        "32fcff069eefabbf1784facf8e877f32",
        "3763e6e3ea27f48c3f815a8080f00081",
        "0d51c466efdbf078d928959a54cd4165",
        "af5de2c72dfbb4d16066284c62694e27",
        "096e4be97dbe5768f6c4b3bfc51867aa",
        "24fc4e34f820a00ac2d2aa564ac62aea",
        "ce7f425d7bec94ff7ea4f10939daf0a6",
        "80237ff37febfea7cdff08d229ecfbbf",
        "9470d007900fe4f0be08834782224be1",
        "60eaf0c15f75fe4f1770fe010be5058d",
    ];

    #[test]
    fn released_migrations_keep_their_checksums() {
        for (migrator, own) in [&*POSTGRES, &*SQLITE].into_iter().zip(RELEASED_OWN) {
            let released: Vec<&str> = [own].into_iter().chain(RELEASED_SHARED).collect();
            let checksums: Vec<String> = migrator
                .iter()
                .take(released.len())
                .map(|m| {
                    m.checksum[..16]
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect()
                })
                .collect();
            assert_eq!(checksums, released);
        }
    }
}
