//! Just enough JSON for the engine, without serde and without float formatting
//! (`f64` Display alone costs ~14 KB of wasm):
//! - one object writer ([`Obj`]: string, integer, seconds, date and raw
//!   fields) and one array writer ([`push_raw_list`]) over one string escaper
//!   ([`push_str`]) and the hex table [`HEX`]; millisecond timestamps are
//!   written as seconds (`1700000000.123`) and ISO-8601 dates;
//! - a parser for the flat objects the engine itself writes (the persisted
//!   session): string values without escapes and unsigned integers only.

use crate::prelude::*;
/// Appends bytes. Kept out of line: the envelope writer calls it dozens of
/// times and inlined copies cost more wasm than the call.
#[inline(never)]
pub fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
}

/// Appends the decimal digits of `n`.
pub fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    put(out, &buf[i..]);
}

/// The decimal digits of `n`, for messages (no `core::fmt`).
pub fn dec(n: u64) -> String {
    let mut out = Vec::new();
    push_u64(&mut out, n);
    out.into_iter().map(char::from).collect()
}

/// Appends `ms` as seconds with three decimals: `1700000000123` → `1700000000.123`.
pub fn push_secs(out: &mut Vec<u8>, ms: u64) {
    push_u64(out, ms / 1000);
    let r = ms % 1000;
    out.extend_from_slice(&[
        b'.',
        b'0' + (r / 100) as u8,
        b'0' + (r / 10 % 10) as u8,
        b'0' + (r % 10) as u8,
    ]);
}

fn push_2(out: &mut Vec<u8>, n: u64) {
    out.push(b'0' + (n / 10 % 10) as u8);
    out.push(b'0' + (n % 10) as u8);
}

/// Appends `ms` since the Unix epoch as ISO-8601 UTC: `2023-11-14T22:13:20.123Z`.
pub fn push_iso8601(out: &mut Vec<u8>, ms: u64) {
    let secs = ms / 1000;
    let days = secs / 86_400;
    let sod = secs % 86_400;
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm, unsigned form).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    push_u64(out, year);
    out.push(b'-');
    push_2(out, month);
    out.push(b'-');
    push_2(out, day);
    out.push(b'T');
    push_2(out, sod / 3600);
    out.push(b':');
    push_2(out, sod / 60 % 60);
    out.push(b':');
    push_2(out, sod % 60);
    out.push(b'.');
    let r = ms % 1000;
    out.push(b'0' + (r / 100) as u8);
    push_2(out, r % 100);
    out.push(b'Z');
}

