//! What the worker keeps across page loads, and when it lets go of it. The
//! core decides everything here; the bootstrap only performs the
//! [`StoreOp`]s (IndexedDB, one transaction per engine call) and hands the
//! core what it read at start-up ([`Store::load`]).
//!
//! One record per *unit*, keyed `{replayId}/s{segmentId}` or
//! `{replayId}/g{start}-{owner}-{n}`, holding what it is and its bytes:
//! - every segment handed to the host, until the host says `sent`;
//! - the open segment as of its last `partial` (`head + chunks + tail`: a
//!   complete body), replaced by the finished segment;
//! - buffer-mode generations (rewritten at most once per
//!   [`Limits::store_interval_ms`], at once while hidden), deleted when the
//!   ring drops them or the replay leaves buffer mode.
//!
//! A unit that grows at its end while it is kept (the open segment's
//! streamed bytes, a generation's flushed piece) is stored in parts
//! ([`Store::put_grown`], the format in `unit.rs`): each write adds the new
//! bytes as a record of their own and rewrites a small head record, so keeping
//! a segment of S bytes costs about S bytes of writes instead of S times the
//! number of partials. Start-up reassembles such a unit before reading it.
//!
//! Bounded by [`Limits::store_max_bytes`] and [`Limits::store_max_age_ms`]:
//! the oldest units go first, counted in `stats`. Units written by a page load
//! that is still running (its owner id is in `live`: another tab) are never
//! taken. On the first `start` of a page load, the segments of earlier loads
//! are handed over (once; deleted on `sent`, so a sent id is not handed over
//! again; taken-over units are rewritten with this load's owner so that no
//! other page takes them too), and the generations of the continued
//! buffer-mode replay are restored into its ring.

use super::config::{Limits, Target};
use super::json::push_u64;
use super::output::{Kind, Output, Segment};
use super::phase::Phase;
use super::record::Piece;
use super::replay::Engine;
use super::unit::{
    assemble, generation, header, in_parts, is_part, part_key, seg_key, segment, Fields, FINISHED,
    GENERATION, OPEN, PARTS, R, W,
};
use crate::prelude::*;

/// A request to the persistent store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOp {
    Put(String, Vec<u8>),
    Delete(String),
    Clear,
}

/// A stored unit: key, when first written, size; for a unit kept in parts,
/// how many part records it has and how many body bytes they hold.
struct Unit {
    key: String,
    at: u64,
    bytes: u64,
    parts: u32,
    body: u64,
}

/// Part records a unit may have before its body is written again as one
/// (so that a long-lived generation does not become thousands of records).
const MAX_PARTS: u32 = 64;

/// A unit of an earlier page load: key, kind, when first written, and the
/// record after its owner (rewritten with this load's owner when taken over).
type Earlier = (String, u64, u64, Vec<u8>);

/// What the first `start` takes from earlier page loads.
pub struct HandOver {
    /// Unsent segments, in (replay, segment) order.
    pub segments: Vec<Segment>,
    /// The continued replay's next segment id must be at least this.
    pub floor: u32,
    /// Generations of the continued buffer-mode replay (key, (start, checkout, piece)), oldest first.
    pub gens: Vec<(String, (u64, bool, Piece))>,
}

/// The persistent store's index and the requests to perform.
pub struct Store {
    owner: String,
    units: Vec<Unit>,
    ops: Vec<StoreOp>,
    earlier: Vec<Earlier>,
    /// Buffer generations kept: (ring id, key, bytes stored).
    gens: Vec<(u64, String, usize)>,
    ring_saved_at: Option<u64>,
    /// The newest generation (id, events) as last saved.
    ring_saved: (u64, u32),
    /// When the buffer's unsaved events are due to be saved (a throttled save
    /// wakes the engine then, so no event waits more than the interval).
    pub ring_due: Option<u64>,
    /// Leading segments of the next outputs that were handed over (kept already).
    skip: usize,
    pub dropped: u64,
}

