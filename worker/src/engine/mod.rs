//! Engine mode: the worker owns sampling, the buffer-mode ring and session
//! segments, and produces ready-to-send Sentry envelopes (or plain segments).
//! The protocol is documented in `worker/PROTOCOL.md`.
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

mod config;
mod envelope;
mod json;
mod protocol;
mod record;
mod sample;
mod scan;

pub use config::{envelope_url, Config, Limits, Target, Value};
pub use json::RawJson;
pub use protocol::{Code, PREFIX, PROTOCOL_VERSION};
pub use sample::{draw, session_value};
pub use scan::{split_batch, utf16_len, Scanned};

use crate::deflate::DeflateError;
use json::{parse_flat, push_str, push_u64, Flat};
use record::{assemble, Meta, Open, Ring, OPEN};

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
    Stopped(&'static str),
    /// The open segment as of now: `head + all chunks of this segment id + tail`
    /// is the complete body.
    Partial {
        segment_id: u16,
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
}

/// The persisted session state (format in PROTOCOL.md).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Persisted {
    id: String,
    started: u64,
    last_activity: u64,
    segment_id: u32,
    mode: Mode,
    replay_type: ReplayType,
    draws_used: u64,
    ended: bool,
}

impl Persisted {
    fn parse(s: &str) -> Option<Persisted> {
        let fields = parse_flat(s)?;
        let get = |k: &str| fields.iter().rev().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let int = |k: &str| match get(k) {
            Some(Flat::Int(n)) => Some(n),
            _ => None,
        };
        let text = |k: &str| match get(k) {
            Some(Flat::Str(v)) => Some(v),
            _ => None,
        };
        if int("v")? != 1 {
            return None;
        }
        let id = text("id")?;
        if !sample::is_replay_id(id) {
            return None;
        }
        Some(Persisted {
            id: id.to_string(),
            started: int("started")?,
            last_activity: int("lastActivity")?,
            segment_id: u32::try_from(int("segmentId")?).ok()?,
            mode: match text("sampled")? {
                "session" => Mode::Session,
                "buffer" => Mode::Buffer,
                "off" => Mode::Off,
                _ => return None,
            },
            replay_type: match text("replayType")? {
                "session" => ReplayType::Session,
                "buffer" => ReplayType::Buffer,
                _ => return None,
            },
            draws_used: int("draw")?,
            ended: int("ended")? != 0,
        })
    }

    fn write(&self) -> String {
        let mut o = Vec::with_capacity(200);
        o.extend_from_slice(b"{\"v\":1,\"id\":");
        push_str(&mut o, &self.id);
        let int = |o: &mut Vec<u8>, k: &str, n: u64| {
            o.extend_from_slice(b",\"");
            o.extend_from_slice(k.as_bytes());
            o.extend_from_slice(b"\":");
            push_u64(o, n);
        };
        int(&mut o, "started", self.started);
        int(&mut o, "lastActivity", self.last_activity);
        int(&mut o, "segmentId", u64::from(self.segment_id));
        o.extend_from_slice(b",\"sampled\":\"");
        o.extend_from_slice(self.mode.name().as_bytes());
        o.extend_from_slice(b"\",\"replayType\":\"");
        o.extend_from_slice(self.replay_type.name().as_bytes());
        o.push(b'"');
        int(&mut o, "draw", self.draws_used);
        int(&mut o, "ended", u64::from(self.ended));
        o.push(b'}');
        String::from_utf8(o).unwrap_or_default()
    }

    /// Whether a replay can no longer continue from this state. A buffering
    /// replay that has sent nothing never expires (as in Sentry's SDK).
    fn expired(&self, now: u64, l: &Limits) -> bool {
        self.ended
            || self.segment_id > u32::from(u16::MAX)
            || (self.mode != Mode::Buffer
                && (now >= self.last_activity.saturating_add(l.idle_expire_ms)
                    || now >= self.started.saturating_add(l.max_replay_ms)))
    }
}

