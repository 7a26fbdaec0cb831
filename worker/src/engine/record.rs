//! Compressed recordings `[e1,e2,…]` built from pieces, so that bytes once
//! compressed are never compressed again:
//! - the opening `[`, the closing `]` and the `,` between buffer generations are
//!   stored (uncompressed) deflate blocks written by hand;
//! - [`Open`] is a session segment being written: the deflate bytes so far end
//!   on a byte boundary after each sync flush, so `header + [ + bytes + tail`
//!   is a complete zlib stream at any of those points (the `partial` output);
//! - [`Ring`] is the buffer-mode history: one deflate chunk per generation, each
//!   ending with a full flush so that it does not refer to older generations and
//!   any suffix of the generations forms a valid stream. Adler-32 checksums of
//!   the pieces are joined with [`Adler32::combine`].

use super::json::RawJson;
use super::scan::Scanned;
use crate::adler::Adler32;
use crate::deflate::{DeflateError, Deflater, ZLIB_HEADER};
use std::collections::VecDeque;

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
    /// `data.href` of Meta events, without repeats in a row.
    pub urls: Vec<RawJson>,
}

impl Meta {
    fn add(&mut self, ev: &Scanned, href: Option<&RawJson>) {
        if self.events == 0 {
            self.first_ts = ev.timestamp;
            self.last_ts = ev.timestamp;
        }
        self.first_ts = self.first_ts.min(ev.timestamp);
        self.last_ts = self.last_ts.max(ev.timestamp);
        self.events += 1;
        self.utf16 += ev.utf16;
        if let Some(h) = href {
            if self.urls.last() != Some(h) {
                self.urls.push(h.clone());
            }
        }
    }

    fn join(&mut self, other: &Meta) {
        if other.events == 0 {
            return;
        }
        if self.events == 0 {
            self.first_ts = other.first_ts;
            self.last_ts = other.last_ts;
        }
        self.first_ts = self.first_ts.min(other.first_ts);
        self.last_ts = self.last_ts.max(other.last_ts);
        self.events += other.events;
        self.utf16 += other.utf16;
        for u in &other.urls {
            if self.urls.last() != Some(u) {
                self.urls.push(u.clone());
            }
        }
    }
}

/// A session-mode segment being written.
pub struct Open {
    deflater: Deflater,
    /// Raw deflate bytes after [`OPEN`].
    pub body: Vec<u8>,
    /// Adler-32 of `[` and the event text so far.
    adler: Adler32,
    pub meta: Meta,
    /// Clock times of the first and last event added.
    pub first_at: u64,
    pub last_at: u64,
    /// `body[..partial_len]` has been handed out in `partial` outputs.
    pub partial_len: usize,
    /// Events covered by the last `partial`.
    pub partial_events: u32,
}

impl Open {
    pub fn new(level: u32, now: u64) -> Open {
        Open {
            deflater: Deflater::new(level),
            body: Vec::new(),
            adler: adler_of(b"["),
            meta: Meta::default(),
            first_at: now,
            last_at: now,
            partial_len: 0,
            partial_events: 0,
        }
    }

    /// Appends one event's text; returns the bytes fed to the compressor.
    pub fn push(
        &mut self,
        text: &[u8],
        ev: &Scanned,
        href: Option<&RawJson>,
        now: u64,
    ) -> Result<(), DeflateError> {
        if self.meta.events > 0 {
            self.deflater.write(b",", &mut self.body)?;
            self.adler.update(b",");
        }
        self.deflater.write(text, &mut self.body)?;
        self.adler.update(text);
        self.meta.add(ev, href);
        self.last_at = now;
        Ok(())
    }

    /// Ends the compressed bytes on a byte boundary (a sync flush).
    pub fn sync(&mut self) -> Result<(), DeflateError> {
        self.deflater.flush(&mut self.body, false)
    }

    /// The bytes after the body: `]` as the final block and the Adler-32.
    pub fn tail(&self) -> Vec<u8> {
        let mut a = self.adler;
        a.update(b"]");
        let mut t = CLOSE.to_vec();
        t.extend_from_slice(&a.value().to_be_bytes());
        t
    }

    /// Length of the complete zlib stream as of the last sync.
    pub fn zlib_len(&self) -> usize {
        OPEN.len() + self.body.len() + CLOSE.len() + 4
    }

