//! The HTTP edge as a library: routing, extractors, request and response types, error mapping.
//! The `callbot` crate builds the [`AppState`] and serves the router.

pub mod audit;
pub mod auth;
pub mod client_ip;
pub mod csrf;
pub mod csv_upload;
pub mod error;
pub mod rate_limit;
pub mod routes;
pub mod signed_url;
pub mod state;

pub use state::AppState;
