//! Everything the worker posts to the host ([`Output`]) and its wire form:
//! [`Output::wire`] lists each message's fields with their JSON-side types, so
//! the wasm layer converts any output with one loop and a test can dump the
//! schema (`worker/tests/protocol_schema.rs`).

use super::protocol::{Code, Ty};
use crate::prelude::*;

/// How a replay records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Segments are sent as they fill.
    Session,
    /// Compressed history is kept until an error samples the replay.
    Buffer,
    /// Nothing is recorded.
    Off,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Session => "session",
            Mode::Buffer => "buffer",
            Mode::Off => "off",
        }
    }
}

/// `replay_type` of a replay: how it started (stays `Buffer` after an error
/// switched a buffering replay to session mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayType {
    Session,
    Buffer,
}

impl ReplayType {
    pub fn name(self) -> &'static str {
        match self {
            ReplayType::Session => "session",
            ReplayType::Buffer => "buffer",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `body` is a complete Sentry envelope.
    Envelope,
    /// `body` is the zlib recording alone.
    Plain,
    /// `body` is the `replay_recording` item payload (`{"segment_id":N}` line
    /// and the zlib recording), for a Sentry client; `replay_event` goes with it.
    Recording,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Envelope => "envelope",
            Kind::Plain => "plain",
            Kind::Recording => "recording",
        }
    }
}

/// A finished segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub replay_id: String,
    pub segment_id: u16,
    pub replay_type: ReplayType,
    /// First and last event timestamps (ms).
    pub start: u64,
    pub end: u64,
    pub event_count: u32,
    pub kind: Kind,
    /// Where to POST `body`, when known.
    pub url: Option<String>,
    pub body: Vec<u8>,
    /// `Kind::Recording`: the `replay_event` (JSON) that goes with the body.
    pub replay_event: Option<String>,
}

/// Counters, reported in `stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events accepted and their bytes.
    pub events: u64,
    pub event_bytes: u64,
    /// Event bytes given to a compressor (each event exactly once).
    pub compressed_input_bytes: u64,
    pub segments: u64,
    pub segment_bytes: u64,
    /// Compressed bytes held in the buffer-mode ring.
    pub buffer_bytes: u64,
    /// Generations dropped because of `maxBufferBytes`.
    pub dropped_generations: u64,
    pub dropped_bytes: u64,
    /// Bytes in persistent storage, and units (segments, generations) dropped
    /// from it by its byte cap or age limit.
    pub stored_bytes: u64,
    pub store_dropped: u64,
}

/// What the worker posts to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Started {
        replay_id: String,
        mode: Mode,
        draws: Vec<bool>,
        segment_id: u16,
    },
    /// More error draws, to append to the host's queue.
    Draws(Vec<bool>),
    /// The session state to store (verbatim).
    Session(String),
    /// Take a full snapshot now.
    Checkout,
    /// Stop recording until user input (then post `resume`).
    Pause,
    /// The replay ended; a new `start` begins a new one.
    Stopped(Stop),
    /// The open segment as of now: `head + all chunks of this segment id + tail`
    /// is the complete body.
    Partial {
        segment_id: u16,
        /// The last `events.seq` whose events this partial holds (0 before any).
        seq: u64,
        /// Events in the open segment so far.
        event_count: u32,
        /// Adler-32 of the segment's text so far: `[` and its events joined
        /// by `,` (no closing `]`).
        adler: u32,
        chunk: Vec<u8>,
        head: Vec<u8>,
        tail: Vec<u8>,
        session: String,
        /// Where to send the body: present exactly when the segment would have one.
        url: Option<String>,
        /// `Kind::Recording`: the `replay_event` as of now.
        replay_event: Option<String>,
    },
    Segment(Segment),
    Rejected {
        of: Option<String>,
        code: Code,
        /// Starts with [`PREFIX`].
        message: String,
    },
    Stats(Stats),
    /// The answer to `ping`.
    Pong,
}

/// Why a replay ended (`stopped.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The host sent `stop`.
    Stop,
    /// No user activity for the idle limit.
    Idle,
    /// The replay reached its maximum duration.
    MaxDuration,
    /// The last segment id was used.
    SegmentLimit,
    /// The compressor failed.
    InternalError,
}

impl Stop {
    pub fn name(self) -> &'static str {
        match self {
            Stop::Stop => "stop",
            Stop::Idle => "idle",
            Stop::MaxDuration => "maxDuration",
            Stop::SegmentLimit => "segmentLimit",
            Stop::InternalError => "internalError",
        }
    }
}

