//! Twilio: the wire format ([`wire`]) and the REST adapter ([`client`]).

pub mod client;
pub mod wire;

pub use client::{TwilioClient, TwilioConfig};