/// rrweb IncrementalSnapshot sources that count as user activity:
/// MouseInteraction, Scroll, Input, TouchMove, Drag.
fn is_user_activity(ev: &Scanned) -> bool {
    ev.kind == 3 && matches!(ev.source, Some(2 | 3 | 5 | 6 | 12))
}

fn raw_str(s: &str) -> RawJson {
    let mut o = Vec::with_capacity(s.len() + 2);
    push_str(&mut o, s);
    RawJson(String::from_utf8(o).unwrap_or_default())
}

fn push_url(urls: &mut Vec<RawJson>, u: &RawJson) {
    if urls.last() != Some(u) && urls.len() < 100 {
        urls.push(u.clone());
    }
}

/// Error or trace ids for the next segment with the clock time each arrived:
/// de-duplicated, at most 100 (the oldest goes first).
fn note_id(list: &mut Vec<(u64, RawJson)>, at: u64, id: RawJson) {
    if list.iter().any(|(_, x)| *x == id) {
        return;
    }
    if list.len() >= 100 {
        list.remove(0);
    }
    list.push((at, id));
}

fn ids_since(list: &[(u64, RawJson)], since: u64) -> Vec<RawJson> {
    list.iter()
        .filter(|(t, _)| *t >= since)
        .map(|(_, id)| id.clone())
        .collect()
}

/// Appends `k=v` query parameters (values need no escaping: hex, digits, words).
fn plain_url(endpoint: &str, params: &[(&str, &str)]) -> String {
    let mut u = String::with_capacity(endpoint.len() + 120);
    u.push_str(endpoint);
    let mut sep = if endpoint.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        u.push(sep);
        u.push_str(k);
        u.push('=');
        u.push_str(v);
        sep = '&';
    }
    u
}

fn decimal(n: u64) -> String {
    let mut o = Vec::new();
    push_u64(&mut o, n);
    String::from_utf8(o).unwrap_or_default()
}

/// How a segment (or the open one, for `partial`) is sent: everything before
/// the zlib stream, and where to.
struct Framing {
    kind: Kind,
    url: Option<String>,
    head: Vec<u8>,
    replay_event: Option<String>,
}

/// One replay: from `start` until it stops.
pub struct Engine {
    cfg: Config,
    id: String,
    mode: Mode,
    replay_type: ReplayType,
    /// Clock time the replay started (rules), and the reported start.
    started: u64,
    replay_start: u64,
    last_activity: u64,
    /// `lastActivity` as last emitted in a `session` output.
    saved_activity: u64,
    /// The id of the next segment (65,536 = none left).
    segment_id: u32,
    draws_used: u64,
    draws_issued: u64,
    paused: bool,
    hidden: bool,
    ended: Option<&'static str>,
    /// Session mode: the segment being written.
    open: Option<Open>,
    /// A checkout or a hidden page asks to flush as soon as allowed.
    flush_now: bool,
    last_partial_at: Option<u64>,
    ring: Ring,
    /// Error and trace ids for the next segment, with the clock time each
    /// was reported (buffer mode sends those within the kept history).
    error_ids: Vec<(u64, RawJson)>,
    trace_ids: Vec<(u64, RawJson)>,
    /// The start URL, reported with the next segment.
    start_urls: Vec<RawJson>,
    stats: Stats,
}

