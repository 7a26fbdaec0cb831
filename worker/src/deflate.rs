//! Raw deflate on top of zlib-rs (called directly), and the zlib framing (RFC 1950) around it.
//!
//! ringflate writes the zlib header and the Adler-32 trailer itself instead of
//! letting the backend do it, for two reasons:
//! - the header is always `78 9C` whatever the level (FLEVEL is advisory, and
//!   Sentry's ingestion looks for exactly these two bytes);
//! - a stream can then be assembled from independently flushed chunks (see
//!   [`Deflater::flush`] with `full = true`) whose checksums are joined with
//!   [`crate::adler::Adler32::combine`], so old chunks can be dropped without
//!   recompressing what is kept.

use crate::adler::Adler32;
use alloc::vec::Vec;

/// CMF = 0x78 (deflate, 32 KiB window), FLG = 0x9C (FLEVEL 2 "default", no dictionary).
pub const ZLIB_HEADER: [u8; 2] = [0x78, 0x9C];

/// An empty final block with fixed Huffman codes (BFINAL=1, BTYPE=01, end-of-block).
/// Appended to a raw deflate stream that ends on a byte boundary, it ends the stream.
pub const FINAL_EMPTY_BLOCK: [u8; 2] = [0x03, 0x00];

/// The compression level used unless configured otherwise (chosen by measurement,
/// see README "Build decisions"). A build may override it with the environment
/// variable `RINGFLATE_LEVEL` (0–9) at compile time, which the benchmarks use to
/// compare levels.
pub const DEFAULT_LEVEL: u32 = match option_env!("RINGFLATE_LEVEL") {
    Some(v) => parse_level(v),
    None => 6,
};

const fn parse_level(v: &str) -> u32 {
    match v.as_bytes() {
        [d @ b'0'..=b'9'] => (*d - b'0') as u32,
        _ => panic!("RINGFLATE_LEVEL must be a single digit 0-9"),
    }
}

/// The backend reported an internal error; never caused by the data itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflateError;

impl DeflateError {
    /// The text the caller sees.
    pub const MESSAGE: &'static str = "internal deflate error";
}

impl core::fmt::Display for DeflateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(Self::MESSAGE)
    }
}

/// How far a call to the backend flushes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flush {
    None,
    Sync,
    Full,
    Finish,
}

/// The deflate backend, called directly (no I/O layer): zlib-rs (default), or
/// miniz_oxide with the `miniz` feature for the benchmarks' build variants.
/// `compress` appends what it writes to `out`'s spare capacity and returns the
/// input bytes consumed and whether the stream ended.
#[cfg(feature = "zlib-rs")]
mod backend {
    use super::{DeflateError, Flush};
    use alloc::vec::Vec;
    use zlib_rs::{Deflate, DeflateFlush, Status};

    pub struct Raw(Deflate);

    impl Raw {
        /// Raw deflate (negative window bits: no zlib header or trailer), 32 KiB window.
        pub fn new(level: u32) -> Self {
            Raw(Deflate::new(level as i32, false, 15))
        }

        pub fn compress(
            &mut self,
            input: &[u8],
            out: &mut Vec<u8>,
            mode: Flush,
        ) -> Result<(usize, bool), DeflateError> {
            let mode = match mode {
                Flush::None => DeflateFlush::NoFlush,
                Flush::Sync => DeflateFlush::SyncFlush,
                Flush::Full => DeflateFlush::FullFlush,
                Flush::Finish => DeflateFlush::Finish,
            };
            let (before_in, before_out) = (self.0.total_in(), self.0.total_out());
            let status = self
                .0
                .compress_uninit(input, out.spare_capacity_mut(), mode)
                .map_err(|_| DeflateError)?;
            let written = (self.0.total_out() - before_out) as usize;
            // SAFETY: the compressor initialized exactly `written` bytes of the spare capacity.
            unsafe { out.set_len(out.len() + written) };
            let consumed = (self.0.total_in() - before_in) as usize;
            Ok((consumed, status == Status::StreamEnd))
        }
    }
}

#[cfg(all(feature = "miniz", not(feature = "zlib-rs")))]
mod backend {
    use super::{DeflateError, Flush};
    use alloc::boxed::Box;
    use alloc::vec::Vec;
    use miniz_oxide::deflate::core::{create_comp_flags_from_zip_params, CompressorOxide};
    use miniz_oxide::{MZFlush, MZStatus};

    pub struct Raw(Box<CompressorOxide>);

    impl Raw {
        /// Raw deflate (negative window bits: no zlib header or trailer).
        pub fn new(level: u32) -> Self {
            let flags = create_comp_flags_from_zip_params(level as i32, -15, 0);
            Raw(Box::new(CompressorOxide::new(flags)))
        }