impl Store {
    /// The store as read at start-up: `records` are (key, value) pairs in key
    /// order (as IndexedDB's `getAll` gives them), `owner` this page load's id,
    /// `live` the ids of page loads still running.
    pub fn load(
        owner: String,
        live: &[String],
        records: Vec<(String, Vec<u8>)>,
        now: u64,
        l: &Limits,
    ) -> Store {
        let mut st = Store {
            owner,
            units: Vec::new(),
            ops: Vec::new(),
            earlier: Vec::new(),
            gens: Vec::new(),
            ring_saved_at: None,
            ring_saved: (0, 0),
            ring_due: None,
            skip: 0,
            dropped: 0,
        };
        // Part records belong to the unit whose key they extend: taken out
        // first, put back into their units, and deleted where none is left.
        let (parts, records): (Vec<_>, Vec<_>) = records.into_iter().partition(|(k, _)| is_part(k));
        let mut parts: Vec<(String, Option<Vec<u8>>)> =
            parts.into_iter().map(|(k, v)| (k, Some(v))).collect();
        for (key, v) in records {
            // A unit that cannot be read whole goes whole: its record and its parts.
            let (v, n, body) = match in_parts(&v) {
                Some(h) => match assemble(&key, &h, &mut parts) {
                    Some(whole) => (Some(whole), h.parts, h.body),
                    None => (None, h.parts, 0),
                },
                None => (Some(v), 0, 0),
            };
            let Some((tag, owner, rest)) = v.as_deref().and_then(header) else {
                st.drop_parts(&key, 0, n);
                st.ops.push(StoreOp::Delete(key));
                continue;
            };
            let at = R(rest).n().unwrap_or(0);
            let alive = live.contains(&owner);
            if !alive && now >= at.saturating_add(l.store_max_age_ms) {
                st.drop_parts(&key, 0, n);
                st.ops.push(StoreOp::Delete(key));
                st.dropped += 1;
                continue;
            }
            st.units.push(Unit {
                key: key.clone(),
                at,
                bytes: v.as_ref().map_or(0, Vec::len) as u64,
                parts: n,
                body,
            });
            if !alive {
                st.earlier.push((key, tag, at, rest.to_vec()));
            }
        }
        st.ops.extend(
            parts
                .into_iter()
                .filter(|p| p.1.is_some())
                .map(|p| StoreOp::Delete(p.0)),
        );
        st.enforce(l);
        st
    }

    /// The requests to perform, in order.
    pub fn take_ops(&mut self) -> Vec<StoreOp> {
        core::mem::take(&mut self.ops)
    }

    /// Bytes held in storage (as far as this page load knows).
    pub fn bytes(&self) -> u64 {
        self.units.iter().map(|u| u.bytes).sum()
    }

    /// Deletes a unit if it is stored.
    fn delete(&mut self, key: &str) {
        if let Some(i) = self.units.iter().position(|u| u.key == key) {
            let u = self.units.remove(i);
            self.ops.push(StoreOp::Delete(key.to_string()));
            self.drop_parts(key, 0, u.parts);
            self.earlier.retain(|e| e.0 != key);
            self.gens.retain(|g| g.1 != key);
        }
    }

    /// Deletes part records `from..to` of the unit `key`.
    fn drop_parts(&mut self, key: &str, from: u32, to: u32) {
        self.ops
            .extend((from..to).map(|k| StoreOp::Delete(part_key(key, k))));
    }

    /// The unit `key` (added, first written `now`, if it is new).
    fn unit(&mut self, key: &str, now: u64) -> usize {
        match self.units.iter().position(|u| u.key == key) {
            Some(i) => i,
            None => {
                self.units.push(Unit {
                    key: key.to_string(),
                    at: now,
                    bytes: 0,
                    parts: 0,
                    body: 0,
                });
                self.units.len() - 1
            }
        }
    }

    /// Writes a unit whole (its first-written time kept; parts it had go).
    fn put(&mut self, key: &str, record: impl FnOnce(u64) -> Vec<u8>, now: u64) {
        let i = self.unit(key, now);
        let v = record(self.units[i].at);
        let parts = core::mem::take(&mut self.units[i].parts);
        self.units[i].bytes = v.len() as u64;
        self.units[i].body = 0;
        self.ops.push(StoreOp::Put(key.to_string(), v));
        self.drop_parts(key, 0, parts);
    }