impl Engine {
    /// Starts a replay, continuing `persisted` when it is valid and not expired.
    pub fn start(
        cfg: Config,
        persisted: Option<&str>,
        now: u64,
        random: [u8; 16],
    ) -> (Engine, Vec<Output>) {
        let restored = persisted
            .and_then(Persisted::parse)
            .filter(|p| !p.expired(now, &cfg.limits));
        let p = match restored {
            Some(p) => p,
            None => {
                let id = sample::replay_id(random);
                let mode = if session_value(&id) < cfg.session_sample_rate {
                    Mode::Session
                } else if cfg.error_sample_rate > 0.0 {
                    Mode::Buffer
                } else {
                    Mode::Off
                };
                Persisted {
                    id,
                    started: now,
                    last_activity: now,
                    segment_id: 0,
                    mode,
                    replay_type: if mode == Mode::Buffer {
                        ReplayType::Buffer
                    } else {
                        ReplayType::Session
                    },
                    draws_used: 0,
                    ended: false,
                }
            }
        };
        let level = cfg.limits.level;
        let start_urls = cfg.url.as_deref().map(raw_str).into_iter().collect();
        let mut e = Engine {
            id: p.id,
            mode: p.mode,
            replay_type: p.replay_type,
            started: p.started,
            replay_start: p.started,
            last_activity: p.last_activity,
            saved_activity: p.last_activity,
            segment_id: p.segment_id,
            draws_used: p.draws_used,
            draws_issued: p.draws_used,
            paused: false,
            hidden: false,
            ended: None,
            open: None,
            flush_now: false,
            last_partial_at: None,
            ring: Ring::new(level),
            error_ids: Vec::new(),
            trace_ids: Vec::new(),
            start_urls,
            stats: Stats::default(),
            cfg,
        };
        let draws = if e.mode == Mode::Buffer {
            e.next_draws()
        } else {
            Vec::new()
        };
        let out = vec![
            Output::Started {
                replay_id: e.id.clone(),
                mode: e.mode,
                draws,
                segment_id: e.segment_id.min(u32::from(u16::MAX)) as u16,
            },
            Output::Session(e.persist(e.segment_id)),
        ];
        (e, out)
    }

