//! The Twilio REST adapter ([`client`]); the wire format it speaks is `protocols::twilio`.

pub mod client;

pub use client::{TwilioClient, TwilioConfig, TwilioError};
