//! Engine mode: the worker owns sampling, the buffer-mode ring and session
//! segments, and produces ready-to-send Sentry envelopes (or plain segments,
//! or recordings for a Sentry client). The protocol is documented in
//! `worker/PROTOCOL.md`.
//!
//! Layout: `protocol` parses host messages into an [`Op`], `output` is what
//! the worker posts; [`Driver`] (here) routes ops to the [`Engine`] of the
//! current replay (`replay`), whose state is a `phase` (buffering, recording,
//! off, ended); `timers` holds every deadline, `segments` frames and sends
//! segments, `record` the compressed pieces, `persist` the session value.
//!
//! Everything here is driven by `(message, now_ms)`: the clock and the random
//! bytes are injected, nothing reads a timer, and every call returns the
//! [`Output`]s to post. The wasm layer calls [`Driver::tick`] at
//! [`Driver::next_wake`]. All timing rules use the injected clock (the time a
//! message is handled), not event timestamps; event timestamps are only
//! reported (`start`, `end`, `timestamp`).
//!
//! Modes: the replay id (32 hex digits from the random bytes) determines
//! everything random: `u = hash(id)`, `u < sessionSampleRate` → session, else
//! `errorSampleRate > 0` → buffer, else off; error draw k is
//! `hash(id, k) < errorSampleRate`.

use crate::prelude::*;
mod config;
mod envelope;
mod json;
mod lex;
mod output;
mod persist;
mod phase;
mod protocol;
mod record;
mod replay;
mod sample;
mod scan;
mod segments;
mod store;
mod timers;
mod unit;

pub use config::{envelope_url, Config, Limits, Target, MAX_REPLAY_MS};
pub use json::RawJson;
pub use output::{Fields, Kind, Mode, Output, ReplayType, Segment, Stats, Stop, Wire};
pub use protocol::{
    parse_op, Code, Field, Long, Op, Ty, Value, CONFIG_FIELDS, HEADER, HOST_OPS, LONG_FIELD,
    PREFIX, PROTOCOL_VERSION,
};
pub use replay::Engine;
pub use sample::{draw, session_value};
pub use scan::{split_batch, utf16_len, utf16_part, walk, Scanned, Scanner, Step, Text};
pub use store::{Store, StoreOp};

/// Routes host messages (as [`Value`]s) to the engine and rejects malformed
/// ones, and keeps what must survive the page in a [`Store`] when there is one.
#[derive(Default)]
pub struct Driver {
    engine: Option<Engine>,
    store: Option<Store>,
}

impl Driver {
    /// Persistent storage is available: `records` is what it holds (see
    /// [`Store::load`]). Called before the first message, or never (memory only).
    pub fn load(
        &mut self,
        owner: String,
        live: &[String],
        records: Vec<(String, Vec<u8>)>,
        now: u64,
    ) {
        self.store = Some(Store::load(owner, live, records, now, &Limits::default()));
    }

    /// The storage requests to perform, in order (none without storage).
    pub fn take_store_ops(&mut self) -> Vec<StoreOp> {
        self.store.as_mut().map_or_else(Vec::new, Store::take_ops)
    }

