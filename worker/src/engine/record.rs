//! Compressed recordings `[e1,e2,…]` built from pieces, so that bytes once
//! compressed are never compressed again:
//! - the opening `[`, the closing `]` and the `,` between buffer generations are
//!   stored (uncompressed) deflate blocks written by hand;
//! - [`Piece`] is compressed event text `e1,e2,…` with its Adler-32 and what it
//!   holds; both of the following append events through it;
//! - [`Open`] is a session segment being written: the deflate bytes so far end
//!   on a byte boundary after each sync flush, so `header + [ + bytes + tail`
//!   is a complete zlib stream at any of those points (the `partial` output);
//! - [`Ring`] is the buffer-mode history: one deflate chunk per generation, each
//!   ending with a full flush so that it does not refer to older generations and
//!   any suffix of the generations forms a valid stream. Adler-32 checksums of
//!   the pieces are joined with [`Adler32::combine`].

use super::config::Limits;
use super::json::RawJson;
use super::scan::Scanned;
use crate::adler::Adler32;
use crate::deflate::{DeflateError, Deflater, ZLIB_HEADER};
use crate::prelude::*;
use alloc::collections::VecDeque;

/// A stored, non-final deflate block holding one byte: BFINAL=0 BTYPE=00, LEN=1, NLEN, byte.
const fn stored(byte: u8, last: bool) -> [u8; 6] {
    [last as u8, 0x01, 0x00, 0xFE, 0xFF, byte]
}

/// `78 9C` + `[` as a stored block: the recording's first bytes.
pub const OPEN: [u8; 8] = {
    let s = stored(b'[', false);
    [
        ZLIB_HEADER[0],
        ZLIB_HEADER[1],
        s[0],
        s[1],
        s[2],
        s[3],
        s[4],
        s[5],
    ]
};
const COMMA: [u8; 6] = stored(b',', false);
/// `]` as the final stored block; the Adler-32 follows.
const CLOSE: [u8; 6] = stored(b']', true);

fn adler_of(bytes: &[u8]) -> Adler32 {
    let mut a = Adler32::new();
    a.update(bytes);
    a
}

/// What a recording (or a part of one) holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meta {
    pub events: u32,
    pub utf16: u64,
    /// Smallest and largest event timestamps (ms).
    pub first_ts: u64,
    pub last_ts: u64,
    /// `data.href` of Meta events ([`Limits::push_url`]).
    pub urls: Vec<RawJson>,
}

impl Meta {
    fn span(&mut self, events: u32, utf16: u64, first: u64, last: u64) {
        if self.events == 0 {
            self.first_ts = first;
            self.last_ts = last;
        }
        self.first_ts = self.first_ts.min(first);
        self.last_ts = self.last_ts.max(last);
        self.events += events;
        self.utf16 += utf16;
    }

    fn join(&mut self, other: &Meta, l: &Limits) {
        if other.events == 0 {
            return;
        }
        self.span(other.events, other.utf16, other.first_ts, other.last_ts);
        for u in &other.urls {
            l.push_url(&mut self.urls, u);
        }
    }
}

/// Compressed event text `e1,e2,…` (no brackets): raw deflate bytes, the
/// Adler-32 and length of the text, and what it holds.
#[derive(Default)]
pub struct Piece {
    pub bytes: Vec<u8>,
    adler: Adler32,
    raw_len: u64,
    pub meta: Meta,
}

impl Piece {
    /// An event's text begins (after a `,` unless it is the first).
    fn begin(&mut self, deflater: &mut Deflater) -> Result<(), DeflateError> {
        if self.meta.events > 0 {
            self.write(deflater, b",")?;
        }
        Ok(())
    }

    /// The next bytes of an event's text.
    fn write(&mut self, deflater: &mut Deflater, text: &[u8]) -> Result<(), DeflateError> {
        deflater.write(text, &mut self.bytes)?;
        self.adler.update(text);
        self.raw_len += text.len() as u64;
        Ok(())
    }

    /// The event's text ended: what it holds is counted.
    fn end(&mut self, ev: &Scanned, l: &Limits) {
        self.meta.span(1, ev.utf16, ev.timestamp, ev.timestamp);
        if let Some(h) = &ev.href {
            if ev.kind == 4 {
                l.push_url(&mut self.meta.urls, h);
            }
        }
    }

    /// A piece read back from storage (bytes ending on a flush).
    pub fn restored(bytes: Vec<u8>, adler: u32, raw_len: u64, meta: Meta) -> Piece {
        Piece {
            bytes,
            adler: Adler32::from_value(adler),
            raw_len,
            meta,
        }
    }

