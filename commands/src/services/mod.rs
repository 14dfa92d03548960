//! Application services: every use case the API offers is one typed async function (typed
//! input, typed output, a `thiserror` error). HTTP handlers, and later the web pages, only
//! translate to and from them.

pub mod accounts;
pub mod scripts;
pub mod settings;
pub mod suppressions;
pub mod usage;
