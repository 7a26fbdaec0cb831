//! The record format of what the store keeps (`store.rs` decides what and when): unsigned LEB128 numbers and
//! length-prefixed bytes; a record starts with its kind, owner (the page load that wrote it) and first-written
//! time, then a segment's fields and body, or a buffer generation's piece.
//!
//! A record kept in parts (a unit that grows at its end, `Store::put_grown`) is a head record under the unit's
//! key, `PARTS, b(head), b(tail), parts, body length`, and part records under `{key}/p{k}` (k = 0, 1, …) holding
//! the body's bytes; the record they stand for is `head + part 0 + … + part n-1 + tail`.

use super::json::{push_u64, RawJson};
use super::output::{Kind, ReplayType, Segment};
use super::record::{Meta, Piece};
use crate::prelude::*;

/// Unit kinds (the first number of a record).
pub(super) const FINISHED: u64 = 1;
pub(super) const OPEN: u64 = 2;
pub(super) const GENERATION: u64 = 3;
/// A head record of a record kept in parts (never the kind of a reassembled record).
pub(super) const PARTS: u64 = 4;

/// Record encoder: unsigned LEB128 numbers and length-prefixed bytes.
#[derive(Default)]
pub(super) struct W(pub(super) Vec<u8>);

impl W {
    pub(super) fn n(&mut self, mut v: u64) -> &mut Self {
        while v >= 0x80 {
            self.0.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
        self
    }
    pub(super) fn b(&mut self, b: &[u8]) -> &mut Self {
        self.n(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }
    pub(super) fn o(&mut self, s: &Option<String>) -> &mut Self {
        match s {
            Some(s) => self.n(1).b(s.as_bytes()),
            None => self.n(0),
        }
    }
}

pub(super) struct R<'a>(pub(super) &'a [u8]);

impl<'a> R<'a> {
    pub(super) fn n(&mut self) -> Option<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        while shift < 64 {
            let (&b, rest) = self.0.split_first()?;
            self.0 = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
            shift += 7;
        }
        None
    }
    pub(super) fn b(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.n()?).ok()?;
        let h = self.0.get(..n)?;
        self.0 = &self.0[n..];
        Some(h)
    }
    pub(super) fn s(&mut self) -> Option<String> {
        String::from_utf8(self.b()?.to_vec()).ok()
    }
    pub(super) fn o(&mut self) -> Option<Option<String>> {
        match self.n()? {
            0 => Some(None),
            _ => self.s().map(Some),
        }
    }
}

/// `{replayId}/s{segmentId:05}`.
pub(super) fn seg_key(replay: &str, seg: u16) -> String {
    let mut k = Vec::with_capacity(40);
    k.extend_from_slice(replay.as_bytes());
    k.extend_from_slice(b"/s");
    push_u64(&mut k, 100_000 + u64::from(seg));
    k.remove(replay.len() + 2);
    String::from_utf8(k).unwrap_or_default()
}

/// The key of part `k` of the unit `key`: `{key}/p{k}` (unit keys have one `/`, part keys two).
pub(super) fn part_key(key: &str, k: u32) -> String {
    let mut v = Vec::with_capacity(key.len() + 8);
    v.extend_from_slice(key.as_bytes());
    v.extend_from_slice(b"/p");
    push_u64(&mut v, u64::from(k));
    String::from_utf8(v).unwrap_or_default()
}

