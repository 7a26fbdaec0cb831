//! The host → worker half of the engine protocol (`worker/PROTOCOL.md`): its
//! version, the one table of ops and their fields ([`HOST_OPS`],
//! [`CONFIG_FIELDS`]), and the parser that turns a message into a typed [`Op`]
//! or a rejection with its [`Code`]. The worker → host half is
//! [`super::output`].

use super::sample::is_replay_id;
use super::scan::Text;
use crate::prelude::*;
use alloc::rc::Rc;

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

/// A JS value reduced to what the engine reads (the wasm layer builds it; tests
/// build it directly).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Undefined,
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    /// A string the engine reads in parts, where it is (the wasm layer passes
    /// a long `events.json` so, see [`Text`]).
    Long(Long),
    /// A plain object's own enumerable properties, in order.
    Object(Vec<(String, Value)>),
    /// Anything else (array, function, typed array…); holds a type name for messages.
    Other(String),
}

/// A string read in parts (compared by identity).
#[derive(Clone)]
pub struct Long(pub Rc<dyn Text>);

impl core::fmt::Debug for Long {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Long")
    }
}

impl PartialEq for Long {
    fn eq(&self, other: &Long) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

pub(crate) const UNDEFINED: Value = Value::Undefined;

impl Value {
    /// The property `k` of an object, `Undefined` otherwise.
    pub fn get(&self, k: &str) -> &Value {
        match self {
            Value::Object(props) => props
                .iter()
                .rev()
                .find(|(name, _)| name == k)
                .map_or(&UNDEFINED, |(_, v)| v),
            _ => &UNDEFINED,
        }
    }

    pub fn type_name(&self) -> &str {
        match self {
            Value::Undefined => "undefined",
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::Str(_) | Value::Long(_) => "string",
            Value::Object(_) => "object",
            Value::Other(t) => t,
        }
    }

    /// Builds an object value (a convenience for tests and callers).
    pub fn obj(props: &[(&str, Value)]) -> Value {
        Value::Object(
            props
                .iter()
                .map(|(k, v)| ((*k).to_string(), v.clone()))
                .collect(),
        )
    }

    pub fn str(s: &str) -> Value {
        Value::Str(s.to_string())
    }
}

/// The type of a message field as the host sees it (the names used in the
/// schema dump and in `worker/PROTOCOL.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Str,
    Num,
    Bool,
    /// A `Uint8Array`.
    Bytes,
    Strs,
    Bools,
    StrOrNull,
    Object,
}

impl Ty {
    pub const ALL: [Ty; 8] = [
        Ty::Str,
        Ty::Num,
        Ty::Bool,
        Ty::Bytes,
        Ty::Strs,
        Ty::Bools,
        Ty::StrOrNull,
        Ty::Object,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Ty::Str => "string",
            Ty::Num => "number",
            Ty::Bool => "boolean",
            Ty::Bytes => "bytes",
            Ty::Strs => "string[]",
            Ty::Bools => "boolean[]",
            Ty::StrOrNull => "string|null",
            Ty::Object => "object",
        }
    }

    /// The type in a sentence.
    fn describe(self) -> &'static str {
        match self {
            Ty::Str => "a string",
            Ty::Num => "a number",
            Ty::Bool => "a boolean",
            Ty::Bytes => "a Uint8Array",
            Ty::Strs => "an array of strings",
            Ty::Bools => "an array of booleans",
            Ty::StrOrNull => "a string or null",
            Ty::Object => "an object",
        }
    }

    /// Whether a host value has this type (host messages carry only the
    /// scalar types, `string|null` and objects).
    fn accepts(self, v: &Value) -> bool {
        matches!(
            (self, v),
            (Ty::Str | Ty::StrOrNull, Value::Str(_) | Value::Long(_))
                | (Ty::StrOrNull, Value::Null)
                | (Ty::Num, Value::Number(_))
                | (Ty::Bool, Value::Bool(_))
                | (Ty::Object, Value::Object(_))
        )
    }
}

/// One field of a host message or of `config`. Optional fields may be absent
/// or `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
}

const fn req(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: true,
    }
}

const fn opt(name: &'static str, ty: Ty) -> Field {
    Field {
        name,
        ty,
        required: false,
    }
}

/// The one field that may arrive as a [`Value::Long`]: an `events` batch's
/// text, which a host layer may leave outside the core and have read in parts.
pub const LONG_FIELD: &str = "json";

/// Every engine message, both ways, starts with these.
pub const HEADER: [Field; 2] = [req("rf", Ty::Num), req("op", Ty::Str)];

/// The host → worker ops and their fields (besides [`HEADER`]).
pub const HOST_OPS: &[(&str, &[Field])] = &[
    (
        "start",
        &[
            req("config", Ty::Object),
            opt("session", Ty::StrOrNull),
            opt("url", Ty::Str),
        ],
    ),
    ("events", &[req(LONG_FIELD, Ty::Str), opt("seq", Ty::Num)]),
    (
        "error",
        &[opt("eventId", Ty::Str), req("sampled", Ty::Bool)],
    ),
    ("trace", &[req("traceId", Ty::Str)]),
    ("hidden", &[req("hidden", Ty::Bool)]),
    ("flush", &[]),
    ("stop", &[]),
    ("resume", &[]),
    (
        "sent",
        &[req("replayId", Ty::Str), req("segmentId", Ty::Num)],
    ),
    ("ping", &[]),
    ("forget", &[]),
];