    pub fn replay_id(&self) -> &str {
        &self.id
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Why the replay ended, once it has.
    pub fn ended(&self) -> Option<&'static str> {
        self.ended
    }

    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.buffer_bytes = self.ring.bytes();
        s.dropped_generations = self.ring.dropped_generations;
        s.dropped_bytes = self.ring.dropped_bytes;
        s
    }

    fn persist(&self, segment_id: u32) -> String {
        Persisted {
            id: self.id.clone(),
            started: self.started,
            last_activity: self.last_activity,
            segment_id,
            mode: self.mode,
            replay_type: self.replay_type,
            draws_used: self.draws_used,
            ended: self.ended.is_some(),
        }
        .write()
    }

    fn save(&mut self, out: &mut Vec<Output>) {
        self.saved_activity = self.last_activity;
        out.push(Output::Session(self.persist(self.segment_id)));
    }

    fn next_draws(&mut self) -> Vec<bool> {
        let from = self.draws_issued;
        let n = self.cfg.limits.draw_batch;
        self.draws_issued += n;
        (from..from + n)
            .map(|k| draw(&self.id, k, self.cfg.error_sample_rate))
            .collect()
    }

    fn live(&self) -> bool {
        self.ended.is_none() && self.mode != Mode::Off
    }

    // ---- host messages ----

    /// A batch: `JSON.stringify(arrayOfEvents)`.
    pub fn events(&mut self, json: &str, now: u64) -> Vec<Output> {
        let mut out = Vec::new();
        // Timers that were due before this batch; a partial waits for the batch.
        self.run_timers(now, &mut out, false);
        if !self.live() {
            return out;
        }
        let evs = match split_batch(json) {
            Ok(evs) => evs,
            Err(message) => {
                out.push(Output::Rejected {
                    of: Some("events".into()),
                    code: Code::BadBatch,
                    message: format!("{PREFIX}{message}"),
                });
                return out;
            }
        };
        for ev in &evs {
            if !self.live() {
                break;
            }
            let text = &json.as_bytes()[ev.start..ev.end];
            self.stats.events += 1;
            self.stats.event_bytes += text.len() as u64;
            if is_user_activity(ev) {
                self.last_activity = now;
                self.paused = false;
            }
            let href = match (ev.kind, ev.href) {
                (4, Some((s, e))) => json.get(s..e).map(|h| RawJson(h.to_string())),
                _ => None,
            };
            let r = match self.mode {
                Mode::Session => self.add_session_event(text, ev, href.as_ref(), now, &mut out),
                _ => {
                    let r = self.ring.push(text, ev, href.as_ref(), ev.kind == 4, now);
                    self.ring
                        .trim(now, self.cfg.buffer_ms, self.cfg.max_buffer_bytes);
                    r
                }
            };
            match r {
                Ok(()) => self.stats.compressed_input_bytes += text.len() as u64,
                Err(_) => self.fail(now, &mut out),
            }
        }
        if self.live() && self.last_activity >= self.saved_activity + 1_000 {
            self.save(&mut out);
        }
        self.timers(now, &mut out);
        out
    }

    fn add_session_event(
        &mut self,
        text: &[u8],
        ev: &Scanned,
        href: Option<&RawJson>,
        now: u64,
        out: &mut Vec<Output>,
    ) -> Result<(), DeflateError> {
        let l = &self.cfg.limits;
        if let Some(o) = &self.open {
            if o.meta.events > 0 && o.meta.utf16 + ev.utf16 > l.max_segment_utf16 {
                self.emit_open(now, out);
                if !self.live() {
                    return Ok(());
                }
            }
        }
        let (level, max_bytes) = (self.cfg.limits.level, self.cfg.limits.max_segment_bytes);
        let o = self.open.get_or_insert_with(|| Open::new(level, now));
        o.push(text, ev, href, now)?;
        let full = o.body.len() >= max_bytes;
        if ev.kind == 4 {
            self.flush_now = true;
        }
        if full {
            self.emit_open(now, out);
        }
        Ok(())
    }

    /// An error the host captured; `sampled` is the draw it used.
    pub fn error(&mut self, event_id: Option<&str>, sampled: bool, now: u64) -> Vec<Output> {
        let mut out = Vec::new();
        self.timers(now, &mut out);
        if !self.live() {
            return out;
        }
        if let Some(id) = event_id {
            note_id(&mut self.error_ids, now, raw_str(id));
        }
        if self.mode == Mode::Buffer {
            self.draws_used += 1;
            if sampled {
                self.convert(now, &mut out);
            } else {
                if self.draws_issued.saturating_sub(self.draws_used)
                    < self.cfg.limits.draw_batch / 2 + 1
                {
                    let d = self.next_draws();
                    out.push(Output::Draws(d));
                }
                self.save(&mut out);
            }
        }
        self.timers(now, &mut out);
        out
    }

    /// A trace id for the next segment's `trace_ids` (32 hex digits, checked by the driver).
    pub fn trace(&mut self, trace_id: &str, now: u64) -> Vec<Output> {
        let mut out = Vec::new();
        self.timers(now, &mut out);
        if self.live() {
            note_id(&mut self.trace_ids, now, raw_str(trace_id));
        }
        out
    }

    /// The page became hidden (true) or visible (false).
    pub fn hidden(&mut self, hidden: bool, now: u64) -> Vec<Output> {
        let mut out = Vec::new();
        self.timers(now, &mut out);
        self.hidden = hidden;
        if hidden && self.live() && self.mode == Mode::Session {
            self.flush_now = true;
            self.timers(now, &mut out);
        }
        out
    }

    /// Sends what is pending now: in session mode the open segment (even when
    /// the replay is shorter than `minReplayDurationMs`); in buffer mode the
    /// buffer, after which the replay continues in session mode. Ends with `stats`.
    pub fn flush(&mut self, now: u64) -> Vec<Output> {
        let mut out = Vec::new();
        self.timers(now, &mut out);
        if self.live() {
            match self.mode {
                Mode::Session => self.emit_open(now, &mut out),
                _ => self.convert(now, &mut out),
            }
        }
        out.push(Output::Stats(self.stats()));
        out
    }

    /// Flushes what is pending (session mode) and ends the replay.
    pub fn stop(&mut self, now: u64) -> Vec<Output> {
        let mut out = Vec::new();
        self.timers(now, &mut out);
        if self.ended.is_none() {
            self.end("stop", now, &mut out);
        }
        out
    }

    /// User input after a pause.
    pub fn resume(&mut self, now: u64) -> Vec<Output> {
        let mut out = Vec::new();
        self.timers(now, &mut out);
        if self.live() {
            self.paused = false;
            self.last_activity = now;
            self.save(&mut out);
            self.timers(now, &mut out);
        }
        out
    }

    /// Runs the timers due at `now`.
    pub fn tick(&mut self, now: u64) -> Vec<Output> {
        let mut out = Vec::new();
        self.timers(now, &mut out);
        out
    }

    /// When `tick` should next be called, if ever.
    pub fn next_wake(&self) -> Option<u64> {
        if !self.live() {
            return None;
        }
        let l = &self.cfg.limits;
        match self.mode {
            Mode::Session => {
                let mut w = self
                    .started
                    .saturating_add(l.max_replay_ms)
                    .min(self.last_activity.saturating_add(l.idle_expire_ms));
                if !self.paused {
                    w = w.min(self.last_activity.saturating_add(l.pause_after_ms));
                }
                for due in [self.flush_due(), self.partial_due()].into_iter().flatten() {
                    w = w.min(due);
                }
                Some(w)
            }
            _ => match self.ring.gens.back() {
                Some(g) if !self.ring.checkout_asked => {
                    Some(g.start_at.saturating_add(self.cfg.buffer_ms))
                }
                _ => None,
            },
        }
    }

    // ---- rules ----

    fn min_start(&self) -> u64 {
        self.started.saturating_add(self.cfg.min_replay_duration_ms)
    }

    fn flush_due(&self) -> Option<u64> {
        let o = self.open.as_ref().filter(|o| o.meta.events > 0)?;
        let l = &self.cfg.limits;
        let due = if self.flush_now {
            0
        } else {
            (o.last_at + l.flush_delay_ms).min(o.first_at + l.flush_max_delay_ms)
        };
        Some(due.max(self.min_start()))
    }

    fn partial_due(&self) -> Option<u64> {
        let o = self
            .open
            .as_ref()
            .filter(|o| o.meta.events > o.partial_events)?;
        let due = match self.last_partial_at {
            Some(t) if !self.hidden => t + self.cfg.limits.partial_interval_ms,
            _ => 0,
        };
        Some(due.max(self.min_start()).max(o.first_at))
    }

    fn timers(&mut self, now: u64, out: &mut Vec<Output>) {
        self.run_timers(now, out, true);
    }

    fn run_timers(&mut self, now: u64, out: &mut Vec<Output>, partial: bool) {
        if !self.live() {
            return;
        }
        let l = self.cfg.limits.clone();
        if self.mode == Mode::Buffer {
            self.ring
                .trim(now, self.cfg.buffer_ms, self.cfg.max_buffer_bytes);
            if let Some(g) = self.ring.gens.back() {
                if !self.ring.checkout_asked && now >= g.start_at.saturating_add(self.cfg.buffer_ms)
                {
                    self.ring.checkout_asked = true;
                    out.push(Output::Checkout);
                }
            }
            return;
        }
        if now >= self.started.saturating_add(l.max_replay_ms) {
            return self.end("maxDuration", now, out);
        }
        if now >= self.last_activity.saturating_add(l.idle_expire_ms) {
            return self.end("idle", now, out);
        }
        if !self.paused && now >= self.last_activity.saturating_add(l.pause_after_ms) {
            self.paused = true;
            out.push(Output::Pause);
        }
        if self.flush_due().is_some_and(|d| now >= d) {
            self.emit_open(now, out);
        }
        if partial && self.live() && self.partial_due().is_some_and(|d| now >= d) {
            self.emit_partial(now, out);
        }
    }

    /// Ends the replay: session mode sends what is pending first.
    fn end(&mut self, reason: &'static str, now: u64, out: &mut Vec<Output>) {
        if self.mode == Mode::Session {
            self.emit_open(now, out);
        }
        if self.ended.is_none() {
            self.ended = Some(reason);
            self.open = None;
            self.ring = Ring::new(self.cfg.limits.level);
            out.push(Output::Stopped(reason));
            self.save(out);
        }
    }

    /// The compressor failed (never caused by data): the replay cannot go on.
    fn fail(&mut self, now: u64, out: &mut Vec<Output>) {
        self.open = None;
        self.end("internalError", now, out);
    }

    fn segment_urls(&self, meta: &Meta) -> Vec<RawJson> {
        let mut urls = Vec::new();
        for u in self.start_urls.iter().chain(&meta.urls) {
            push_url(&mut urls, u);
        }
        urls
    }

    /// The framing of segment `segment_id` holding `meta` (a zlib stream of
    /// `zlib_len` bytes), as the configured target wants it.
    #[allow(clippy::too_many_arguments)]
    fn framing(
        &self,
        segment_id: u16,
        meta: &Meta,
        replay_start: u64,
        urls: &[RawJson],
        error_ids: &[RawJson],
        trace_ids: &[RawJson],
        zlib_len: usize,
        now: u64,
    ) -> Framing {
        let info = envelope::SegmentInfo {
            replay_id: &self.id,
            segment_id,
            replay_type: self.replay_type,
            replay_start,
            timestamp: meta.last_ts,
            error_ids,
            trace_ids,
            urls,
        };
        match &self.cfg.target {
            Target::Envelope { url, dsn } => Framing {
                kind: Kind::Envelope,
                url: Some(url.clone()),
                head: envelope::head(&self.cfg, dsn.as_deref(), &info, zlib_len, now),
                replay_event: None,
            },
            Target::Plain { url } => Framing {
                kind: Kind::Plain,
                url: url.as_deref().map(|ep| {
                    plain_url(
                        ep,
                        &[
                            ("replayId", &self.id),
                            ("segmentId", &decimal(u64::from(segment_id))),
                            ("replayType", self.replay_type.name()),
                            ("start", &decimal(meta.first_ts)),
                            ("end", &decimal(meta.last_ts)),
                            ("eventCount", &decimal(u64::from(meta.events))),
                        ],
                    )
                }),
                head: Vec::new(),
                replay_event: None,
            },
            Target::Recording => Framing {
                kind: Kind::Recording,
                url: None,
                head: envelope::payload_head(segment_id),
                replay_event: Some(envelope::replay_event(&info)),
            },
        }
    }

    /// Builds and posts a segment from a complete zlib stream.
    fn post_segment(
        &mut self,
        zlib: Vec<u8>,
        meta: &Meta,
        urls: &[RawJson],
        ids: (&[RawJson], &[RawJson]),
        now: u64,
        out: &mut Vec<Output>,
    ) {
        let segment_id = self.segment_id.min(u32::from(u16::MAX)) as u16;
        self.replay_start = self.replay_start.min(meta.first_ts);
        let f = self.framing(
            segment_id,
            meta,
            self.replay_start,
            urls,
            ids.0,
            ids.1,
            zlib.len(),
            now,
        );
        let body = if f.head.is_empty() {
            zlib
        } else {
            let mut body = f.head;
            body.extend_from_slice(&zlib);
            body
        };
        self.stats.segments += 1;
        self.stats.segment_bytes += body.len() as u64;
        out.push(Output::Segment(Segment {
            replay_id: self.id.clone(),
            segment_id,
            replay_type: self.replay_type,
            start: meta.first_ts,
            end: meta.last_ts,
            event_count: meta.events,
            kind: f.kind,
            url: f.url,
            body,
            replay_event: f.replay_event,
        }));
        self.segment_id += 1;
        self.start_urls.clear();
    }

    /// Sends the open session segment, if it has events.
    fn emit_open(&mut self, now: u64, out: &mut Vec<Output>) {
        self.flush_now = false;
        let Some(open) = self.open.take() else {
            return;
        };
        if open.meta.events == 0 {
            return;
        }
        let (zlib, meta) = match open.finish() {
            Ok(z) => z,
            Err(_) => return self.fail(now, out),
        };
        let urls = self.segment_urls(&meta);
        let errors = ids_since(&core::mem::take(&mut self.error_ids), 0);
        let traces = ids_since(&core::mem::take(&mut self.trace_ids), 0);
        self.post_segment(zlib, &meta, &urls, (&errors, &traces), now, out);
        if self.segment_id > u32::from(u16::MAX) {
            self.end("segmentLimit", now, out);
        } else {
            self.save(out);
        }
    }

    /// Posts the open segment's new compressed bytes with the head and tail
    /// that make it a complete body as of now.
    fn emit_partial(&mut self, now: u64, out: &mut Vec<Output>) {
        let Some(open) = self.open.as_mut() else {
            return;
        };
        if open.sync().is_err() {
            return self.fail(now, out);
        }
        let chunk = open.body[open.partial_len..].to_vec();
        open.partial_len = open.body.len();
        open.partial_events = open.meta.events;
        let zlib_len = open.zlib_len();
        let tail = open.tail();
        let Some(open) = self.open.as_ref() else {
            return;
        };
        let segment_id = self.segment_id.min(u32::from(u16::MAX)) as u16;
        let urls = self.segment_urls(&open.meta);
        let f = self.framing(
            segment_id,
            &open.meta,
            self.replay_start.min(open.meta.first_ts),
            &urls,
            &ids_since(&self.error_ids, 0),
            &ids_since(&self.trace_ids, 0),
            zlib_len,
            now,
        );
        let mut head = f.head;
        head.extend_from_slice(&OPEN);
        self.last_partial_at = Some(now);
        out.push(Output::Partial {
            segment_id,
            chunk,
            head,
            tail,
            session: self.persist(self.segment_id + 1),
            url: f.url,
            replay_event: f.replay_event,
        });
    }

    /// Buffer → session: the kept generations become segment 0 (more segments
    /// if they exceed the segment caps), then a checkout is asked for.
    fn convert(&mut self, now: u64, out: &mut Vec<Output>) {
        self.ring
            .trim(now, self.cfg.buffer_ms, self.cfg.max_buffer_bytes);
        let gens = match self.ring.take() {
            Ok(g) => g,
            Err(_) => return self.fail(now, out),
        };
        self.mode = Mode::Session;
        self.replay_type = ReplayType::Buffer;
        self.paused = false;
        self.last_activity = now;
        if let Some(first) = gens.first() {
            self.started = first.start_at;
            self.replay_start = first.start_at;
            let errors = ids_since(&core::mem::take(&mut self.error_ids), first.start_at);
            let traces = ids_since(&core::mem::take(&mut self.trace_ids), first.start_at);
            let l = &self.cfg.limits;
            let (max_utf16, max_bytes) = (l.max_segment_utf16, l.max_segment_bytes);
            let mut i = 0;
            let mut first_segment = true;
            while i < gens.len() {
                // Whole generations per segment: at least one, more while within the caps.
                let (mut j, mut utf16, mut bytes) =
                    (i + 1, gens[i].meta.utf16, gens[i].bytes.len());
                while j < gens.len()
                    && utf16 + gens[j].meta.utf16 <= max_utf16
                    && bytes + gens[j].bytes.len() < max_bytes
                {
                    utf16 += gens[j].meta.utf16;
                    bytes += gens[j].bytes.len();
                    j += 1;
                }
                let (zlib, meta) = assemble(&gens[i..j]);
                let mut urls = meta.urls.clone();
                if urls.is_empty() {
                    urls.clone_from(&self.start_urls);
                }
                let ids: (&[RawJson], &[RawJson]) = if first_segment {
                    (&errors, &traces)
                } else {
                    (&[], &[])
                };
                self.post_segment(zlib, &meta, &urls, ids, now, out);
                first_segment = false;
                if self.segment_id > u32::from(u16::MAX) {
                    return self.end("segmentLimit", now, out);
                }
                i = j;
            }
        }
        // Ids not sent with the history (there was none) stay for the next segment.
        out.push(Output::Checkout);
        self.save(out);
    }
}

