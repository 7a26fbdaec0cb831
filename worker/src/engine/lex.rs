//! JSON lexing for the batch scanner: whitespace, strings (validated escapes, unescaping), numbers (validated
//! grammar, exact unsigned integer reading), and the UTF-16 length of a text. Nothing here builds a value; the
//! scanner (`scan.rs`) walks an event's structure with these.

use crate::prelude::*;
#[inline(always)]
pub(super) fn ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// UTF-16 code units of a UTF-8 text: one per scalar, two for those above U+FFFF.
/// ASCII runs are counted eight bytes at a time.
pub fn utf16_len(b: &[u8]) -> u64 {
    let unit = |c: &u8| u64::from(c & 0xC0 != 0x80) + u64::from(*c >= 0xF0);
    let mut n = 0;
    let mut words = b.chunks_exact(8);
    for w in &mut words {
        let mut a = [0u8; 8];
        a.copy_from_slice(w);
        if u64::from_le_bytes(a) & 0x8080_8080_8080_8080 == 0 {
            n += 8;
        } else {
            n += w.iter().map(unit).sum::<u64>();
        }
    }
    n + words.remainder().iter().map(unit).sum::<u64>()
}

/// Reads a JSON number at `i` as an unsigned integer, truncating any fraction
/// (exactly, for every value up to `u64::MAX`). Returns the value and the
/// index after the number; `None` for a negative number or one too large.
pub(super) fn number(b: &[u8], mut i: usize) -> Option<(u64, usize)> {
    if b.get(i) == Some(&b'-') {
        return None;
    }
    // The value is digits × 10^shift: every digit while they fit in a u64
    // (so integers are exact), the integer part's magnitude beyond.
    let mut digits: u64 = 0;
    let mut shift: i64 = 0;
    // An integer digit did not fit: the integer part exceeds u64.
    let mut lost = false;
    let mut seen = false;
    let mut frac = false;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                seen = true;
                match digits
                    .checked_mul(10)
                    .and_then(|d| d.checked_add(u64::from(c - b'0')))
                {
                    Some(d) => {
                        digits = d;
                        if frac {
                            shift -= 1;
                        }
                    }
                    None if !frac => {
                        lost = true;
                        shift += 1;
                    }
                    None => {}
                }
            }
            b'.' if !frac => frac = true,
            _ => break,
        }
        i += 1;
    }
    if !seen {
        return None;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        let neg = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let mut e: i64 = 0;
        let start = i;
        while let Some(&c @ b'0'..=b'9') = b.get(i) {
            e = (e * 10 + i64::from(c - b'0')).min(1_000);
            i += 1;
        }
        if i == start {
            return None;
        }
        if lost && !neg {
            return None;
        }
        shift += if neg { -e } else { e };
    } else if lost {
        return None;
    }
    let mut v = digits;
    while shift < 0 && v > 0 {
        v /= 10;
        shift += 1;
    }
    while shift > 0 && v > 0 {
        v = v.checked_mul(10)?;
        shift -= 1;
    }
    Some((v, i))
}

fn hex4(b: &[u8], i: usize) -> Option<u32> {
    let mut v = 0;
    for k in 0..4 {
        let d = char::from(*b.get(i + k)?).to_digit(16)?;
        v = v * 16 + d;
    }
    Some(v)
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
        let mut a = [0u8; 8];
        a.copy_from_slice(chunk);
        let w = u64::from_le_bytes(a);
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

/// A JSON string at `b[i] == '"'`: checks its escapes and characters and
/// returns the index after its closing quote.
#[inline(always)]
pub(super) fn string(b: &[u8], i: usize) -> Result<usize, &'static str> {
    let mut j = i + 1;
    loop {
        j = plain_run(b, j);
        match b.get(j) {
            None => return Err("unterminated string"),
            Some(b'"') => return Ok(j + 1),
            Some(b'\\') => match b.get(j + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => j += 2,
                Some(b'u') if hex4(b, j + 2).is_some() => j += 6,
                _ => return Err("invalid escape in a string"),
            },
            Some(0..=0x1f) => return Err("control character in a string"),
            Some(_) => j += 1,
        }
    }
}

/// A key's text with its escapes decoded far enough to compare it with the
/// engine's ASCII key names: an escape of a non-ASCII character becomes a byte
/// that no name has. Runs only for keys that contain a backslash.
pub(super) fn unescape(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let e = raw.get(i + 1).copied().unwrap_or(b'\\');
        i += 2;
        out.push(match e {
            b'u' => {
                let v = hex4(raw, i).unwrap_or(0xFFFF);
                i += 4;
                u8::try_from(v).ok().filter(u8::is_ascii).unwrap_or(0xFF)
            }
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            other => other,
        });
    }
    out
}

/// A JSON number at `i`: checks its grammar and returns the index after it.
#[inline]
pub(super) fn number_end(b: &[u8], mut i: usize) -> Result<usize, &'static str> {
    let digits = |b: &[u8], mut i: usize| {
        let s = i;
        while matches!(b.get(i), Some(b'0'..=b'9')) {
            i += 1;
        }
        (i > s).then_some(i)
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    i = match b.get(i) {
        Some(b'0') => i + 1,
        Some(b'1'..=b'9') => digits(b, i).ok_or("invalid number")?,
        _ => return Err("invalid number"),
    };
    if b.get(i) == Some(&b'.') {
        i = digits(b, i + 1).ok_or("invalid number")?;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        i = digits(b, i).ok_or("invalid number")?;
    }
    Ok(i)
}

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
