//! The HTTP edge and the `callbot` binary: REST API, health and metrics, and the commands to
//! serve, migrate and inspect the event history.

pub mod app;
pub mod cli;
pub mod config;
pub mod routes;

pub use app::{AppState, Application};
pub use config::{Config, Role, Secret};
