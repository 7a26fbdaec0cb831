//! Sentry's replay compression-worker protocol as a state machine, free of JS
//! types. The wasm layer turns each incoming message into a [`Message`] and
//! posts whatever [`SentryWorker::handle`] decides.
//!
//! Host → worker: `{ id: number, method: string, arg?: string }`.
//! Worker → host: `{ id, method, success, response }`, `id` and `method` echoed.

use crate::deflate::{gzip, DeflateError, DEFAULT_LEVEL};
use crate::events::EventStream;
use crate::prelude::*;

/// The methods of the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    AddEvent,
    Finish,
    Clear,
    Compress,
}

/// `s` in double quotes with the escapes of Rust's `{:?}` for ASCII (`\"`, `\\`,
/// `\n`, `\r`, `\t`, `\0`, `\u{1b}`…); other characters are kept as they are.
/// Written out because `{:?}` on a string links Unicode tables (about 1 KB gzipped).
fn quoted(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\r' => q.push_str("\\r"),
            '\t' => q.push_str("\\t"),
            '\0' => q.push_str("\\0"),
            c if c.is_ascii_control() => {
                q.push_str("\\u{");
                let n = c as u8;
                for d in [n >> 4, n & 15].into_iter().skip(usize::from(n < 16)) {
                    q.push(char::from(b"0123456789abcdef"[usize::from(d)]));
                }
                q.push('}');
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

impl Method {
    pub const NAMES: &'static str = "addEvent, finish, clear, compress";

    pub fn parse(name: &str) -> Option<Method> {
        Some(match name {
            "addEvent" => Method::AddEvent,
            "finish" => Method::Finish,
            "clear" => Method::Clear,
            "compress" => Method::Compress,
            _ => return None,
        })
    }
}

/// A JS value reduced to what the protocol needs to know about it.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Absent,
    Number,
    Str(String),
    /// Any other type; holds its `typeof` for error messages.
    Other(String),
}

impl Field {
    fn type_name(&self) -> &str {
        match self {
            Field::Absent => "undefined",
            Field::Number => "number",
            Field::Str(_) => "string",
            Field::Other(t) => t,
        }
    }
}

/// One incoming message. `NotAnObject` covers primitives and `null`.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    NotAnObject,
    Object {
        id: Field,
        method: Field,
        arg: Field,
    },
}

/// What the worker answers with, when it answers successfully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `response: undefined`
    Nothing,
    /// `response: Uint8Array`, transferred to the host.
    Bytes(Vec<u8>),
}

/// The decision for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No usable id: nothing can be routed back. The text says why (for the console).
    Ignore(&'static str),
    /// Reply `{ id, method, success: true, response }` (id and method echoed).
    Ok(Response),
    /// Reply `{ id, method, success: false, response: <text> }`.
    Err(String),
}

/// The drop-in worker's state: one compressed event stream.
pub struct SentryWorker {
    stream: EventStream,
    level: u32,
}

impl Default for SentryWorker {
    fn default() -> Self {
        Self::new(DEFAULT_LEVEL)
    }
}

impl SentryWorker {
    pub fn new(level: u32) -> Self {
        SentryWorker {
            stream: EventStream::new(level),
            level,
        }
    }

    pub fn handle(&mut self, msg: Message) -> Outcome {
        let (id, method, arg) = match msg {
            Message::NotAnObject => {
                return Outcome::Ignore("message is not an object {id, method, arg}")
            }
            Message::Object { id, method, arg } => (id, method, arg),
        };
        match id {
            Field::Number => {}
            Field::Absent => return Outcome::Ignore("message has no id"),
            other => {
                return Outcome::Err(
                    ["ringflate: id must be a number, got ", other.type_name()].concat(),
                )
            }
        }
        let method = match method {
            Field::Str(name) => match Method::parse(&name) {
                Some(m) => m,
                None => {
                    return Outcome::Err(
                        [
                            "ringflate: unknown method ",
                            &quoted(&name),
                            "; expected one of ",
                            Method::NAMES,
                        ]
                        .concat(),
                    )
                }
            },
            Field::Absent => return Outcome::Err("ringflate: message has no method".into()),
            other => {
                return Outcome::Err(
                    [
                        "ringflate: method must be a string, got ",
                        other.type_name(),
                    ]
                    .concat(),
                )
            }
        };
        self.apply(method, arg)
    }

    fn apply(&mut self, method: Method, arg: Field) -> Outcome {
        match method {
            Method::AddEvent => match arg {
                Field::Str(event) => match self.stream.push(&event) {
                    Ok(()) => Outcome::Ok(Response::Nothing),
                    Err(e) => Outcome::Err(e.message()),
                },
                other => Outcome::Err(
                    [
                        "Adding invalid event: arg must be a non-empty string (one JSON-encoded rrweb event), got ",
                        other.type_name(),
                    ]
                    .concat(),
                ),
            },
            Method::Finish => match self.stream.finish() {
                Ok(bytes) => Outcome::Ok(Response::Bytes(bytes)),
                Err(e) => Outcome::Err(e.message()),
            },
            Method::Clear => {
                self.stream.clear();
                Outcome::Ok(Response::Nothing)
            }
            Method::Compress => match arg {
                Field::Str(text) => match gzip(text.as_bytes(), self.level) {
                    Ok(bytes) => Outcome::Ok(Response::Bytes(bytes)),
                    Err(DeflateError) => Outcome::Err(DeflateError::MESSAGE.into()),
                },
                other => Outcome::Err(
                    ["ringflate: compress needs a string arg, got ", other.type_name()].concat(),
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn quoted_matches_debug_on_ascii_and_printable_text() {
        let all_ascii: String = (0u8..128).map(char::from).collect();
        for s in [
            all_ascii.as_str(),
            "",
            "frobnicate",
            "a\"b\\c",
            "héllo 世界 🎉",
        ] {
            assert_eq!(quoted(s), format!("{s:?}"), "{s}");
        }
    }
}
