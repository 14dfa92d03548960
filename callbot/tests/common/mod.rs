//! What the tests that start the `callbot` binary share.

use std::process::Command;

/// The `callbot` binary, with none of the variables a developer's shell may set that would
/// point it at another database, bus or address.
pub fn callbot() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_callbot"));
    for var in [
        "DATABASE_URL",
        "NATS_URL",
        "JWT_SECRET",
        "RECORDING_KEY",
        "DATA_DIR",
        "BIND_ADDR",
        "PUBLIC_BASE_URL",
    ] {
        command.env_remove(var);
    }
    command
}
