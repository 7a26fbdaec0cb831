//! Splits a batch `JSON.stringify([e1, e2, …])` into the texts of its events.
//!
//! `JSON.stringify` joins array elements with `,` and no whitespace, so each
//! element text is exactly `JSON.stringify(event)`. The scanner validates each
//! event as JSON (strings and escapes, numbers, literals, structure) without
//! building values, so an invalid event rejects the batch whole; it reads only
//! what the engine needs from each event — the top-level `type` and
//! `timestamp`, and `data.source` / `data.href` — and counts the event's length
//! in UTF-16 code units (what the host's size cap measures). Whitespace between
//! elements is tolerated and not part of an event's text.

use crate::prelude::*;
/// One event of a batch: its byte range in the batch text and what was read from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    pub start: usize,
    pub end: usize,
    /// rrweb event type (4 = Meta).
    pub kind: u64,
    /// Milliseconds, fraction truncated.
    pub timestamp: u64,
    /// `data.source` when present as a number.
    pub source: Option<u64>,
    /// Byte range of the `data.href` string literal, quotes included.
    pub href: Option<(usize, usize)>,
    /// `JSON.stringify(event).length` in the page.
    pub utf16: u64,
}

use super::json::dec;
pub use super::lex::utf16_len;
use super::lex::{number, number_end, string, unescape, ws};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Other,
    Type,
    Timestamp,
    Data,
    Source,
    Href,
}

/// Splits a batch. On any error nothing is returned; the message says where.
pub fn split_batch(text: &str) -> Result<Vec<Scanned>, String> {
    let b = text.as_bytes();
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'[') {
        return Err("events json must be a JSON array of rrweb events".into());
    }
    i = ws(b, i + 1);
    let mut out = Vec::new();
    if b.get(i) == Some(&b']') {
        i += 1;
    } else {
        loop {
            if b.get(i) != Some(&b'{') {
                return Err([
                    "event ",
                    &dec(out.len() as u64),
                    " (byte ",
                    &dec(i as u64),
                    ") is not a JSON object",
                ]
                .concat());
            }
            let ev = scan_event(b, i).map_err(|why| {
                [
                    "event ",
                    &dec(out.len() as u64),
                    " (starting at byte ",
                    &dec(i as u64),
                    "): ",
                    why,
                ]
                .concat()
            })?;
            i = ws(b, ev.end);
            out.push(ev);
            match b.get(i) {
                Some(b',') => i = ws(b, i + 1),
                Some(b']') => {
                    i += 1;
                    break;
                }
                _ => {
                    return Err([
                        "expected ',' or ']' after event ",
                        &dec(out.len() as u64 - 1),
                        " (byte ",
                        &dec(i as u64),
                        ")",
                    ]
                    .concat())
                }
            }
        }
    }
    if ws(b, i) != b.len() {
        return Err([
            "unexpected text after the array (byte ",
            &dec(i as u64),
            ")",
        ]
        .concat());
    }
    Ok(out)
}

#[inline]
fn key_of(depth: usize, in_data: bool, k: &[u8]) -> Key {
    if depth > 2 || k.len() > 9 {
        return Key::Other;
    }
    match (depth, k) {
        (1, b"type") => Key::Type,
        (1, b"timestamp") => Key::Timestamp,
        (1, b"data") => Key::Data,
        (2, b"source") if in_data => Key::Source,
        (2, b"href") if in_data => Key::Href,
        _ => Key::Other,
    }
}

/// How deep an event may nest.
const MAX_DEPTH: usize = 10_000;

/// An object key at `i` (after whitespace) and its `:`; returns what it
/// names and the index after the colon.
#[inline]
fn key_at(b: &[u8], i: usize, depth: usize, in_data: bool) -> Result<(Key, usize), &'static str> {
    let i = ws(b, i);
    if b.get(i) != Some(&b'"') {
        return Err("expected a key");
    }
    let end = string(b, i)?;
    let raw = &b[i + 1..end - 1];
    let key = if raw.contains(&b'\\') {
        key_of(depth, in_data, &unescape(raw))
    } else {
        key_of(depth, in_data, raw)
    };
    let j = ws(b, end);
    if b.get(j) != Some(&b':') {
        return Err("expected ':' after a key");
    }
    Ok((key, j + 1))
}