/// One field value as the host sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Wire<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
    /// A `Uint8Array` whose buffer is transferred.
    Bytes(&'a [u8]),
    Bools(&'a [bool]),
    StrOrNull(Option<&'a str>),
}

impl Wire<'_> {
    pub fn ty(&self) -> Ty {
        match self {
            Wire::Str(_) => Ty::Str,
            Wire::Num(_) => Ty::Num,
            Wire::Bool(_) => Ty::Bool,
            Wire::Bytes(_) => Ty::Bytes,
            Wire::Bools(_) => Ty::Bools,
            Wire::StrOrNull(_) => Ty::StrOrNull,
        }
    }
}

/// Named fields of one message.
pub type Fields<'a> = Vec<(&'static str, Wire<'a>)>;

fn opt<'a>(f: &mut Fields<'a>, k: &'static str, v: &'a Option<String>) {
    if let Some(v) = v {
        f.push((k, Wire::Str(v)));
    }
}

impl Output {
    /// The message's `op` and its fields, `rf` and `op` first, in posting order.
    pub fn wire(&self) -> (&'static str, Fields<'_>) {
        use Wire::{Bools, Bytes, Num, Str, StrOrNull};
        let op = match self {
            Output::Started { .. } => "started",
            Output::Draws(_) => "draws",
            Output::Session(_) => "session",
            Output::Checkout => "checkout",
            Output::Pause => "pause",
            Output::Stopped(_) => "stopped",
            Output::Partial { .. } => "partial",
            Output::Segment(_) => "segment",
            Output::Rejected { .. } => "rejected",
            Output::Stats(_) => "stats",
            Output::Pong => "pong",
        };
        let mut f: Fields = vec![("rf", Num(1.0)), ("op", Str(op))];
        match self {
            Output::Started {
                replay_id,
                mode,
                draws,
                segment_id,
            } => f.extend([
                ("replayId", Str(replay_id)),
                ("mode", Str(mode.name())),
                ("draws", Bools(draws)),
                ("segmentId", Num(f64::from(*segment_id))),
            ]),
            Output::Draws(draws) => f.push(("draws", Bools(draws))),
            Output::Session(v) => f.push(("value", Str(v))),
            Output::Checkout | Output::Pause | Output::Pong => {}
            Output::Stopped(reason) => f.push(("reason", Str(reason.name()))),
            Output::Partial {
                segment_id,
                seq,
                event_count,
                adler,
                chunk,
                head,
                tail,
                session,
                url,
                replay_event,
            } => {
                f.extend([
                    ("segmentId", Num(f64::from(*segment_id))),
                    ("seq", Num(*seq as f64)),
                    ("eventCount", Num(f64::from(*event_count))),
                    ("adler", Num(f64::from(*adler))),
                    ("chunk", Bytes(chunk)),
                    ("head", Bytes(head)),
                    ("tail", Bytes(tail)),
                    ("session", Str(session)),
                ]);
                opt(&mut f, "url", url);
                opt(&mut f, "replayEvent", replay_event);
            }
            Output::Segment(s) => {
                f.extend([
                    ("replayId", Str(&s.replay_id)),
                    ("segmentId", Num(f64::from(s.segment_id))),
                    ("replayType", Str(s.replay_type.name())),
                    ("start", Num(s.start as f64)),
                    ("end", Num(s.end as f64)),
                    ("eventCount", Num(f64::from(s.event_count))),
                    ("kind", Str(s.kind.name())),
                ]);
                opt(&mut f, "url", &s.url);
                opt(&mut f, "replayEvent", &s.replay_event);
                f.push(("body", Bytes(&s.body)));
            }
            Output::Rejected { of, code, message } => f.extend([
                ("of", StrOrNull(of.as_deref())),
                ("code", Str(code.name())),
                ("message", Str(message)),
            ]),
            Output::Stats(s) => f.extend([
                ("events", Num(s.events as f64)),
                ("eventBytes", Num(s.event_bytes as f64)),
                ("compressedInputBytes", Num(s.compressed_input_bytes as f64)),
                ("segments", Num(s.segments as f64)),
                ("segmentBytes", Num(s.segment_bytes as f64)),
                ("bufferBytes", Num(s.buffer_bytes as f64)),
                ("droppedGenerations", Num(s.dropped_generations as f64)),
                ("droppedBytes", Num(s.dropped_bytes as f64)),
                ("storedBytes", Num(s.stored_bytes as f64)),
                ("storeDropped", Num(s.store_dropped as f64)),
            ]),
        }
        (op, f)
    }
}
