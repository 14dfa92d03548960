//! Auto CallBot domain: aggregates, commands, events, typed errors and value objects.
//!
//! Pure: no I/O. Time and ids arrive inside commands.

#![warn(missing_docs)]

#[macro_use]
mod aggregate;

pub mod account;
pub mod call;
pub mod campaign;
pub mod credentials;
pub mod labels;
pub mod limits;
pub mod phone;
pub mod policy;
pub mod script;
#[cfg(test)]
mod testing;
pub mod tz;

pub use credentials::{Email, Password};
pub use phone::PhoneNumber;
pub use tz::{Tz, TzError};