/// One event: a complete JSON object at `b[start] == '{'`, validated as JSON
/// (strings and their escapes, numbers, literals, structure). What the engine
/// reads follows JSON's rule for repeated keys: the last one counts.
fn scan_event(b: &[u8], start: usize) -> Result<Scanned, &'static str> {
    // The open containers: true for an object.
    let mut stack: Vec<bool> = Vec::with_capacity(16);
    let (mut kind, mut ts, mut source, mut href) = (None, None, None, None);
    let mut in_data = false;
    let mut key = Key::Other; // what the value about to be read is
    let mut i = start;
    'value: loop {
        i = ws(b, i);
        let c = *b.get(i).ok_or("unterminated object")?;
        let k = key;
        // A value that is not what the engine reads clears what an earlier key set.
        let num = match c {
            b'-' | b'0'..=b'9' => {
                let end = number_end(b, i)?;
                let v = match k {
                    Key::Type | Key::Timestamp | Key::Source => number(b, i).map(|(v, _)| v),
                    _ => None,
                };
                i = end;
                v
            }
            _ => None,
        };
        match k {
            Key::Type => kind = num,
            Key::Timestamp => ts = num,
            Key::Source => source = num,
            Key::Href => href = None,
            Key::Data => {
                source = None;
                href = None;
            }
            Key::Other => {}
        }
        match c {
            b'-' | b'0'..=b'9' => {}
            b'"' => {
                let end = string(b, i)?;
                if k == Key::Href {
                    href = Some((i, end));
                }
                i = end;
            }
            b'{' | b'[' => {
                if stack.len() >= MAX_DEPTH {
                    return Err("nested too deeply");
                }
                let obj = c == b'{';
                if k == Key::Data {
                    in_data = obj;
                }
                stack.push(obj);
                let j = ws(b, i + 1);
                let close = if obj { b'}' } else { b']' };
                if b.get(j) != Some(&close) {
                    if obj {
                        (key, i) = key_at(b, j, stack.len(), in_data)?;
                    } else {
                        (key, i) = (Key::Other, j);
                    }
                    continue 'value;
                }
                // Empty: closed below.
                i = j;
            }
            b't' if b[i..].starts_with(b"true") => i += 4,
            b'f' if b[i..].starts_with(b"false") => i += 5,
            b'n' if b[i..].starts_with(b"null") => i += 4,
            _ => return Err("invalid JSON value"),
        }
        // After a value: close containers, or go on after a comma.
        loop {
            let Some(&obj) = stack.last() else {
                break 'value;
            };
            i = ws(b, i);
            match b.get(i) {
                Some(b',') if obj => {
                    (key, i) = key_at(b, i + 1, stack.len(), in_data)?;
                    continue 'value;
                }
                Some(b',') => {
                    (key, i) = (Key::Other, i + 1);
                    continue 'value;
                }
                Some(b'}') if obj => {}
                Some(b']') if !obj => {}
                None => return Err("unterminated object"),
                _ => return Err("expected ',' or a closing bracket"),
            }
            stack.pop();
            i += 1;
            if stack.len() == 1 {
                in_data = false;
            }
        }
    }
    let kind = kind.ok_or("no numeric top-level \"type\"")?;
    let timestamp = ts.ok_or("no numeric top-level \"timestamp\"")?;
    Ok(Scanned {
        start,
        end: i,
        kind,
        timestamp,
        source,
        href,
        utf16: utf16_len(&b[start..i]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(batch: &str) -> Vec<&str> {
        split_batch(batch)
            .unwrap()
            .iter()
            .map(|e| &batch[e.start..e.end])
            .collect()
    }

    #[test]
    fn splits_like_json_stringify_joins() {
        let a =
            r#"{"type":4,"data":{"href":"https://x/\"q\"","width":1},"timestamp":1700000000000}"#;
        let b = r#"{"type":3,"data":{"source":2,"x":[1,{"source":9}],"s":"}],\\"},"timestamp":1700000000001.5}"#;
        let batch = format!("[{a},{b}]");
        assert_eq!(texts(&batch), vec![a, b]);
        let ev = split_batch(&batch).unwrap();
        assert_eq!(
            (ev[0].kind, ev[0].timestamp, ev[0].source),
            (4, 1_700_000_000_000, None)
        );
        let (hs, he) = ev[0].href.unwrap();
        assert_eq!(&batch[hs..he], r#""https://x/\"q\"""#);
        assert_eq!(
            (ev[1].kind, ev[1].timestamp, ev[1].source),
            (3, 1_700_000_000_001, Some(2))
        );
        assert_eq!(ev[1].href, None);
        assert_eq!(texts("[]"), Vec::<&str>::new());
        assert_eq!(
            texts(" [ {\"type\":1,\"timestamp\":2} ] "),
            vec!["{\"type\":1,\"timestamp\":2}"]
        );
    }

    #[test]
    fn nested_keys_do_not_count() {
        let e = r#"{"data":{"node":{"type":2,"timestamp":5,"source":7}},"type":3,"timestamp":9}"#;
        let ev = split_batch(&format!("[{e}]")).unwrap();
        assert_eq!((ev[0].kind, ev[0].timestamp, ev[0].source), (3, 9, None));
    }

    #[test]
    fn numbers() {
        assert_eq!(number(b"123", 0), Some((123, 3)));
        assert_eq!(number(b"1.7e12", 0), Some((1_700_000_000_000, 6)));
        assert_eq!(number(b"17.99", 0), Some((17, 5)));
        assert_eq!(number(b"-1", 0), None);
        assert_eq!(number(b"1e400", 0), None);
        assert_eq!(number(b"18446744073709551615", 0), Some((u64::MAX, 20)));
        assert_eq!(number(b"18446744073709551616", 0), None);
        assert_eq!(
            number(b"10001000000000000001.9", 0),
            Some((10_001_000_000_000_000_001, 22))
        );
        assert_eq!(number(b"0e999", 0), Some((0, 5)));
        assert_eq!(number(b"5e-999", 0), Some((0, 6)));
    }

    #[test]
    fn utf16_counts_like_js() {
        assert_eq!(utf16_len("aé世🎉".as_bytes()), 5);
        for pre in 0..17 {
            let t = format!("{}aé世🎉{}", "x".repeat(pre), "y".repeat(pre % 5));
            assert_eq!(
                utf16_len(t.as_bytes()),
                t.encode_utf16().count() as u64,
                "{t}"
            );
        }
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "{}",
            "[",
            "[{]",
            "[{\"type\":1,\"timestamp\":2}",
            "[{\"type\":1,\"timestamp\":2},]",
            "[{\"type\":1,\"timestamp\":2}]x",
            "[1]",
            "[{\"timestamp\":2}]",
            "[{\"type\":1}]",
            "[{\"type\":\"4\",\"timestamp\":2}]",
            "[{\"type\":1,\"timestamp\":-2}]",
            "[{\"type\":1,\"timestamp\":2,\"a\":\"x}]",
            "[{\"type\":1,\"timestamp\":2,\"a\":[}]",
            "[{\"type\":1,\"timestamp\":2} {\"type\":1,\"timestamp\":2}]",
        ] {
            assert!(split_batch(bad).is_err(), "{bad}");
        }
        // What the scanner skips is JSON too.
        for bad_value in [
            r#""\x""#,
            r#""\u12G4""#,
            "01",
            "1.",
            ".5",
            "-",
            "+1",
            "1e",
            "tru",
            "nul",
            "truex",
            "nulll",
            "[1,]",
            "[,1]",
            "{\"a\" 1}",
            "{\"a\":1,,\"b\":2}",
            "{,\"a\":1}",
            "{\"a\":}",
            "{1:2}",
            "[1 2]",
            "undefined",
            "NaN",
            "'x'",
        ] {
            let batch = format!("[{{\"type\":1,\"timestamp\":2,\"a\":{bad_value}}}]");
            assert!(split_batch(&batch).is_err(), "{batch}");
        }
        for good_value in [
            r#""\u12aB\n\/""#,
            "0",
            "-0.5e+3",
            "1E-2",
            "true",
            "false",
            "null",
            "[]",
            "{}",
            "[[],{}]",
            " { \"b\" : [ 1 , 2 ] } ",
        ] {
            let batch = format!("[{{\"type\":1,\"timestamp\":2,\"a\":{good_value}}}]");
            assert!(split_batch(&batch).is_ok(), "{batch}");
        }
    }

    #[test]
    fn the_last_of_repeated_keys_counts() {
        let read = |e: &str| split_batch(&format!("[{e}]")).map(|v| (v[0].kind, v[0].source));
        assert!(read(r#"{"type":3,"type":"x","timestamp":1}"#).is_err());
        assert_eq!(
            read(r#"{"type":"x","type":3,"timestamp":1}"#),
            Ok((3, None))
        );
        assert_eq!(
            read(r#"{"type":3,"timestamp":1,"data":{"source":2},"data":[]}"#),
            Ok((3, None))
        );
        assert_eq!(
            read(r#"{"type":3,"timestamp":1,"data":{"source":2,"source":5}}"#),
            Ok((3, Some(5)))
        );
        // An escaped key names the same field.
        assert_eq!(
            read(r#"{"typ\u0065":4,"timestamp":1,"d\u0061ta":{"sourc\u0065":6}}"#),
            Ok((4, Some(6)))
        );
    }
}