    /// The Adler-32 and length of the text `e1,e2,…` so far.
    pub fn text_sum(&self) -> (u32, u64) {
        (self.adler.value(), self.raw_len)
    }

    /// Adler-32 of `[` + this text.
    fn adler_after_open(&self) -> Adler32 {
        adler_of(b"[").combine(self.adler, self.raw_len)
    }
}

/// A session-mode segment being written.
pub struct Open {
    deflater: Deflater,
    /// Raw deflate bytes after [`OPEN`], and what they hold.
    pub piece: Piece,
    /// Clock times of the first and last event added.
    pub first_at: u64,
    pub last_at: u64,
}

impl Open {
    pub fn new(level: u32, now: u64) -> Open {
        Open {
            deflater: Deflater::new(level),
            piece: Piece::default(),
            first_at: now,
            last_at: now,
        }
    }

    pub fn meta(&self) -> &Meta {
        &self.piece.meta
    }

    /// An event's text begins; its bytes follow with [`Open::write`], then [`Open::end`].
    pub fn begin(&mut self) -> Result<(), DeflateError> {
        self.piece.begin(&mut self.deflater)
    }

    pub fn write(&mut self, text: &[u8]) -> Result<(), DeflateError> {
        self.piece.write(&mut self.deflater, text)
    }

    pub fn end(&mut self, ev: &Scanned, now: u64, l: &Limits) {
        self.piece.end(ev, l);
        self.last_at = now;
    }

    /// Ends the compressed bytes on a byte boundary (a sync flush).
    pub fn sync(&mut self) -> Result<(), DeflateError> {
        self.deflater.flush(&mut self.piece.bytes, false)
    }

    /// Adler-32 of the text so far: `[` and the events joined by `,`.
    pub fn adler(&self) -> u32 {
        self.piece.adler_after_open().value()
    }

    /// The bytes after the body: `]` as the final block and the Adler-32.
    pub fn tail(&self) -> Vec<u8> {
        let mut a = self.piece.adler_after_open();
        a.update(b"]");
        let mut t = CLOSE.to_vec();
        t.extend_from_slice(&a.value().to_be_bytes());
        t
    }

    /// Length of the complete zlib stream as of the last sync.
    pub fn zlib_len(&self) -> usize {
        OPEN.len() + self.piece.bytes.len() + CLOSE.len() + 4
    }

    /// The complete zlib stream (syncs first).
    pub fn finish(mut self) -> Result<(Vec<u8>, Meta), DeflateError> {
        self.sync()?;
        let mut z = Vec::with_capacity(self.zlib_len());
        z.extend_from_slice(&OPEN);
        z.extend_from_slice(&self.piece.bytes);
        z.extend_from_slice(&self.tail());
        Ok((z, self.piece.meta))
    }
}

/// One buffer generation: from a checkout to the next. Its bytes end with a
/// full flush once it is closed.
pub struct Gen {
    /// Unique within the ring (persisted generations are told apart by it).
    pub id: u64,
    /// Clock time of its first event.
    pub start_at: u64,
    /// Starts at a checkout (else at a split point inside a long generation).
    pub checkout: bool,
    pub piece: Piece,
}

/// The buffer-mode history, compressed at rest.
pub struct Ring {
    deflater: Deflater,
    pub gens: VecDeque<Gen>,
    next_id: u64,
    /// Restored generations end on a sync flush: the next event starts a new one.
    fresh: bool,
    pub dropped_generations: u64,
    pub dropped_bytes: u64,
}

impl Ring {
    pub fn new(level: u32) -> Ring {
        Ring {
            deflater: Deflater::new(level),
            gens: VecDeque::new(),
            next_id: 0,
            fresh: false,
            dropped_generations: 0,
            dropped_bytes: 0,
        }
    }

    /// Compressed bytes held.
    pub fn bytes(&self) -> u64 {
        self.gens.iter().map(|g| g.piece.bytes.len() as u64).sum()
    }

