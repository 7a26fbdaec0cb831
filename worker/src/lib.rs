//! ringflate: the compression and buffering engine behind a session-replay worker.
//!
//! The modules below are deterministic and free of JS types, so they are tested
//! natively with `cargo test`; `wasm` (wasm32 only) is the thin layer that binds
//! them to a Web Worker.

pub mod adler;
pub mod deflate;
pub mod engine;
pub mod events;
pub mod sentry;

#[cfg(target_arch = "wasm32")]
mod wasm;