    /// Writes a unit whose record is `head(at) + body + tail`, where `body`
    /// only grows at its end while `key` is kept: only the bytes past what is
    /// stored go out, as a new part record, and the head record (`head`,
    /// `tail`, the number of parts) is rewritten. After [`MAX_PARTS`] parts, or
    /// if `body` is shorter than what is stored, the body is written again as
    /// one part.
    fn put_grown(
        &mut self,
        key: &str,
        head: impl FnOnce(u64) -> Vec<u8>,
        body: &[u8],
        tail: &[u8],
        now: u64,
    ) {
        let i = self.unit(key, now);
        let (had, stored) = (self.units[i].parts, self.units[i].body);
        // Whole: one part holding the body. Otherwise the bytes past the stored ones, if any, as one part more
        // (`stored` is then at most `body.len()`).
        let whole = had == 0 || had >= MAX_PARTS || (body.len() as u64) < stored;
        let from = if whole { 0 } else { stored as usize };
        let parts = match (whole, from == body.len()) {
            (true, _) => 1,
            (false, true) => had,
            (false, false) => had + 1,
        };
        let mut w = W::default();
        w.n(PARTS)
            .b(&head(self.units[i].at))
            .b(tail)
            .n(u64::from(parts))
            .n(body.len() as u64);
        let u = &mut self.units[i];
        u.parts = parts;
        u.body = body.len() as u64;
        u.bytes = (w.0.len() + body.len()) as u64;
        if parts > had || whole {
            self.ops.push(StoreOp::Put(
                part_key(key, parts - 1),
                body[from..].to_vec(),
            ));
        }
        self.ops.push(StoreOp::Put(key.to_string(), w.0));
        if whole {
            self.drop_parts(key, 1, had);
        }
    }

    /// Drops the oldest units while over the byte cap (never the last one).
    fn enforce(&mut self, l: &Limits) {
        while self.units.len() > 1 && self.bytes() > l.store_max_bytes {
            let mut oldest = 0;
            for (i, u) in self.units.iter().enumerate() {
                if u.at < self.units[oldest].at {
                    oldest = i;
                }
            }
            let key = self.units[oldest].key.clone();
            self.delete(&key);
            self.dropped += 1;
        }
    }

    /// `sent`: what was kept for that segment goes. Unknown segments are ignored.
    pub fn sent(&mut self, replay: &str, segment_id: f64) {
        if (0.0..=65_535.0).contains(&segment_id) && f64::from(segment_id as u16) == segment_id {
            self.delete(&seg_key(replay, segment_id as u16));
        }
    }

    /// `forget`: everything goes.
    pub fn forget(&mut self) {
        self.ops = vec![StoreOp::Clear];
        self.units.clear();
        self.earlier.clear();
        self.gens.clear();
    }

    /// The first `start`: the unsent segments of earlier page loads (records
    /// come in key order, so in (replay, segment) order) and the generations
    /// of `continued` (replay id, the segment the host delivered on unload, buffering).
    pub fn hand_over(&mut self, continued: Option<(&str, Option<u32>, bool)>) -> HandOver {
        let mut h = HandOver {
            segments: Vec::new(),
            floor: 0,
            gens: Vec::new(),
        };
        for (key, tag, at, rest) in core::mem::take(&mut self.earlier) {
            let same = continued.filter(|c| key.split('/').next() == Some(c.0));
            let mut r = R(&rest);
            r.n();
            let kept = if tag == GENERATION {
                match generation(&mut r).filter(|_| same.is_some_and(|c| c.2)) {
                    Some(g) => {
                        h.gens.push((key.clone(), g));
                        true
                    }
                    None => false,
                }
            } else {
                match segment(&mut r) {
                    // The host delivered that segment itself on unload (it stored
                    // that partial's session value, which says so).
                    Some(s) if !same.is_some_and(|c| c.1 == Some(u32::from(s.segment_id))) => {
                        if same.is_some() {
                            h.floor = h.floor.max(u32::from(s.segment_id) + 1);
                        }
                        h.segments.push(s);
                        true
                    }
                    _ => false,
                }
            };
            if kept {
                // This load's from now on; an open segment is a finished one.
                let mut w = W::default();
                w.n(if tag == OPEN { FINISHED } else { tag })
                    .b(self.owner.as_bytes())
                    .0
                    .extend_from_slice(&rest);
                self.put(&key, |_| w.0, at);
            } else {
                self.delete(&key);
            }
        }
        self.skip = h.segments.len();
        h
    }

    /// The restored generations now in the ring under `ids` (units the ring
    /// did not take are let go).
    pub fn kept_gens(&mut self, restored: Vec<(String, usize)>, ids: Vec<u64>) {
        for (i, (key, len)) in restored.into_iter().enumerate() {
            match ids.get(i) {
                Some(&id) => self.gens.push((id, key, len)),
                None => self.delete(&key),
            }
        }
    }

