//! One replay from `start` until it ends: the facts every phase shares (id,
//! clock times, segment id, draws, ids for the next segment, counters) and the
//! host messages. What exists only in one phase lives in [`Phase`]; the timer
//! rules are in `timers.rs`, segment assembly in `segments.rs`.

use super::config::Config;
use super::json::{push_str, RawJson};
use super::output::{Mode, Output, ReplayType, Stats, Stop};
use super::persist::Persisted;
use super::phase::{Phase, Recording};
use super::protocol::{Code, PREFIX};
use super::record::Open;
use super::sample::{self, draw, session_value};
use super::scan::{split_batch, walk, Scanned, Step, Text};
use crate::deflate::DeflateError;
use crate::prelude::*;

/// rrweb IncrementalSnapshot sources that count as user activity:
/// MouseInteraction, Scroll, Input, TouchMove, Drag.
fn is_user_activity(ev: &Scanned) -> bool {
    ev.kind == 3 && matches!(ev.source, Some(2 | 3 | 5 | 6 | 12))
}

/// `s` as a JSON string literal.
pub(super) fn raw_str(s: &str) -> RawJson {
    let mut o = Vec::with_capacity(s.len() + 2);
    push_str(&mut o, s);
    RawJson(String::from_utf8(o).unwrap_or_default())
}

/// One replay: from `start` until it stops.
pub struct Engine {
    pub(super) cfg: Config,
    pub(super) id: String,
    pub(super) replay_type: ReplayType,
    /// Clock time the replay started (rules), and the reported start.
    pub(super) started: u64,
    pub(super) replay_start: u64,
    pub(super) last_activity: u64,
    /// `lastActivity` as last emitted in a `session` output.
    saved_activity: u64,
    /// The id of the next segment (65,536 = none left).
    pub(super) segment_id: u32,
    draws_used: u64,
    draws_issued: u64,
    pub(super) hidden: bool,
    /// The `seq` of the last accepted `events` batch (0 before any).
    pub(super) seq: u64,
    /// Error and trace ids for the next segment, with the clock time each
    /// was reported (buffer mode sends those within the kept history).
    pub(super) error_ids: Vec<(u64, RawJson)>,
    pub(super) trace_ids: Vec<(u64, RawJson)>,
    /// The start URL, reported with the next segment.
    pub(super) start_urls: Vec<RawJson>,
    pub(super) stats: Stats,
    pub(super) phase: Phase,
}

impl Engine {
    /// Starts a replay, continuing `persisted` when it is valid and not expired.
    pub fn start(
        cfg: Config,
        persisted: Option<&str>,
        now: u64,
        random: [u8; 16],
    ) -> (Engine, Vec<Output>) {
        let restored = Engine::continues(&cfg, persisted, now);
        Engine::start_from(cfg, restored, now, random)
    }

    /// The stored session value's replay, if it can continue.
    pub(super) fn continues(cfg: &Config, persisted: Option<&str>, now: u64) -> Option<Persisted> {
        persisted
            .and_then(Persisted::parse)
            .filter(|p| !p.expired(now, &cfg.limits))
    }

