//! The edge to the providers: every real adapter (the Twilio REST client that places, hangs up,
//! records and prices calls; the ElevenLabs account and conversation details) and the media
//! bridge joining a Twilio media socket to an ElevenLabs agent, with its `/twilio/media` router.
//! The wire formats they speak live in `protocols`, shared with the sandbox.

pub mod bridge;
pub mod conversation_details;
pub mod elevenlabs_account;
pub mod media_threads;
pub mod provider_accounts;
pub mod router;
pub mod store_port;
pub mod token;
pub mod twilio;

pub use router::router;
