//! JSON lexing for the batch scanner, resumable at any byte: whitespace, strings (escapes validated, a key's text
//! decoded), numbers (grammar validated, exact unsigned integer reading), literals, and the UTF-16 length of a
//! text. A token that a part of the text cuts (anywhere: inside an escape, a `\uXXXX`, a UTF-8 sequence, a number)
//! is read on from the next part. Nothing here builds a value; the scanner (`scan.rs`) walks an event's structure
//! with these.

#[inline(always)]
pub(super) fn ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// Eight bytes as a little-endian word (a load, with no call to a copy).
#[inline(always)]
fn word(w: &[u8]) -> u64 {
    <[u8; 8]>::try_from(w).map_or(0, u64::from_le_bytes)
}

/// UTF-16 code units of a UTF-8 text: one per scalar, two for those above U+FFFF.
/// ASCII runs are counted eight bytes at a time.
pub fn utf16_len(b: &[u8]) -> u64 {
    let unit = |c: &u8| u64::from(c & 0xC0 != 0x80) + u64::from(*c >= 0xF0);
    let mut n = 0;
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        if word(w) & 0x8080_8080_8080_8080 == 0 {
            n += 8;
        } else {
            n += w.iter().map(unit).sum::<u64>();
        }
    }
    n + words.remainder().iter().map(unit).sum::<u64>()
}

/// The index of the first byte at or after `j` that ends a run of plain
/// string bytes: `"`, `\\` or a control character (or the end). Eight bytes at
/// a time: a word holds such a byte exactly when one of the three tests sets
/// a high bit (the classic "has zero byte" / "has byte less than" tricks), and
/// the lowest byte so flagged is the first such byte.
#[inline(always)]
fn plain_run(b: &[u8], mut j: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(j..j + 8) {
        let w = word(chunk);
        let quote = w ^ (ONES * u64::from(b'"'));
        let slash = w ^ (ONES * u64::from(b'\\'));
        let hit = (quote.wrapping_sub(ONES) & !quote)
            | (slash.wrapping_sub(ONES) & !slash)
            | (w.wrapping_sub(ONES * 0x20) & !w);
        // Borrows only run upwards, so the lowest flagged byte is the first hit.
        let hit = hit & HIGH;
        if hit != 0 {
            return j + (hit.trailing_zeros() / 8) as usize;
        }
        j += 8;
    }
    while let Some(&c) = b.get(j) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        j += 1;
    }
    j
}

/// The value of a hexadecimal digit.
#[inline]
fn hex(c: u8) -> Option<u32> {
    char::from(c).to_digit(16)
}

/// What a one-character escape stands for in a key (`\u` is read apart).
#[inline]
fn escaped(c: u8) -> Option<u8> {
    Some(match c {
        b'"' | b'\\' | b'/' => c,
        b'b' => 8,
        b'f' => 12,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        _ => return None,
    })
}

/// A string being read, from after its opening quote: checks its escapes and
/// characters, and for a key keeps its text with escapes decoded far enough to
/// compare it with the engine's ASCII key names (an escape of a non-ASCII
/// character becomes a byte that no name has).
#[derive(Default)]
pub(super) struct Str {
    /// After a backslash.
    esc: bool,
    /// `\u` digits still to read, and their value so far.
    hex: u8,
    code: u32,
    /// Keep the key's text (only keys the engine may read).
    keep: bool,
    /// The first 10 bytes of the key's text; `len` 10 stands for "longer than 9".
    key: [u8; 10],
    len: u8,
}

impl Str {
    /// A string starts; `keep`: it is a key whose text is read.
    #[inline]
    pub fn start(&mut self, keep: bool) {
        self.esc = false;
        self.hex = 0;
        self.keep = keep;
        self.len = 0;
    }

    /// The key's text (at most 10 bytes: any longer key reads as 10 bytes).
    pub fn key(&self) -> &[u8] {
        &self.key[..usize::from(self.len)]
    }

    #[inline]
    fn keep(&mut self, bytes: &[u8]) {
        if !self.keep {
            return;
        }
        let at = usize::from(self.len);
        match self.key.get_mut(at..at + bytes.len()) {
            Some(room) => {
                room.copy_from_slice(bytes);
                self.len += bytes.len() as u8;
            }
            None => self.len = 10,
        }
    }

