//! SQL migrations for both event-store backends, embedded into the binary and applied at start.

use sqlx::migrate::Migrator;

/// Migrations for PostgreSQL (production).
pub static POSTGRES: Migrator = sqlx::migrate!("./postgres");

/// Migrations for SQLite (the embedded default).
pub static SQLITE: Migrator = sqlx::migrate!("./sqlite");