        pub fn compress(
            &mut self,
            input: &[u8],
            out: &mut Vec<u8>,
            mode: Flush,
        ) -> Result<(usize, bool), DeflateError> {
            let mode = match mode {
                Flush::None => MZFlush::None,
                Flush::Sync => MZFlush::Sync,
                Flush::Full => MZFlush::Full,
                Flush::Finish => MZFlush::Finish,
            };
            let len = out.len();
            out.resize(out.capacity(), 0);
            let r =
                miniz_oxide::deflate::stream::deflate(&mut self.0, input, &mut out[len..], mode);
            out.truncate(len + r.bytes_written);
            match r.status {
                Ok(status) => Ok((r.bytes_consumed, status == MZStatus::StreamEnd)),
                // No progress possible (nothing to flush): not an error for a flush.
                Err(miniz_oxide::MZError::Buf) => Ok((r.bytes_consumed, false)),
                Err(_) => Err(DeflateError),
            }
        }
    }
}

/// A raw deflate compressor that appends its output to caller-owned buffers.
pub struct Deflater {
    c: backend::Raw,
    level: u32,
}

impl Deflater {
    pub fn new(level: u32) -> Self {
        let level = level.min(9);
        Deflater {
            c: backend::Raw::new(level),
            level,
        }
    }

    /// Compresses `input`; output that is ready is appended to `out`, the rest
    /// stays in the compressor until the next write, flush or finish.
    pub fn write(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), DeflateError> {
        self.run(input, out, Flush::None)
    }

    /// Emits everything written so far and ends on a byte boundary (an empty stored
    /// block). With `full`, later output does not refer to anything before this
    /// point, so the bytes since the previous full flush form a self-contained chunk.
    pub fn flush(&mut self, out: &mut Vec<u8>, full: bool) -> Result<(), DeflateError> {
        self.run(&[], out, if full { Flush::Full } else { Flush::Sync })
    }

    /// Ends the raw stream with a final block and readies the compressor for a new one.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), DeflateError> {
        let r = self.run(&[], out, Flush::Finish);
        self.reset();
        r
    }

    /// Drops any buffered input and starts a new raw stream.
    ///
    /// A fresh compressor rather than the backend's reset: with zlib-rs, a reset
    /// after input at level 1 leaves state behind that corrupts the next stream
    /// (found by `tests/sentry_protocol.rs`).
    pub fn reset(&mut self) {
        self.c = backend::Raw::new(self.level);
    }

    fn run(
        &mut self,
        mut input: &[u8],
        out: &mut Vec<u8>,
        mode: Flush,
    ) -> Result<(), DeflateError> {
        loop {
            let spare = out.capacity() - out.len();
            if spare < 64 || spare < input.len() / 4 {
                out.reserve((input.len() / 2).max(16 * 1024));
            }
            let (consumed, ended) = self.c.compress(input, out, mode)?;
            input = input.get(consumed..).unwrap_or_default();
            if ended {
                return Ok(());
            }
            let room_left = out.len() < out.capacity();
            match mode {
                Flush::None if input.is_empty() => return Ok(()),
                // A flush is complete once the backend stops short of filling the buffer.
                Flush::Sync | Flush::Full if input.is_empty() && room_left => return Ok(()),
                _ => {}
            }
        }
    }
}

/// One zlib stream being written: header, raw deflate, Adler-32 trailer.
pub struct ZlibWriter {
    deflater: Deflater,
    adler: Adler32,
    out: Vec<u8>,
}

impl ZlibWriter {
    pub fn new(level: u32) -> Self {
        ZlibWriter {
            deflater: Deflater::new(level),
            adler: Adler32::new(),
            out: ZLIB_HEADER.to_vec(),
        }
    }

    pub fn write(&mut self, data: &[u8]) -> Result<(), DeflateError> {
        self.adler.update(data);
        self.deflater.write(data, &mut self.out)
    }

    /// Closes the stream and returns it; the writer starts a new, empty stream.
    pub fn finish(&mut self) -> Result<Vec<u8>, DeflateError> {
        let r = self.deflater.finish(&mut self.out);
        let mut done = core::mem::replace(&mut self.out, ZLIB_HEADER.to_vec());
        done.extend_from_slice(&self.adler.value().to_be_bytes());
        self.adler = Adler32::new();
        r.map(|()| done)
    }

    /// Discards the stream and starts a new, empty one.
    pub fn reset(&mut self) {
        self.deflater.reset();
        self.out.clear();
        self.out.extend_from_slice(&ZLIB_HEADER);
        self.adler = Adler32::new();
    }
}