    /// Reads on from `b[j]`: the index after the closing quote, or `None`
    /// when the string goes on past `b`.
    #[inline(always)]
    pub fn run(&mut self, b: &[u8], mut j: usize) -> Result<Option<usize>, &'static str> {
        loop {
            if self.esc || self.hex > 0 {
                // An escape cut by the end of a part: one byte at a time.
                let Some(&c) = b.get(j) else {
                    return Ok(None);
                };
                j += 1;
                if self.hex > 0 {
                    self.code = self.code * 16 + hex(c).ok_or(BAD_ESCAPE)?;
                    self.hex -= 1;
                    if self.hex == 0 {
                        self.keep_code();
                    }
                } else if c == b'u' {
                    (self.esc, self.hex, self.code) = (false, 4, 0);
                } else {
                    let e = escaped(c).ok_or(BAD_ESCAPE)?;
                    self.esc = false;
                    self.keep(&[e]);
                }
                continue;
            }
            let s = j;
            j = plain_run(b, j);
            if self.keep {
                self.keep(&b[s..j]);
            }
            match b.get(j) {
                None => return Ok(None),
                Some(b'"') => return Ok(Some(j + 1)),
                Some(b'\\') => match b.get(j + 1) {
                    Some(b'u') => match b.get(j + 2..j + 6) {
                        Some(d) => {
                            self.code = 0;
                            for &c in d {
                                self.code = self.code * 16 + hex(c).ok_or(BAD_ESCAPE)?;
                            }
                            self.keep_code();
                            j += 6;
                        }
                        None => {
                            (self.hex, self.code) = (4, 0);
                            j += 2;
                        }
                    },
                    Some(&c) => {
                        let e = escaped(c).ok_or(BAD_ESCAPE)?;
                        self.keep(&[e]);
                        j += 2;
                    }
                    None => {
                        self.esc = true;
                        j += 1;
                    }
                },
                Some(_) => return Err("control character in a string"),
            }
        }
    }

    fn keep_code(&mut self) {
        let c = u8::try_from(self.code)
            .ok()
            .filter(u8::is_ascii)
            .unwrap_or(0xFF);
        self.keep(&[c]);
    }

    /// Why the text may not end inside this string.
    pub fn unended(&self) -> &'static str {
        if self.esc || self.hex > 0 {
            BAD_ESCAPE
        } else {
            "unterminated string"
        }
    }
}

const BAD_ESCAPE: &str = "invalid escape in a string";
pub(super) const BAD_NUMBER: &str = "invalid number";

/// Where in a number's grammar the reader is.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum At {
    #[default]
    Start,
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    E,
    ESign,
    Exp,
}

/// A number being read: checks its grammar and, when asked, reads it as an
/// unsigned integer, truncating any fraction (exactly, for every value up to
/// `u64::MAX`); negative numbers and those too large read as none.
#[derive(Default)]
pub(super) struct Num {
    at: At,
    want: bool,
    neg: bool,
    // The value is digits × 10^shift: every digit while they fit in a u64 (so
    // integers are exact), the integer part's magnitude beyond.
    digits: u64,
    shift: i64,
    /// An integer digit did not fit: the integer part exceeds u64.
    lost: bool,
    frac: bool,
    exp: bool,
    exp_neg: bool,
    e: i64,
}

impl Num {
    /// A number starts (at its first character); `want`: read its value.
    #[inline]
    pub fn start(&mut self, want: bool) {
        self.at = At::Start;
        self.want = want;
        if want {
            *self = Num {
                want,
                ..Num::default()
            };
        }
    }

    /// A run of digits of the integer part, fraction or exponent.
    fn digits(&mut self, run: &[u8]) {
        for &c in run {
            self.digit(c);
        }
    }

    /// A digit of the integer part or fraction, or of the exponent.
    #[inline(always)]
    fn digit(&mut self, c: u8) {
        if !self.want {
            return;
        }
        if self.exp {
            self.e = (self.e * 10 + i64::from(c - b'0')).min(1_000);
            return;
        }
        match self
            .digits
            .checked_mul(10)
            .and_then(|d| d.checked_add(u64::from(c - b'0')))
        {
            Some(d) => {
                self.digits = d;
                if self.frac {
                    self.shift -= 1;
                }
            }
            None if !self.frac => {
                self.lost = true;
                self.shift += 1;
            }
            None => {}
        }
    }

