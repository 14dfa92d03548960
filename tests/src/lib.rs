//! The one test harness: `spawn_app()` starts the whole server in-process, with one helper per
//! endpoint; beside it a fresh database per test (`TestDb`), a NATS server per test that the test
//! can stop and start again (`TestNats`), the status stream reader, shared test data, and waiting
//! on concrete conditions with a deadline.
//!
//! These suites never skip: a missing Postgres or NATS binary fails the test with a message that
//! says how to provide it.

pub mod api;
pub mod app;
pub mod backends;
pub mod db;
pub mod fixtures;
pub mod ledger;
pub mod mcp;
pub mod metrics;
pub mod nats;
pub mod sse;
pub mod wait;

pub use app::{
    AppOptions, AppState, Backend, OWNER, PASSWORD, PUBLIC_URL, Providers, Role, TestApp,
    spawn_app, spawn_app_with,
};
pub use db::{TestDb, postgres_admin_url};
pub use mcp::McpSession;
pub use nats::{TestNats, free_port, nats_server_bin, stream_contents};
pub use wait::{eventually, poll_api};