    /// After every call: what to keep, and the storage figures in `stats`.
    fn keep(&mut self, mut out: Vec<Output>, now: u64) -> Vec<Output> {
        if let (Some(st), Some(e)) = (self.store.as_mut(), self.engine.as_mut()) {
            let l = e.cfg.limits.clone();
            st.observe(&out, e, now, &l);
            st.save_ring(e, now, &l);
        }
        for o in &mut out {
            if let (Output::Stats(s), Some(st)) = (o, self.store.as_ref()) {
                s.stored_bytes = st.bytes();
                s.store_dropped = st.dropped;
            }
        }
        out
    }
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref()
    }

    /// Handles one message. `random` is only used by `start`.
    pub fn handle(&mut self, msg: &Value, now: u64, random: [u8; 16]) -> Vec<Output> {
        match self.route(msg, now, random) {
            Ok(out) => self.keep(out, now),
            Err((code, message)) => vec![Output::Rejected {
                of: match msg.get("op") {
                    Value::Str(s) => Some(s.clone()),
                    _ => None,
                },
                code,
                message: [PREFIX, &message].concat(),
            }],
        }
    }

    fn route(
        &mut self,
        msg: &Value,
        now: u64,
        random: [u8; 16],
    ) -> Result<Vec<Output>, protocol::Rejection> {
        let op = parse_op(msg)?;
        // Ops that need no replay.
        match op {
            Op::Ping => return Ok(vec![Output::Pong]),
            Op::Sent {
                replay_id,
                segment_id,
            } => {
                if let Some(st) = self.store.as_mut() {
                    st.sent(replay_id, segment_id);
                }
                return Ok(Vec::new());
            }
            Op::Forget => {
                if let Some(st) = self.store.as_mut() {
                    st.forget();
                }
                return Ok(Vec::new());
            }
            _ => {}
        }
        if let Op::Start {
            config,
            session,
            url,
        } = op
        {
            if self.engine.as_ref().is_some_and(|e| e.ended().is_none()) {
                return Err((
                    Code::AlreadyStarted,
                    "start: a replay is already running; send stop first".into(),
                ));
            }
            let mut cfg = Config::from_value(config)
                .map_err(|e| (Code::BadField, ["start: ", &e].concat()))?;
            cfg.url = url.map(str::to_string);
            // The first start of a page load: what earlier loads left goes first.
            let mut continues = Engine::continues(&cfg, session, now);
            let handed = self.store.as_mut().map(|st| {
                st.hand_over(
                    continues
                        .as_ref()
                        .map(|p| (p.id.as_str(), p.unload, p.mode == Mode::Buffer)),
                )
            });
            if let (Some(p), Some(h)) = (continues.as_mut(), handed.as_ref()) {
                p.segment_id = p.segment_id.max(h.floor);
            }
            let (mut engine, started) = Engine::start_from(cfg, continues, now, random);
            let mut out: Vec<Output> = Vec::new();
            if let Some(h) = handed {
                out.extend(h.segments.into_iter().map(Output::Segment));
                let (keys, pieces): (Vec<_>, Vec<_>) = h
                    .gens
                    .into_iter()
                    .map(|(unit, g)| ((unit, g.2.bytes.len()), g))
                    .unzip();
                let ids = engine.restore_ring(pieces);
                if let Some(st) = self.store.as_mut() {
                    st.kept_gens(keys, ids);
                }
            }
            out.extend(started);
            self.engine = Some(engine);
            return Ok(out);
        }
        let Some(e) = self.engine.as_mut() else {
            let name = match msg.get("op") {
                Value::Str(s) => s.as_str(),
                _ => "",
            };
            return Err((
                Code::NotStarted,
                [name, " before start: send start first"].concat(),
            ));
        };
        Ok(match op {
            Op::Events { json, seq } => e.events_seq(json, seq, now),
            Op::Error { event_id, sampled } => e.error(event_id, sampled, now),
            Op::Trace { trace_id } => e.trace(trace_id, now),
            Op::Hidden(hidden) => e.hidden(hidden, now),
            Op::Flush => e.flush(now),
            Op::Stop => e.stop(now),
            Op::Resume => e.resume(now),
            // Handled above.
            Op::Start { .. } | Op::Sent { .. } | Op::Ping | Op::Forget => Vec::new(),
        })
    }

    pub fn tick(&mut self, now: u64) -> Vec<Output> {
        let out = self.engine.as_mut().map_or_else(Vec::new, |e| e.tick(now));
        self.keep(out, now)
    }

    /// Nothing would be lost by starting the engine again from its session
    /// value: no replay, or one that ended, is off, or records with no open
    /// segment (a buffering replay holds its history).
    pub fn idle(&self) -> bool {
        self.engine.as_ref().map_or(true, Engine::idle)
    }

    /// The engine's next deadline, or earlier when the store has buffer
    /// events to save.
    pub fn next_wake(&self) -> Option<u64> {
        let e = self.engine.as_ref().and_then(Engine::next_wake);
        match (e, self.store.as_ref().and_then(|s| s.ring_due)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