    /// The complete zlib stream (syncs first).
    pub fn finish(mut self) -> Result<(Vec<u8>, Meta), DeflateError> {
        self.sync()?;
        let mut z = Vec::with_capacity(self.zlib_len());
        z.extend_from_slice(&OPEN);
        z.extend_from_slice(&self.body);
        z.extend_from_slice(&self.tail());
        Ok((z, self.meta))
    }
}

/// One buffer generation: from a checkout to the next.
pub struct Gen {
    /// Clock time of its first event.
    pub start_at: u64,
    /// Raw deflate bytes; end with a full flush once the generation is closed.
    pub bytes: Vec<u8>,
    /// Adler-32 and length of its text `e1,e2,…` (no brackets).
    adler: Adler32,
    raw_len: u64,
    pub meta: Meta,
}

/// The buffer-mode history, compressed at rest.
pub struct Ring {
    deflater: Deflater,
    level: u32,
    pub gens: VecDeque<Gen>,
    /// A `checkout` was asked for the newest generation.
    pub checkout_asked: bool,
    pub dropped_generations: u64,
    pub dropped_bytes: u64,
}

impl Ring {
    pub fn new(level: u32) -> Ring {
        Ring {
            deflater: Deflater::new(level),
            level,
            gens: VecDeque::new(),
            checkout_asked: false,
            dropped_generations: 0,
            dropped_bytes: 0,
        }
    }

    /// Compressed bytes held.
    pub fn bytes(&self) -> u64 {
        self.gens.iter().map(|g| g.bytes.len() as u64).sum()
    }

    /// Appends an event; a checkout (or the first event) starts a generation.
    pub fn push(
        &mut self,
        text: &[u8],
        ev: &Scanned,
        href: Option<&RawJson>,
        checkout: bool,
        now: u64,
    ) -> Result<(), DeflateError> {
        if checkout || self.gens.is_empty() {
            if let Some(last) = self.gens.back_mut() {
                self.deflater.flush(&mut last.bytes, true)?;
            }
            self.gens.push_back(Gen {
                start_at: now,
                bytes: Vec::new(),
                adler: Adler32::new(),
                raw_len: 0,
                meta: Meta::default(),
            });
            self.checkout_asked = false;
        }
        let Some(g) = self.gens.back_mut() else {
            return Ok(());
        };
        if g.meta.events > 0 {
            self.deflater.write(b",", &mut g.bytes)?;
            g.adler.update(b",");
            g.raw_len += 1;
        }
        self.deflater.write(text, &mut g.bytes)?;
        g.adler.update(text);
        g.raw_len += text.len() as u64;
        g.meta.add(ev, href);
        Ok(())
    }

    /// Drops generations that are no longer needed: while the second oldest
    /// already starts at or before `now - window`, and while the bytes held
    /// exceed `max_bytes` (never the newest).
    pub fn trim(&mut self, now: u64, window: u64, max_bytes: u64) {
        let horizon = now.saturating_sub(window);
        while self.gens.len() >= 2 && self.gens[1].start_at <= horizon {
            self.gens.pop_front();
        }
        let mut held = self.bytes();
        while self.gens.len() >= 2 && held > max_bytes {
            if let Some(g) = self.gens.pop_front() {
                held -= g.bytes.len() as u64;
                self.dropped_generations += 1;
                self.dropped_bytes += g.bytes.len() as u64;
            }
        }
    }

    /// Closes the newest generation and hands out all generations; the ring
    /// starts empty with a fresh compressor.
    pub fn take(&mut self) -> Result<Vec<Gen>, DeflateError> {
        let r = match self.gens.back_mut() {
            Some(last) => self.deflater.flush(&mut last.bytes, true),
            None => Ok(()),
        };
        self.deflater = Deflater::new(self.level);
        self.checkout_asked = false;
        let gens: Vec<Gen> = self.gens.drain(..).collect();
        r.map(|()| gens)
    }
}

/// The zlib stream `[g1,g2,…]` from closed generations, without recompressing.
pub fn assemble(gens: &[Gen]) -> (Vec<u8>, Meta) {
    let len = OPEN.len()
        + gens
            .iter()
            .map(|g| g.bytes.len() + COMMA.len())
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
        z.extend_from_slice(&g.bytes);
        adler = adler.combine(g.adler, g.raw_len);
        meta.join(&g.meta);
    }
    z.extend_from_slice(&CLOSE);
    adler = adler.combine(adler_of(b"]"), 1);
    z.extend_from_slice(&adler.value().to_be_bytes());
    (z, meta)
}
