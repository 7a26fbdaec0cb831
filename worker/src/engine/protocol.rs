//! The engine protocol's fixed parts: its version and the rejection codes.
//! The wire format is documented in `worker/PROTOCOL.md`.

/// The engine protocol version, stated in the worker's first message
/// (`protocol`). `worker/build.mjs` reads it from this line.
pub const PROTOCOL_VERSION: u32 = 2;

/// Prefix of every text the worker posts.
pub const PREFIX: &str = "ringflate: ";

/// Why a message was rejected (`rejected.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// The message is not an object.
    NotObject,
    /// `rf` is missing or not 1.
    BadRf,
    /// `op` is not a string or not a known op.
    UnknownOp,
    /// A replay op before the first `start`.
    NotStarted,
    /// `start` while a replay is running.
    AlreadyStarted,
    /// A field is missing, of the wrong type or out of range.
    BadField,
    /// An `events` batch that is not a JSON array of events.
    BadBatch,
    /// The WebAssembly engine could not start (posted by the bootstrap).
    Unavailable,
    /// The engine trapped (posted by the bootstrap).
    Internal,
}

impl Code {
    pub const ALL: [Code; 9] = [
        Code::NotObject,
        Code::BadRf,
        Code::UnknownOp,
        Code::NotStarted,
        Code::AlreadyStarted,
        Code::BadField,
        Code::BadBatch,
        Code::Unavailable,
        Code::Internal,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Code::NotObject => "not_object",
            Code::BadRf => "bad_rf",
            Code::UnknownOp => "unknown_op",
            Code::NotStarted => "not_started",
            Code::AlreadyStarted => "already_started",
            Code::BadField => "bad_field",
            Code::BadBatch => "bad_batch",
            Code::Unavailable => "unavailable",
            Code::Internal => "internal",
        }
    }
}
