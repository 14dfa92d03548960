//! The edge to the phone network: the Twilio REST adapter (places, hangs up, records and prices
//! calls) and the Twilio wire format that both this adapter and the sandbox speak.

pub mod bridge;
pub mod conversation_details;
pub mod elevenlabs;
pub mod elevenlabs_account;
pub mod token;
pub mod twilio;
