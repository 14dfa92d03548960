//! The composition root: configuration, telemetry, provider wiring, the workers and their
//! supervisor, the HTTP server, and the `callbot` command line.

pub mod adapters;
pub mod app;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod http_server;
#[cfg(feature = "sandbox")]
pub mod load;
pub mod maintenance;
pub mod providers;
#[cfg(feature = "sandbox")]
pub mod standalone;
pub mod telemetry;

pub use app::Application;
pub use config::{Config, Role};