    /// Reads on from `b[j]`: the index after the number (which ends before
    /// the first byte that cannot continue it), or `None` when it may go on
    /// past `b`.
    #[inline]
    pub fn run(&mut self, b: &[u8], mut j: usize) -> Result<Option<usize>, &'static str> {
        loop {
            // A run of digits at once.
            if matches!(self.at, At::Int | At::Frac | At::Exp) {
                let s = j;
                while b.get(j).is_some_and(u8::is_ascii_digit) {
                    j += 1;
                }
                if self.want {
                    self.digits(&b[s..j]);
                }
            }
            let Some(&c) = b.get(j) else {
                return Ok(None);
            };
            self.at = match (self.at, c) {
                (At::Start, b'-') => {
                    self.neg = true;
                    At::Minus
                }
                (At::Start | At::Minus, b'0') => At::Zero,
                (At::Start | At::Minus, b'1'..=b'9') => {
                    self.digits(core::slice::from_ref(&c));
                    At::Int
                }
                (At::Zero | At::Int, b'.') => {
                    self.frac = true;
                    At::Dot
                }
                (At::Dot, b'0'..=b'9') => {
                    self.digits(core::slice::from_ref(&c));
                    At::Frac
                }
                (At::Zero | At::Int | At::Frac, b'e' | b'E') => {
                    self.exp = true;
                    At::E
                }
                (At::E, b'+') => At::ESign,
                (At::E, b'-') => {
                    self.exp_neg = true;
                    At::ESign
                }
                (At::E | At::ESign, b'0'..=b'9') => {
                    self.digits(core::slice::from_ref(&c));
                    At::Exp
                }
                _ if self.complete() => return Ok(Some(j)),
                _ => return Err(BAD_NUMBER),
            };
            j += 1;
        }
    }

    /// The number read so far is a whole number.
    pub fn complete(&self) -> bool {
        matches!(self.at, At::Zero | At::Int | At::Frac | At::Exp)
    }

    /// The value of a complete number that was wanted.
    pub fn value(&self) -> Option<u64> {
        if !self.want || self.neg {
            return None;
        }
        let mut shift = self.shift;
        if self.exp {
            if self.lost && !self.exp_neg {
                return None;
            }
            shift += if self.exp_neg { -self.e } else { self.e };
        } else if self.lost {
            return None;
        }
        let mut v = self.digits;
        while shift < 0 && v > 0 {
            v /= 10;
            shift += 1;
        }
        while shift > 0 && v > 0 {
            v = v.checked_mul(10)?;
            shift -= 1;
        }
        Some(v)
    }
}

/// `true`, `false` or `null` being read.
#[derive(Default)]
pub(super) struct Lit {
    word: &'static [u8],
    at: usize,
}

impl Lit {
    /// A literal starts at `c`; `None` if no literal starts so.
    #[inline]
    pub fn start(&mut self, c: u8) -> Option<()> {
        self.word = match c {
            b't' => b"true",
            b'f' => b"false",
            b'n' => b"null",
            _ => return None,
        };
        self.at = 0;
        Some(())
    }

    /// Reads on from `b[j]`: the index after the literal, or `None` when it
    /// goes on past `b`.
    #[inline]
    pub fn run(&mut self, b: &[u8], mut j: usize) -> Result<Option<usize>, &'static str> {
        while let Some(&want) = self.word.get(self.at) {
            let Some(&c) = b.get(j) else {
                return Ok(None);
            };
            if c != want {
                return Err(BAD_VALUE);
            }
            self.at += 1;
            j += 1;
        }
        Ok(Some(j))
    }
}

pub(super) const BAD_VALUE: &str = "invalid JSON value";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_runs_stop_at_quotes_backslashes_and_controls() {
        for n in 0..20 {
            for stop in [b'"', b'\\', 0x00, 0x1f] {
                let mut t = vec![b'a'; n];
                t.extend_from_slice("é世".as_bytes());
                let at = t.len();
                t.push(stop);
                t.extend_from_slice(b"xyz\"");
                assert_eq!(plain_run(&t, 0), at, "{n} {stop}");
            }
            assert_eq!(plain_run(&vec![b' '; n], 0), n);
        }
    }
}
