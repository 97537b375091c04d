//! Delivery against real receivers: an axum server on 127.0.0.1 and Mosquitto.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod http;
mod isolation;
mod mqtt;
