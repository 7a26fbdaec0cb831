//! The phases of a replay. Each owns exactly the state that exists in it, so
//! that an impossible state (an open segment while buffering, a ring while
//! recording) cannot be written:
//!
//! ```text
//!   start ─► Buffering ──(sampled error / flush: into_recording)──► Recording
//!        └─► Recording                                                  │
//!        └─► Off                                                        │
//!   any live phase ──(stop, idle, maxDuration, segmentLimit, internalError)──► Ended
//! ```

use super::config::{Config, Limits};
use super::output::{Mode, Stop};
use super::record::{assemble, Meta, Open, Ring};
use super::scan::Scanned;
use crate::deflate::DeflateError;
use crate::prelude::*;

pub enum Phase {
    /// Sampled out: nothing is recorded until `stop`.
    Off,
    Buffering(Buffering),
    Recording(Recording),
    Ended {
        reason: Stop,
        mode: Mode,
    },
}

impl Phase {
    pub fn mode(&self) -> Mode {
        match self {
            Phase::Off => Mode::Off,
            Phase::Buffering(_) => Mode::Buffer,
            Phase::Recording(_) => Mode::Session,
            Phase::Ended { mode, .. } => *mode,
        }
    }

    /// The phase a replay in `mode` starts (or continues) in.
    pub fn starting(mode: Mode, cfg: &Config) -> Phase {
        match mode {
            Mode::Session => Phase::Recording(Recording::default()),
            Mode::Buffer => Phase::Buffering(Buffering::new(cfg)),
            Mode::Off => Phase::Off,
        }
    }
}

/// Buffer mode: compressed history kept until an error samples the replay.
pub struct Buffering {
    pub ring: Ring,
    /// `bufferMs`: the history to keep.
    window: u64,
    /// `maxBufferBytes`.
    max_bytes: u64,
    /// When to ask for a checkout (the newest generation is `window` old);
    /// `None` once asked, until the next generation starts.
    pub checkout_at: Option<u64>,
}

/// The kept history, cut into segments at generation boundaries.
pub struct History {
    /// Clock time the oldest kept generation started, if any was kept.
    pub start_at: Option<u64>,
    /// Complete zlib streams and what they hold.
    pub segments: Vec<(Vec<u8>, Meta)>,
    pub dropped_generations: u64,
    pub dropped_bytes: u64,
}

impl Buffering {
    pub fn new(cfg: &Config) -> Buffering {
        Buffering {
            ring: Ring::new(cfg.limits.level),
            window: cfg.buffer_ms,
            max_bytes: cfg.max_buffer_bytes,
            checkout_at: None,
        }
    }

    /// An event begins (see [`Ring::begin`]); its bytes go to `ring`, then [`Buffering::end`].
    pub fn begin(&mut self, ev: &Scanned, now: u64, l: &Limits) -> Result<(), DeflateError> {
        if self.ring.begin(ev, now, l)? {
            self.checkout_at = Some(now.saturating_add(self.window));
        }
        Ok(())
    }

    pub fn end(&mut self, ev: &Scanned, now: u64, l: &Limits) {
        self.ring.end(ev, l);
        self.trim(now);
    }

    /// Drops the generations that the window and the byte cap no longer need.
    pub fn trim(&mut self, now: u64) {
        self.ring.trim(now, self.window, self.max_bytes);
    }

    /// Buffering → recording: the kept history as segments (whole generations
    /// per segment: at least one, more while within the segment caps) and the
    /// recording phase that follows it.
    pub fn into_recording(
        mut self,
        now: u64,
        l: &Limits,
    ) -> Result<(Recording, History), DeflateError> {
        self.trim(now);
        let (dropped_generations, dropped_bytes) =
            (self.ring.dropped_generations, self.ring.dropped_bytes);
        let gens = self.ring.take()?;
        let mut segments = Vec::new();
        let mut i = 0;
        while i < gens.len() {
            let (mut j, mut utf16, mut bytes) =
                (i + 1, gens[i].piece.meta.utf16, gens[i].piece.bytes.len());
            while j < gens.len()
                && utf16 + gens[j].piece.meta.utf16 <= l.max_segment_utf16
                && bytes + gens[j].piece.bytes.len() < l.max_segment_bytes
            {
                utf16 += gens[j].piece.meta.utf16;
                bytes += gens[j].piece.bytes.len();
                j += 1;
            }
            segments.push(assemble(&gens[i..j], l));
            i = j;
        }
        let history = History {
            start_at: gens.first().map(|g| g.start_at),
            segments,
            dropped_generations,
            dropped_bytes,
        };
        Ok((Recording::default(), history))
    }
}

/// Session mode: segments are sent as they fill.
#[derive(Default)]
pub struct Recording {
    /// The segment being written.
    pub open: Option<Open>,
    /// A checkout or a hidden page asks to flush as soon as allowed.
    pub flush_now: bool,
    /// No user activity for the pause limit (until input or `resume`).
    pub paused: bool,
    /// The partial cursor: bytes and events of the open segment already
    /// handed out in `partial`s, and when the last one was posted.
    pub sent_len: usize,
    pub sent_events: u32,
    pub partial_at: Option<u64>,
}

impl Recording {
    /// Takes the open segment (the cursor starts over with the next one).
    pub fn take_open(&mut self) -> Option<Open> {
        self.flush_now = false;
        self.sent_len = 0;
        self.sent_events = 0;
        self.open.take()
    }
}
