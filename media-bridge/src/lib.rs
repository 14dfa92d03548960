//! media-bridge