    /// An event begins; a checkout (or the first event) starts a generation,
    /// and so does a split point: an event that would take the generation past
    /// [`Limits::split_utf16`] UTF-16 units (a full flush, so that a long
    /// history can be sent as several segments). Its bytes follow with
    /// [`Ring::write`], then [`Ring::end`]. Returns whether a checkout
    /// generation started.
    pub fn begin(&mut self, ev: &Scanned, now: u64, l: &Limits) -> Result<bool, DeflateError> {
        let checkout = ev.kind == 4 || self.gens.is_empty();
        let split = self.gens.back().is_some_and(|g| {
            g.piece.meta.events > 0 && g.piece.meta.utf16 + ev.utf16 > l.split_utf16
        });
        let new = checkout || split || self.fresh;
        if new {
            if let Some(last) = self.gens.back_mut().filter(|_| !self.fresh) {
                self.deflater.flush(&mut last.piece.bytes, true)?;
            }
            self.fresh = false;
            self.gens.push_back(Gen {
                id: self.next_id,
                start_at: now,
                checkout,
                piece: Piece::default(),
            });
            self.next_id += 1;
        }
        if let Some(g) = self.gens.back_mut() {
            g.piece.begin(&mut self.deflater)?;
        }
        Ok(checkout)
    }

    pub fn write(&mut self, text: &[u8]) -> Result<(), DeflateError> {
        match self.gens.back_mut() {
            Some(g) => g.piece.write(&mut self.deflater, text),
            None => Ok(()),
        }
    }

    pub fn end(&mut self, ev: &Scanned, l: &Limits) {
        if let Some(g) = self.gens.back_mut() {
            g.piece.end(ev, l);
        }
    }

    /// Puts generations of an earlier page load (oldest first, each ending on
    /// a flush) before everything held; returns their ids.
    pub fn restore(&mut self, older: Vec<(u64, bool, Piece)>) -> Vec<u64> {
        let mut ids = Vec::new();
        for (start_at, checkout, piece) in older.into_iter().rev() {
            self.gens.push_front(Gen {
                id: self.next_id,
                start_at,
                checkout,
                piece,
            });
            ids.push(self.next_id);
            self.next_id += 1;
            self.fresh |= self.gens.len() == 1;
        }
        ids.reverse();
        ids
    }

    /// Ends the newest generation's bytes on a byte boundary (a sync flush),
    /// so that what it holds so far can be kept.
    pub fn sync(&mut self) -> Result<(), DeflateError> {
        match self.gens.back_mut() {
            Some(g) if !self.fresh => self.deflater.flush(&mut g.piece.bytes, false),
            _ => Ok(()),
        }
    }

    /// Drops generations that are no longer needed: everything before the
    /// newest checkout that starts at or before `now - window`, and, while the
    /// bytes held exceed `max_bytes`, the oldest checkout with the split
    /// generations after it (never the newest checkout). What is kept always
    /// starts at a checkout.
    pub fn trim(&mut self, now: u64, window: u64, max_bytes: u64) {
        let horizon = now.saturating_sub(window);
        if let Some(k) = self
            .gens
            .iter()
            .rposition(|g| g.checkout && g.start_at <= horizon)
        {
            for _ in 0..k {
                self.gens.pop_front();
            }
        }
        let mut held = self.bytes();
        while held > max_bytes && self.gens.iter().skip(1).any(|g| g.checkout) {
            while let Some(g) = self.gens.pop_front() {
                let n = g.piece.bytes.len() as u64;
                held -= n;
                self.dropped_generations += 1;
                self.dropped_bytes += n;
                if self.gens.front().is_some_and(|g| g.checkout) {
                    break;
                }
            }
        }
    }

    /// Closes the newest generation and hands out all generations.
    pub fn take(mut self) -> Result<Vec<Gen>, DeflateError> {
        if let Some(last) = self.gens.back_mut().filter(|_| !self.fresh) {
            self.deflater.flush(&mut last.piece.bytes, true)?;
        }
        Ok(self.gens.into_iter().collect())
    }
}

/// The zlib stream `[g1,g2,…]` from closed generations, without recompressing.
pub fn assemble(gens: &[Gen], l: &Limits) -> (Vec<u8>, Meta) {
    let len = OPEN.len()
        + gens
            .iter()
            .map(|g| g.piece.bytes.len() + COMMA.len())
            .sum::<usize>()
        + 10;
    let mut z = Vec::with_capacity(len);
    z.extend_from_slice(&OPEN);
    let mut adler = adler_of(b"[");
    let comma = adler_of(b",");
    let mut meta = Meta::default();
    for (i, g) in gens.iter().enumerate() {
        if i > 0 {
            z.extend_from_slice(&COMMA);
            adler = adler.combine(comma, 1);
        }
        z.extend_from_slice(&g.piece.bytes);
        adler = adler.combine(g.piece.adler, g.piece.raw_len);
        meta.join(&g.piece.meta, l);
    }
    z.extend_from_slice(&CLOSE);
    adler = adler.combine(adler_of(b"]"), 1);
    z.extend_from_slice(&adler.value().to_be_bytes());
    (z, meta)
}
