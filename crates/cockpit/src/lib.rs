//! The Rust SDK for the CloudCockpit API.