/// The fields of `start.config` (unknown ones are ignored). Ranges and
/// combinations are checked by `Config::from_value`.
pub const CONFIG_FIELDS: &[Field] = &[
    req("sessionSampleRate", Ty::Num),
    req("errorSampleRate", Ty::Num),
    opt("bufferMs", Ty::Num),
    opt("maxBufferBytes", Ty::Num),
    opt("minReplayDurationMs", Ty::Num),
    opt("maxReplayDurationMs", Ty::Num),
    opt("dsn", Ty::Str),
    opt("tunnel", Ty::Str),
    opt("endpoint", Ty::Str),
    opt("sentryClient", Ty::Bool),
    opt("sdk", Ty::Object),
    opt("environment", Ty::Str),
    opt("release", Ty::Str),
];

/// A parsed host message. Strings borrow from the message.
#[derive(Debug, Clone)]
pub enum Op<'a> {
    Start {
        config: &'a Value,
        session: Option<&'a str>,
        url: Option<&'a str>,
    },
    Events {
        json: &'a dyn Text,
        /// The host's number for this batch, reported back in `partial.seq`.
        seq: Option<u64>,
    },
    Error {
        event_id: Option<&'a str>,
        sampled: bool,
    },
    Trace {
        trace_id: &'a str,
    },
    Hidden(bool),
    Flush,
    Stop,
    Resume,
    /// The destination accepted this segment: what was kept for it goes.
    Sent {
        replay_id: &'a str,
        segment_id: f64,
    },
    /// Liveness (the bootstrap answers it before the module sees it).
    Ping,
    /// Delete every persisted recording.
    Forget,
}

/// A rejection: its code and what is wrong (without [`PREFIX`]).
pub type Rejection = (Code, String);

/// Checks `obj`'s fields against `fields`; `at` prefixes the field name in the
/// message (e.g. `"events: "`, `"config."`).
pub fn check_fields(obj: &Value, fields: &[Field], at: &str) -> Result<(), String> {
    for f in fields {
        let v = obj.get(f.name);
        let absent = matches!(v, Value::Undefined | Value::Null);
        if !(f.ty.accepts(v) || (absent && !f.required)) {
            return Err([
                at,
                f.name,
                " must be ",
                f.ty.describe(),
                ", got ",
                v.type_name(),
            ]
            .concat());
        }
    }
    Ok(())
}

/// Parses one host message against [`HOST_OPS`].
pub fn parse_op(msg: &Value) -> Result<Op<'_>, Rejection> {
    if !matches!(msg, Value::Object(_)) {
        return Err((
            Code::NotObject,
            [
                "an engine message must be an object {rf: 1, op, …}, got ",
                msg.type_name(),
            ]
            .concat(),
        ));
    }
    match msg.get("rf") {
        Value::Number(v) if *v == 1.0 => {}
        other => {
            return Err((
                Code::BadRf,
                [
                    "unsupported engine protocol version (rf: ",
                    match other {
                        Value::Number(_) => "a number other than 1",
                        v => v.type_name(),
                    },
                    "); this worker speaks rf: 1",
                ]
                .concat(),
            ))
        }
    }
    let known = || {
        // Not `join`, which links a generic copy loop.
        let mut names = String::new();
        for (i, (n, _)) in HOST_OPS.iter().enumerate() {
            if i > 0 {
                names.push_str(", ");
            }
            names.push_str(n);
        }
        names
    };
    let name = match msg.get("op") {
        Value::Str(s) => s.as_str(),
        other => {
            return Err((
                Code::UnknownOp,
                [
                    "op must be a string (",
                    &known(),
                    "), got ",
                    other.type_name(),
                ]
                .concat(),
            ))
        }
    };
    let Some((_, fields)) = HOST_OPS.iter().find(|(n, _)| *n == name) else {
        return Err((
            Code::UnknownOp,
            ["unknown op \"", name, "\" (known: ", &known(), ")"].concat(),
        ));
    };
    check_fields(msg, fields, &[name, ": "].concat()).map_err(|m| (Code::BadField, m))?;
    let text = |k: &str| match msg.get(k) {
        Value::Str(s) => Some(s.as_str()),
        _ => None,
    };
    let flag = |k: &str| matches!(msg.get(k), Value::Bool(true));
    Ok(match name {
        "start" => Op::Start {
            config: msg.get("config"),
            session: text("session"),
            url: text("url"),
        },
        "events" => Op::Events {
            json: match msg.get(LONG_FIELD) {
                Value::Str(s) => s,
                Value::Long(t) => &*t.0,
                _ => &"",
            },
            seq: match msg.get("seq") {
                // Saturating: a negative or non-finite seq reads as 0.
                Value::Number(n) => Some(*n as u64),
                _ => None,
            },
        },
        "error" => Op::Error {
            event_id: text("eventId"),
            sampled: flag("sampled"),
        },
        "trace" => match text("traceId") {
            Some(t) if is_replay_id(t) => Op::Trace { trace_id: t },
            _ => {
                return Err((
                    Code::BadField,
                    "trace: traceId must be 32 lowercase hex digits".into(),
                ))
            }
        },
        "hidden" => Op::Hidden(flag("hidden")),
        "flush" => Op::Flush,
        "stop" => Op::Stop,
        "sent" => Op::Sent {
            replay_id: text("replayId").unwrap_or_default(),
            segment_id: match msg.get("segmentId") {
                Value::Number(n) => *n,
                _ => -1.0,
            },
        },
        "ping" => Op::Ping,
        "forget" => Op::Forget,
        _ => Op::Resume,
    })
}
