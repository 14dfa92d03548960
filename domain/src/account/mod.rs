//! The `Account` aggregate: registration, login failures and lockout, password changes.
//!
//! Credentials themselves (password hashes, sessions) live in plain tables; events only record
//! that something happened.

mod aggregate;
mod commands;
mod errors;
mod events;
#[cfg(test)]
mod tests;

pub use aggregate::Account;
pub use commands::AccountCommand;
pub use errors::AccountError;
pub use events::AccountEvent;
