//! Twilio's wire format, in one place for the adapter and the sandbox (PROTOCOLS.md §A–§D), one
//! module per concern. Everything is re-exported here, so `protocols::twilio::CallStatus` works.

pub mod account;
pub mod callbacks;
pub mod calls;
pub mod connection_overrides;
pub mod form;
pub mod media_streams;
pub mod recordings;
pub mod signature;
pub mod twiml;

pub use account::{
    AccountNumber, AccountResource, Balance, IncomingPhoneNumbers, OutgoingCallerIds, Paging,
};
pub use callbacks::{AmdCallback, CallStatus, RecordingCallback, StatusCallback};
pub use calls::{
    CallList, CallResource, CreateCall, ERROR_AUTHENTICATION, ERROR_CALL_NOT_IN_PROGRESS,
    ERROR_INVALID_TO, ERROR_NOT_FOUND, ERROR_TOO_MANY_REQUESTS, ErrorBody, STATUS_EVENTS,
};
pub use connection_overrides::ConnectionOverrides;
pub use form::{Form, FormError, encode_form, parse_form};
pub use media_streams::{
    DtmfPayload, FromTwilio, MarkPayload, MediaFormat, MediaPayload, StreamStart, StreamStop,
    ToTwilio,
};
pub use recordings::{RecordingResource, WAV_CONTENT_TYPE, is_recording_sid, recording_path};
pub use signature::{
    SIGNATURE_HEADER, compute_signature, validate_json_signature, validate_signature,
};
pub use twiml::{TwimlError, Verb, escape_xml, parse_twiml, render_twiml};