    /// Keeps what an engine call produced: segments and the open segment.
    pub fn observe(&mut self, outs: &[Output], e: &Engine, now: u64, l: &Limits) {
        for o in outs.iter().skip(core::mem::take(&mut self.skip)) {
            match o {
                Output::Segment(s) => {
                    let key = seg_key(&s.replay_id, s.segment_id);
                    let owner = self.owner.clone();
                    let f = Fields::of(s);
                    self.put(&key, |at| f.record(FINISHED, &owner, at, &[&s.body]), now);
                }
                Output::Partial {
                    segment_id,
                    event_count,
                    head,
                    tail,
                    url,
                    replay_event,
                    ..
                } => {
                    let Phase::Recording(r) = &e.phase else {
                        continue;
                    };
                    let Some(open) = r.open.as_ref() else {
                        continue;
                    };
                    let f = Fields {
                        replay: &e.id,
                        seg: *segment_id,
                        replay_type: e.replay_type,
                        start: open.meta().first_ts,
                        end: open.meta().last_ts,
                        count: *event_count,
                        kind: match e.cfg.target {
                            Target::Envelope { .. } => Kind::Envelope,
                            Target::Plain { .. } => Kind::Plain,
                            Target::Recording => Kind::Recording,
                        },
                        url,
                        replay_event,
                    };
                    let key = seg_key(&e.id, *segment_id);
                    let owner = self.owner.clone();
                    let body = &open.piece.bytes[..r.sent_len.min(open.piece.bytes.len())];
                    // The streamed bytes only grow while the segment is open.
                    self.put_grown(
                        &key,
                        |at| f.record(OPEN, &owner, at, &[head]),
                        body,
                        tail,
                        now,
                    );
                }
                _ => {}
            }
        }
        self.enforce(l);
    }

    /// Keeps the buffer-mode ring: its generations' bytes (at most once per
    /// [`Limits::store_interval_ms`] unless hidden), and lets go of the
    /// generations it dropped, or of all once the replay no longer buffers.
    pub fn save_ring(&mut self, e: &mut Engine, now: u64, l: &Limits) {
        let (hidden, id) = (e.hidden, e.id.clone());
        let ring = match &mut e.phase {
            Phase::Buffering(b) => Some(&mut b.ring),
            _ => None,
        };
        let gone: Vec<String> = self
            .gens
            .iter()
            .filter(|k| {
                !ring
                    .as_ref()
                    .is_some_and(|r| r.gens.iter().any(|g| g.id == k.0))
            })
            .map(|k| k.1.clone())
            .collect();
        for k in gone {
            self.delete(&k);
        }
        let Some(ring) = ring else {
            self.ring_due = None;
            return;
        };
        let newest = ring
            .gens
            .back()
            .map_or((0, 0), |g| (g.id, g.piece.meta.events));
        if !hidden
            && self
                .ring_saved_at
                .is_some_and(|t| now < t + l.store_interval_ms)
        {
            if newest != self.ring_saved {
                self.ring_due = self.ring_saved_at.map(|t| t + l.store_interval_ms);
            }
            return;
        }
        self.ring_saved_at = Some(now);
        self.ring_saved = newest;
        self.ring_due = None;
        if ring.sync().is_err() {
            return;
        }
        for g in &ring.gens {
            let i = match self.gens.iter().position(|k| k.0 == g.id) {
                Some(i) => i,
                None => {
                    let mut k = id.clone().into_bytes();
                    k.extend_from_slice(b"/g");
                    push_u64(&mut k, g.start_at);
                    k.push(b'-');
                    k.extend_from_slice(self.owner.as_bytes());
                    k.push(b'-');
                    push_u64(&mut k, g.id);
                    self.gens
                        .push((g.id, String::from_utf8(k).unwrap_or_default(), 0));
                    self.gens.len() - 1
                }
            };
            if self.gens[i].2 == g.piece.bytes.len() {
                continue;
            }
            self.gens[i].2 = g.piece.bytes.len();
            let key = self.gens[i].1.clone();
            let owner = self.owner.clone();
            // A generation's piece only grows (flushed, never recompressed) while it is in the ring.
            self.put_grown(
                &key,
                |at| {
                    let (adler, raw_len) = g.piece.text_sum();
                    let m = &g.piece.meta;
                    let mut w = W::default();
                    w.n(GENERATION)
                        .b(owner.as_bytes())
                        .n(at)
                        .n(g.start_at)
                        .n(u64::from(g.checkout))
                        .n(u64::from(adler))
                        .n(raw_len)
                        .n(u64::from(m.events))
                        .n(m.utf16)
                        .n(m.first_ts)
                        .n(m.last_ts)
                        .n(m.urls.len() as u64);
                    for u in &m.urls {
                        w.b(u.0.as_bytes());
                    }
                    w.0
                },
                &g.piece.bytes,
                &[],
                now,
            );
        }
        self.enforce(l);
    }
}
