//! The HTTP edge and the `callbot` binary: REST API, health and metrics, and the commands to
//! serve, migrate and inspect the event history.

pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod csv_upload;
pub mod error;
pub mod files;
pub mod maintenance;
pub mod preflight;
pub mod providers;
pub mod rate_limit;
pub mod recordings;
pub mod results;
pub mod routes;
pub mod signed_url;

pub use app::{AppState, Application};
pub use config::{Config, Role, Secret};
