//! ringflate: the compression and buffering engine behind a session-replay worker.
//!
//! The modules below are deterministic and free of JS types, so they are tested
//! natively with `cargo test`; `wasm` (wasm32 only) is the thin layer that binds
//! them to a Web Worker.
//!
//! The WebAssembly build is `no_std` (with `alloc`): without std's panic
//! runtime a panic there is one `unreachable` trap (`wasm.rs`), and std's panic
//! machinery and thread-locals are not linked. Native builds (tests, benches)
//! keep std.

#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

/// What std's prelude would give every module.
mod prelude {
    pub use alloc::string::{String, ToString};
    pub use alloc::vec;
    pub use alloc::vec::Vec;
}

pub mod adler;
pub mod deflate;
pub mod engine;
pub mod events;
pub mod sentry;

#[cfg(target_arch = "wasm32")]
mod wasm;