/// gzip (RFC 1952) of `data` in one go: `compress` in Sentry's protocol.
///
/// The same bytes as flate2's `GzEncoder` with its default header (no name,
/// mtime 0, OS 255), built from our raw [`Deflater`] and a small CRC-32 so
/// that flate2's gzip writer and its 9 KB of CRC tables stay out of the build.
pub fn gzip(data: &[u8], level: u32) -> Result<Vec<u8>, DeflateError> {
    let level = level.min(9);
    let xfl = match level {
        9 => 2,
        0 | 1 => 4,
        _ => 0,
    };
    let mut out = Vec::with_capacity(data.len() / 4 + 64);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]);
    let mut d = Deflater::new(level);
    d.write(data, &mut out)?;
    d.finish(&mut out)?;
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    Ok(out)
}

/// CRC-32 (ISO-HDLC, the gzip trailer's), table-driven with the table built per
/// call: `compress` is rare and the 1 KB table costs nothing next to deflate.
pub fn crc32(data: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (n, t) in (0u32..).zip(table.iter_mut()) {
        let mut c = n;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *t = c;
    }
    let mut crc = !0u32;
    for &b in data {
        crc = table[usize::from((crc as u8) ^ b)] ^ (crc >> 8);
    }
    !crc
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use flate2::Compression;
    use std::io::Read;

    pub fn inflate_zlib(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(bytes)
            .read_to_end(&mut out)
            .expect("valid zlib stream");
        out
    }

    #[test]
    fn zlib_stream_round_trips_at_every_level() {
        let text = b"{\"type\":3,\"data\":{\"source\":1}},".repeat(2_000);
        for level in 0..=9 {
            let mut w = ZlibWriter::new(level);
            w.write(&text).unwrap();
            let z = w.finish().unwrap();
            assert_eq!(&z[..2], &ZLIB_HEADER, "level {level}");
            assert_eq!(inflate_zlib(&z), text, "level {level}");
            // Nothing after the trailer: a strict decoder consumes every byte.
            let mut d = flate2::read::ZlibDecoder::new(&z[..]);
            let mut sink = Vec::new();
            d.read_to_end(&mut sink).unwrap();
            assert_eq!(d.total_in() as usize, z.len());
        }
    }

    #[test]
    fn full_flush_chunks_are_self_contained() {
        // Chunks cut at full flushes can be reassembled starting from any chunk.
        let parts: Vec<Vec<u8>> = (0..5)
            .map(|i| format!("chunk {i}: ").into_bytes().repeat(500 + i * 37))
            .collect();
        let mut d = Deflater::new(DEFAULT_LEVEL);
        let mut chunks = Vec::new();
        for p in &parts {
            let mut c = Vec::new();
            d.write(p, &mut c).unwrap();
            d.flush(&mut c, true).unwrap();
            assert_eq!(&c[c.len() - 4..], &[0, 0, 0xff, 0xff]);
            chunks.push(c);
        }
        for start in 0..parts.len() {
            let mut z = ZLIB_HEADER.to_vec();
            let mut adler = Adler32::new();
            for (c, p) in chunks[start..].iter().zip(&parts[start..]) {
                z.extend_from_slice(c);
                let mut a = Adler32::new();
                a.update(p);
                adler = adler.combine(a, p.len() as u64);
            }
            z.extend_from_slice(&FINAL_EMPTY_BLOCK);
            z.extend_from_slice(&adler.value().to_be_bytes());
            assert_eq!(
                inflate_zlib(&z),
                parts[start..].concat(),
                "from chunk {start}"
            );
        }
    }

    #[test]
    fn gzip_round_trips() {
        let text = "héllo 世界 🎉".repeat(100);
        let gz = gzip(text.as_bytes(), DEFAULT_LEVEL).unwrap();
        assert_eq!(&gz[..2], &[0x1f, 0x8b]);
        let mut out = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, text);
    }

    #[test]
    fn crc32_check_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn gzip_round_trips_at_every_level_with_flate2s_header() {
        use std::io::Write;
        let text = b"{\"type\":3,\"data\":{\"source\":1,\"x\":12}},".repeat(3_000);
        for level in 0..=9 {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), Compression::new(level));
            enc.write_all(&text).unwrap();
            let theirs = enc.finish().unwrap();
            let ours = gzip(&text, level).unwrap();
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&ours[..])
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, text, "level {level}");
            // Same header as flate2's encoder (flags, mtime, XFL, OS), same trailer.
            assert_eq!(ours[..10], theirs[..10], "level {level}");
            assert_eq!(
                ours[ours.len() - 8..],
                theirs[theirs.len() - 8..],
                "level {level}"
            );
        }
    }
}