/// Routes host messages (as [`Value`]s) to the engine and rejects malformed ones.
#[derive(Default)]
pub struct Driver {
    engine: Option<Engine>,
}

const OPS: &str = "start, events, error, trace, hidden, flush, stop, resume";

type Rejection = (Code, String);

impl Driver {
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref()
    }

    /// Handles one message. `random` is only used by `start`.
    pub fn handle(&mut self, msg: &Value, now: u64, random: [u8; 16]) -> Vec<Output> {
        match self.route(msg, now, random) {
            Ok(out) => out,
            Err((code, message)) => vec![Output::Rejected {
                of: match msg.get("op") {
                    Value::Str(s) => Some(s.clone()),
                    _ => None,
                },
                code,
                message: format!("{PREFIX}{message}"),
            }],
        }
    }

    fn route(&mut self, msg: &Value, now: u64, random: [u8; 16]) -> Result<Vec<Output>, Rejection> {
        let field = |m: String| (Code::BadField, m);
        if !matches!(msg, Value::Object(_)) {
            return Err((
                Code::NotObject,
                format!(
                    "an engine message must be an object {{rf: 1, op, …}}, got {}",
                    msg.type_name()
                ),
            ));
        }
        match msg.get("rf") {
            Value::Number(v) if *v == 1.0 => {}
            other => {
                return Err((
                    Code::BadRf,
                    format!(
                        "unsupported engine protocol version (rf: {}); this worker speaks rf: 1",
                        match other {
                            Value::Number(_) => "a number other than 1",
                            v => v.type_name(),
                        }
                    ),
                ))
            }
        }
        let op = match msg.get("op") {
            Value::Str(s) => s.as_str(),
            other => {
                return Err((
                    Code::UnknownOp,
                    format!("op must be a string ({OPS}), got {}", other.type_name()),
                ))
            }
        };
        let opt_str = |k: &str| -> Result<Option<&str>, Rejection> {
            match msg.get(k) {
                Value::Str(s) => Ok(Some(s)),
                Value::Undefined | Value::Null => Ok(None),
                other => Err(field(format!(
                    "{op}: {k} must be a string, got {}",
                    other.type_name()
                ))),
            }
        };
        let boolean = |k: &str| match msg.get(k) {
            Value::Bool(b) => Ok(*b),
            other => Err(field(format!(
                "{op}: {k} must be a boolean, got {}",
                other.type_name()
            ))),
        };
        if op == "start" {
            if self.engine.as_ref().is_some_and(|e| e.ended.is_none()) {
                return Err((
                    Code::AlreadyStarted,
                    "start: a replay is already running; send stop first".into(),
                ));
            }
            let mut cfg =
                Config::from_value(msg.get("config")).map_err(|e| field(format!("start: {e}")))?;
            let session = opt_str("session")?;
            cfg.url = opt_str("url")?.map(str::to_string);
            let (engine, out) = Engine::start(cfg, session, now, random);
            self.engine = Some(engine);
            return Ok(out);
        }
        // Split on a char, not on ", ": a string pattern links a substring searcher.
        if !OPS.split(',').any(|o| o.trim_start() == op) {
            return Err((
                Code::UnknownOp,
                format!("unknown op \"{op}\" (known: {OPS})"),
            ));
        }
        let Some(e) = self.engine.as_mut() else {
            return Err((
                Code::NotStarted,
                format!("{op} before start: send start first"),
            ));
        };
        Ok(match op {
            "events" => match msg.get("json") {
                Value::Str(json) => e.events(json, now),
                other => {
                    return Err(field(format!(
                        "events: json must be a string (JSON.stringify of an array of rrweb events), got {}",
                        other.type_name()
                    )))
                }
            },
            "error" => {
                let id = opt_str("eventId")?;
                let sampled = boolean("sampled")?;
                e.error(id, sampled, now)
            }
            "trace" => match msg.get("traceId") {
                Value::Str(t) if sample::is_replay_id(t) => e.trace(t, now),
                other => {
                    return Err(field(format!(
                        "trace: traceId must be 32 lowercase hex digits, got {}",
                        match other {
                            Value::Str(_) => "another string",
                            v => v.type_name(),
                        }
                    )))
                }
            },
            "hidden" => e.hidden(boolean("hidden")?, now),
            "flush" => e.flush(now),
            "stop" => e.stop(now),
            _ => e.resume(now),
        })
    }

    pub fn tick(&mut self, now: u64) -> Vec<Output> {
        self.engine.as_mut().map_or_else(Vec::new, |e| e.tick(now))
    }

    pub fn next_wake(&self) -> Option<u64> {
        self.engine.as_ref().and_then(Engine::next_wake)
    }
}