/// Lowercase hex digits (string escapes, replay ids).
pub const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` as a JSON string literal (quotes included).
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 15)]);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// A JSON text that is already valid JSON (for example a string literal copied
/// from an event); appended verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawJson(pub String);

/// Appends `["a","b",…]` from raw JSON string literals.
pub fn push_raw_list(out: &mut Vec<u8>, items: &[RawJson]) {
    out.push(b'[');
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(it.0.as_bytes());
    }
    out.push(b']');
}

/// Writes one JSON object `{"k":v,…}` field by field; keys are the engine's
/// own ASCII names (written unescaped). [`Obj::close`] writes the `}`.
pub struct Obj<'a> {
    out: &'a mut Vec<u8>,
    fields: usize,
}

impl<'a> Obj<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Obj<'a> {
        out.push(b'{');
        Obj { out, fields: 0 }
    }

    #[inline(never)]
    fn key(&mut self, k: &str) -> &mut Vec<u8> {
        if self.fields > 0 {
            self.out.push(b',');
        }
        self.fields += 1;
        self.out.push(b'"');
        put(self.out, k.as_bytes());
        put(self.out, b"\":");
        self.out
    }

    /// A string field (escaped).
    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        push_str(self.key(k), v);
        self
    }

    /// An unsigned integer field.
    pub fn int(&mut self, k: &str, n: u64) -> &mut Self {
        push_u64(self.key(k), n);
        self
    }

    /// Milliseconds written as seconds with three decimals.
    pub fn secs(&mut self, k: &str, ms: u64) -> &mut Self {
        push_secs(self.key(k), ms);
        self
    }

    /// Milliseconds since the epoch as an ISO-8601 string.
    pub fn date(&mut self, k: &str, ms: u64) -> &mut Self {
        let o = self.key(k);
        o.push(b'"');
        push_iso8601(o, ms);
        o.push(b'"');
        self
    }

    /// A field whose value is already JSON.
    pub fn raw(&mut self, k: &str, json: &[u8]) -> &mut Self {
        put(self.key(k), json);
        self
    }

    /// An array of JSON texts.
    pub fn list(&mut self, k: &str, items: &[RawJson]) -> &mut Self {
        push_raw_list(self.key(k), items);
        self
    }

    pub fn close(self) {
        self.out.push(b'}');
    }
}

/// A value of a flat object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flat<'a> {
    Str(&'a str),
    Int(u64),
}

/// Parses `{"k":"v","n":12,…}` where strings contain no escapes and numbers are
/// unsigned integers. `None` for anything else.
pub fn parse_flat(s: &str) -> Option<Vec<(&str, Flat<'_>)>> {
    let b = s.as_bytes();
    let ws = |mut i: usize| {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        i
    };
    let string = |i: usize| -> Option<(&str, usize)> {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let end = i + 1 + b.get(i + 1..)?.iter().position(|&c| c == b'"')?;
        let v = s.get(i + 1..end)?;
        if v.bytes().any(|c| c == b'\\' || c < 0x20) {
            return None;
        }
        Some((v, end + 1))
    };
    let mut out = Vec::new();
    let mut i = ws(0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(i + 1);
    if b.get(i) == Some(&b'}') {
        return (ws(i + 1) == b.len()).then_some(out);
    }
    loop {
        let (k, j) = string(i)?;
        i = ws(j);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = ws(i + 1);
        let v = if b.get(i) == Some(&b'"') {
            let (v, j) = string(i)?;
            i = j;
            Flat::Str(v)
        } else {
            let start = i;
            let mut n: u64 = 0;
            while let Some(d @ b'0'..=b'9') = b.get(i) {
                // JSON has no leading zeros (`01`).
                if n == 0 && i > start {
                    return None;
                }
                n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
                i += 1;
            }
            if i == start {
                return None;
            }
            Flat::Int(n)
        };
        out.push((k, v));
        i = ws(i);
        match b.get(i) {
            Some(b',') => i = ws(i + 1),
            Some(b'}') => return (ws(i + 1) == b.len()).then_some(out),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl Fn(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn numbers_and_times() {
        assert_eq!(s(|o| push_u64(o, 0)), "0");
        assert_eq!(s(|o| push_u64(o, u64::MAX)), "18446744073709551615");
        assert_eq!(s(|o| push_secs(o, 1_700_000_000_123)), "1700000000.123");
        assert_eq!(s(|o| push_secs(o, 5)), "0.005");
        assert_eq!(s(|o| push_iso8601(o, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            s(|o| push_iso8601(o, 1_700_000_000_123)),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            s(|o| push_iso8601(o, 951_782_400_000)),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            s(|o| push_iso8601(o, 4_102_444_799_999)),
            "2099-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn strings_escape() {
        assert_eq!(
            s(|o| push_str(o, "a\"b\\c\nd\u{1}é")),
            "\"a\\\"b\\\\c\\nd\\u0001é\""
        );
    }

    #[test]
    fn objects() {
        let got = s(|o| {
            let mut w = Obj::new(o);
            w.str("a", "x\"y")
                .int("n", 12)
                .secs("t", 1_500)
                .date("d", 0)
                .raw("r", b"{}")
                .list("l", &[RawJson("\"u\"".into())]);
            w.close();
        });
        assert_eq!(
            got,
            r#"{"a":"x\"y","n":12,"t":1.500,"d":"1970-01-01T00:00:00.000Z","r":{},"l":["u"]}"#
        );
        assert_eq!(s(|o| Obj::new(o).close()), "{}");
    }

    #[test]
    fn flat_objects() {
        let v = parse_flat(r#" {"a":"x", "n": 12 ,"z":""} "#).unwrap();
        assert_eq!(
            v,
            vec![
                ("a", Flat::Str("x")),
                ("n", Flat::Int(12)),
                ("z", Flat::Str(""))
            ]
        );
        assert_eq!(parse_flat("{}").unwrap(), vec![]);
        for bad in [
            "",
            "{",
            "{\"a\":}",
            "{\"a\":-1}",
            "{\"a\":\"\\n\"}",
            "{\"a\":1}x",
            "[1]",
            "{\"a\":1,}",
            "{\"a\":99999999999999999999}",
            "{\"a\":01}",
        ] {
            assert!(parse_flat(bad).is_none(), "{bad}");
        }
    }
}