/// Whether `key` is a part key (`{unit key}/p{digits}`).
pub(super) fn is_part(key: &str) -> bool {
    // Char patterns only: a string pattern would bring the substring searcher into the module.
    key.rsplit_once('/').is_some_and(|(unit, p)| {
        unit.contains('/')
            && p.strip_prefix('p')
                .is_some_and(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// A head record's contents.
pub(super) struct Parts<'a> {
    head: &'a [u8],
    tail: &'a [u8],
    pub(super) parts: u32,
    pub(super) body: u64,
}

/// `v` as a head record, if it is one.
pub(super) fn in_parts(v: &[u8]) -> Option<Parts<'_>> {
    let mut r = R(v);
    if r.n()? != PARTS {
        return None;
    }
    let (head, tail) = (r.b()?, r.b()?);
    Some(Parts {
        head,
        tail,
        parts: u32::try_from(r.n()?).ok()?,
        body: r.n()?,
    })
}

/// The record `h` stands for, its parts taken out of `parts` (part key → bytes, in key order, as the store's
/// records come: found by binary search, so start-up stays fast with thousands of parts); `None` if one is
/// missing or the body's length is not the one written (a unit that cannot be read whole is dropped whole).
pub(super) fn assemble(
    key: &str,
    h: &Parts,
    parts: &mut [(String, Option<Vec<u8>>)],
) -> Option<Vec<u8>> {
    let mut whole = h.head.to_vec();
    let mut ok = true;
    for k in 0..h.parts {
        let name = part_key(key, k);
        let part = parts
            .binary_search_by(|p| p.0.as_str().cmp(&name))
            .ok()
            .and_then(|i| parts[i].1.take());
        match part {
            Some(p) => whole.extend_from_slice(&p),
            None => ok = false,
        }
    }
    (ok && (whole.len() - h.head.len()) as u64 == h.body).then(|| {
        whole.extend_from_slice(h.tail);
        whole
    })
}

/// The fields of a segment record (borrowed from a segment or a partial).
pub(super) struct Fields<'a> {
    pub(super) replay: &'a str,
    pub(super) seg: u16,
    pub(super) replay_type: ReplayType,
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) count: u32,
    pub(super) kind: Kind,
    pub(super) url: &'a Option<String>,
    pub(super) replay_event: &'a Option<String>,
}

impl<'a> Fields<'a> {
    pub(super) fn of(s: &'a Segment) -> Fields<'a> {
        Fields {
            replay: &s.replay_id,
            seg: s.segment_id,
            replay_type: s.replay_type,
            start: s.start,
            end: s.end,
            count: s.event_count,
            kind: s.kind,
            url: &s.url,
            replay_event: &s.replay_event,
        }
    }

    pub(super) fn record(&self, tag: u64, owner: &str, at: u64, body: &[&[u8]]) -> Vec<u8> {
        let mut w = W::default();
        w.n(tag)
            .b(owner.as_bytes())
            .n(at)
            .b(self.replay.as_bytes())
            .n(u64::from(self.seg))
            .n(u64::from(self.replay_type == ReplayType::Buffer))
            .n(self.start)
            .n(self.end)
            .n(u64::from(self.count))
            .n(self.kind as u64)
            .o(self.url)
            .o(self.replay_event);
        for b in body {
            w.0.extend_from_slice(b);
        }
        w.0
    }
}

/// A record's kind, owner, and the rest (from its first-written time on).
pub(super) fn header(v: &[u8]) -> Option<(u64, String, &[u8])> {
    let mut r = R(v);
    Some((r.n()?, r.s()?, r.0))
}

/// A segment record's rest (after the first-written time).
pub(super) fn segment(r: &mut R) -> Option<Segment> {
    Some(Segment {
        replay_id: r.s()?,
        segment_id: u16::try_from(r.n()?).ok()?,
        replay_type: if r.n()? == 1 {
            ReplayType::Buffer
        } else {
            ReplayType::Session
        },
        start: r.n()?,
        end: r.n()?,
        event_count: u32::try_from(r.n()?).ok()?,
        kind: match r.n()? {
            0 => Kind::Envelope,
            1 => Kind::Plain,
            _ => Kind::Recording,
        },
        url: r.o()?,
        replay_event: r.o()?,
        body: r.0.to_vec(),
    })
}

/// A generation record's rest (after the first-written time): start, checkout, piece.
pub(super) fn generation(r: &mut R) -> Option<(u64, bool, Piece)> {
    let start_at = r.n()?;
    let checkout = r.n()? == 1;
    let adler = u32::try_from(r.n()?).ok()?;
    let raw_len = r.n()?;
    let mut m = Meta {
        events: u32::try_from(r.n()?).ok()?,
        utf16: r.n()?,
        first_ts: r.n()?,
        last_ts: r.n()?,
        urls: Vec::new(),
    };
    for _ in 0..r.n()? {
        m.urls.push(RawJson(r.s()?));
    }
    Some((
        start_at,
        checkout,
        Piece::restored(r.0.to_vec(), adler, raw_len, m),
    ))
}
