//! The JSON-array framing of an rrweb event stream: `[` e1 `,` e2 … `]`,
//! compressed as it is written.

use crate::deflate::{DeflateError, ZlibWriter};
use crate::prelude::*;

/// Why an event was refused; the text is what the caller sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventError {
    /// Empty, or not a JSON object text.
    Invalid(&'static str),
    Deflate(DeflateError),
}

impl EventError {
    /// The text the caller sees (built without `core::fmt`).
    pub fn message(&self) -> String {
        match self {
            EventError::Invalid(why) => ["Adding invalid event: ", why].concat(),
            EventError::Deflate(_) => DeflateError::MESSAGE.into(),
        }
    }
}

impl core::fmt::Display for EventError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message())
    }
}

/// Cheap shape check for one event: a JSON object as produced by `JSON.stringify`.
/// It does not parse the event (that would cost more than compressing it); it
/// catches the common mistakes: an empty string, a value that was never
/// stringified (`"[object Object]"`), a bare number or a truncated event.
pub fn check_event(event: &str) -> Result<(), EventError> {
    let t = event.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\r'));
    if t.is_empty() {
        return Err(EventError::Invalid(
            "arg must be a non-empty string (one JSON-encoded rrweb event)",
        ));
    }
    if !(t.starts_with('{') && t.ends_with('}')) {
        return Err(EventError::Invalid(
            "arg must be one event encoded with JSON.stringify (a JSON object text)",
        ));
    }
    Ok(())
}

/// A compressed `[e1,e2,…]` stream.
pub struct EventStream {
    z: ZlibWriter,
    events: u64,
}

impl EventStream {
    pub fn new(level: u32) -> Self {
        let mut s = EventStream {
            z: ZlibWriter::new(level),
            events: 0,
        };
        s.open();
        s
    }

    fn open(&mut self) {
        self.events = 0;
        // Writing one byte only stores it in the backend's window; it cannot fail.
        let _ = self.z.write(b"[");
    }

    /// Appends one event (already checked by the caller, or trusted).
    pub fn push(&mut self, event: &str) -> Result<(), EventError> {
        check_event(event)?;
        if self.events > 0 {
            self.z.write(b",").map_err(EventError::Deflate)?;
        }
        self.z
            .write(event.as_bytes())
            .map_err(EventError::Deflate)?;
        self.events += 1;
        Ok(())
    }

    /// Closes the array and returns the complete zlib stream; a new, empty
    /// stream starts at once.
    pub fn finish(&mut self) -> Result<Vec<u8>, EventError> {
        let closed = self.z.write(b"]");
        let done = self.z.finish();
        self.open();
        closed.map_err(EventError::Deflate)?;
        done.map_err(EventError::Deflate)
    }

    /// Discards the current stream and starts an empty one.
    pub fn clear(&mut self) {
        self.z.reset();
        self.open();
    }
}