    /// [`Engine::start`] from the replay to continue, if any.
    pub(super) fn start_from(
        cfg: Config,
        restored: Option<Persisted>,
        now: u64,
        random: [u8; 16],
    ) -> (Engine, Vec<Output>) {
        let p = restored.unwrap_or_else(|| {
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
                unload: None,
            }
        });
        let mut e = Engine {
            phase: Phase::starting(p.mode, &cfg),
            id: p.id,
            replay_type: p.replay_type,
            started: p.started,
            replay_start: p.started,
            last_activity: p.last_activity,
            saved_activity: p.last_activity,
            segment_id: p.segment_id,
            draws_used: p.draws_used,
            draws_issued: p.draws_used,
            hidden: false,
            seq: 0,
            error_ids: Vec::new(),
            trace_ids: Vec::new(),
            start_urls: cfg.url.as_deref().map(raw_str).into_iter().collect(),
            stats: Stats::default(),
            cfg,
        };
        let draws = if p.mode == Mode::Buffer {
            e.next_draws()
        } else {
            Vec::new()
        };
        let out = vec![
            Output::Started {
                replay_id: e.id.clone(),
                mode: p.mode,
                draws,
                segment_id: e.segment_id.min(u32::from(u16::MAX)) as u16,
            },
            Output::Session(e.persist(e.segment_id, None)),
        ];
        (e, out)
    }

    /// Puts generations of earlier page loads into the buffer-mode ring
    /// (oldest first); returns the ids the ring gave them (none unless buffering).
    pub fn restore_ring(&mut self, gens: Vec<(u64, bool, super::record::Piece)>) -> Vec<u64> {
        match &mut self.phase {
            Phase::Buffering(b) if !gens.is_empty() => b.ring.restore(gens),
            _ => Vec::new(),
        }
    }

    pub fn replay_id(&self) -> &str {
        &self.id
    }

    pub fn mode(&self) -> Mode {
        self.phase.mode()
    }

    pub fn is_paused(&self) -> bool {
        matches!(&self.phase, Phase::Recording(r) if r.paused)
    }

    /// Why the replay ended, once it has.
    pub fn ended(&self) -> Option<Stop> {
        match self.phase {
            Phase::Ended { reason, .. } => Some(reason),
            _ => None,
        }
    }

    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        if let Phase::Buffering(b) = &self.phase {
            s.buffer_bytes = b.ring.bytes();
            s.dropped_generations += b.ring.dropped_generations;
            s.dropped_bytes += b.ring.dropped_bytes;
        }
        s
    }

    /// Nothing held that a restart from the session value would lose.
    pub fn idle(&self) -> bool {
        match &self.phase {
            Phase::Buffering(_) => false,
            Phase::Recording(r) => r.open.as_ref().map_or(true, |o| o.meta().events == 0),
            Phase::Off | Phase::Ended { .. } => true,
        }
    }

    /// Buffering or recording.
    pub(super) fn live(&self) -> bool {
        matches!(self.phase, Phase::Buffering(_) | Phase::Recording(_))
    }

    /// The session value with the next segment id `segment_id`; `unload`: the
    /// segment a partial's value is for (see [`Persisted::unload`]).
    pub(super) fn persist(&self, segment_id: u32, unload: Option<u32>) -> String {
        Persisted {
            id: self.id.clone(),
            started: self.started,
            last_activity: self.last_activity,
            segment_id,
            mode: self.mode(),
            replay_type: self.replay_type,
            draws_used: self.draws_used,
            ended: self.ended().is_some(),
            unload,
        }
        .write()
    }

    pub(super) fn save(&mut self, out: &mut Vec<Output>) {
        self.saved_activity = self.last_activity;
        out.push(Output::Session(self.persist(self.segment_id, None)));
    }

    fn next_draws(&mut self) -> Vec<bool> {
        let from = self.draws_issued;
        let n = self.cfg.limits.draw_batch;
        self.draws_issued += n;
        (from..from + n)
            .map(|k| draw(&self.id, k, self.cfg.error_sample_rate))
            .collect()
    }

    // ---- host messages ----

    /// A batch: `JSON.stringify(arrayOfEvents)`.
    pub fn events(&mut self, json: &str, now: u64) -> Vec<Output> {
        self.events_seq(&json, None, now)
    }

    /// A batch with the host's number for it (`events.seq`), which the
    /// partials that hold its events report. The text is read twice, part by
    /// part: once to check the whole batch (an invalid one changes nothing),
    /// then to compress its events.
    pub fn events_seq(&mut self, json: &dyn Text, seq: Option<u64>, now: u64) -> Vec<Output> {
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
                    message: [PREFIX, &message].concat(),
                });
                return out;
            }
        };
        if let Some(seq) = seq {
            self.seq = seq;
        }
        walk(json, &evs, |ev, step| {
            let r = match step {
                Step::Start => {
                    if !self.live() {
                        return false;
                    }
                    self.stats.events += 1;
                    self.stats.event_bytes += (ev.end - ev.start) as u64;
                    if is_user_activity(ev) {
                        self.last_activity = now;
                        if let Phase::Recording(r) = &mut self.phase {
                            r.paused = false;
                        }
                    }
                    self.event_begin(ev, now, &mut out)
                }
                Step::Bytes(text) => match &mut self.phase {
                    Phase::Buffering(b) => b.ring.write(text),
                    Phase::Recording(Recording { open: Some(o), .. }) => o.write(text),
                    _ => Ok(()),
                },
                Step::End => {
                    self.event_end(ev, now, &mut out);
                    self.stats.compressed_input_bytes += (ev.end - ev.start) as u64;
                    Ok(())
                }
            };
            if r.is_err() {
                self.fail(now, &mut out);
            }
            r.is_ok()
        });
        if self.live() && self.last_activity >= self.saved_activity + 1_000 {
            self.save(&mut out);
        }
        self.run_timers(now, &mut out, true);
        out
    }

    /// An event begins: in the ring (buffering), or in the open segment
    /// (recording), which is sent first when the event would take it past the
    /// UTF-16 cap.
    fn event_begin(
        &mut self,
        ev: &Scanned,
        now: u64,
        out: &mut Vec<Output>,
    ) -> Result<(), DeflateError> {
        let l = &self.cfg.limits;
        if let Phase::Buffering(b) = &mut self.phase {
            return b.begin(ev, now, l);
        }
        let over = matches!(&self.phase, Phase::Recording(Recording { open: Some(o), .. })
            if o.meta().events > 0 && o.meta().utf16 + ev.utf16 > l.max_segment_utf16);
        if over {
            self.send_open(now, out);
        }
        let l = &self.cfg.limits;
        let Phase::Recording(r) = &mut self.phase else {
            return Ok(());
        };
        r.open
            .get_or_insert_with(|| Open::new(l.level, now))
            .begin()
    }

    /// An event ended; the open segment is sent when its compressed size
    /// reached the byte cap.
    fn event_end(&mut self, ev: &Scanned, now: u64, out: &mut Vec<Output>) {
        let l = &self.cfg.limits;
        match &mut self.phase {
            Phase::Buffering(b) => b.end(ev, now, l),
            Phase::Recording(r) => {
                let Some(o) = r.open.as_mut() else {
                    return;
                };
                o.end(ev, now, l);
                if ev.kind == 4 {
                    r.flush_now = true;
                }
                if o.piece.bytes.len() >= l.max_segment_bytes {
                    self.send_open(now, out);
                }
            }
            _ => {}
        }
    }

    /// An error the host captured; `sampled` is the draw it used.
    pub fn error(&mut self, event_id: Option<&str>, sampled: bool, now: u64) -> Vec<Output> {
        let mut out = Vec::new();
        self.run_timers(now, &mut out, true);
        if !self.live() {
            return out;
        }
        if let Some(id) = event_id {
            self.cfg
                .limits
                .push_id(&mut self.error_ids, now, raw_str(id));
        }
        if matches!(self.phase, Phase::Buffering(_)) {
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
        self.run_timers(now, &mut out, true);
        out
    }

    /// A trace id for the next segment's `trace_ids` (checked by the parser).
    pub fn trace(&mut self, trace_id: &str, now: u64) -> Vec<Output> {
        let mut out = Vec::new();
        self.run_timers(now, &mut out, true);
        if self.live() {
            self.cfg
                .limits
                .push_id(&mut self.trace_ids, now, raw_str(trace_id));
        }
        out
    }

    /// The page became hidden (true) or visible (false).
    pub fn hidden(&mut self, hidden: bool, now: u64) -> Vec<Output> {
        let mut out = Vec::new();
        self.run_timers(now, &mut out, true);
        self.hidden = hidden;
        if let (true, Phase::Recording(r)) = (hidden, &mut self.phase) {
            r.flush_now = true;
            self.run_timers(now, &mut out, true);
        }
        out
    }

    /// Sends what is pending now: while recording the open segment (even when
    /// the replay is shorter than `minReplayDurationMs`); while buffering the
    /// buffer, after which the replay records. Ends with `stats`.
    pub fn flush(&mut self, now: u64) -> Vec<Output> {
        let mut out = Vec::new();
        self.run_timers(now, &mut out, true);
        match self.phase {
            Phase::Recording(_) => self.send_open(now, &mut out),
            Phase::Buffering(_) => self.convert(now, &mut out),
            _ => {}
        }
        out.push(Output::Stats(self.stats()));
        out
    }

    /// Sends what is pending (recording) and ends the replay.
    pub fn stop(&mut self, now: u64) -> Vec<Output> {
        let mut out = Vec::new();
        self.run_timers(now, &mut out, true);
        self.end(Stop::Stop, now, &mut out);
        out
    }

    /// User input after a pause.
    pub fn resume(&mut self, now: u64) -> Vec<Output> {
        let mut out = Vec::new();
        self.run_timers(now, &mut out, true);
        if self.live() {
            if let Phase::Recording(r) = &mut self.phase {
                r.paused = false;
            }
            self.last_activity = now;
            self.save(&mut out);
            self.run_timers(now, &mut out, true);
        }
        out
    }

    /// Runs the timers due at `now`.
    pub fn tick(&mut self, now: u64) -> Vec<Output> {
        let mut out = Vec::new();
        self.run_timers(now, &mut out, true);
        out
    }

    /// Ends the replay (once): recording sends what is pending first.
    pub(super) fn end(&mut self, reason: Stop, now: u64, out: &mut Vec<Output>) {
        if self.ended().is_some() {
            return;
        }
        let mode = self.mode();
        let reason = match self.emit_open(now, out) {
            Ok(()) => reason,
            Err(r) => r,
        };
        self.phase = Phase::Ended { reason, mode };
        out.push(Output::Stopped(reason));
        self.save(out);
    }

    /// The compressor failed (never caused by data): the replay cannot go on.
    pub(super) fn fail(&mut self, now: u64, out: &mut Vec<Output>) {
        if let Phase::Recording(r) = &mut self.phase {
            r.take_open();
        }
        self.end(Stop::InternalError, now, out);
    }
}
