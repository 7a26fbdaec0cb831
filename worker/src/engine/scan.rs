//! Splits a batch `JSON.stringify([e1, e2, …])` into its events, reading the
//! text in parts so that a large batch never needs to be in memory whole.
//!
//! `JSON.stringify` joins array elements with `,` and no whitespace, so each
//! element text is exactly `JSON.stringify(event)`. The scanner validates each
//! event as JSON (strings and escapes, numbers, literals, structure) without
//! building values, so an invalid event rejects the batch whole; it reads only
//! what the engine needs from each event — the top-level `type` and
//! `timestamp`, and `data.source` / `data.href` — and counts the event's length
//! in UTF-16 code units (what the host's size cap measures). Whitespace between
//! elements is tolerated and not part of an event's text.
//!
//! The text is a [`Text`]: its UTF-8 in parts (one part for a `&str`; the
//! wasm layer cuts a long JS string into parts). The [`Scanner`] is fed the
//! parts one after the other and may be cut anywhere, even inside a token or a
//! UTF-8 sequence; what it finds does not depend on where the cuts are. A
//! batch is read twice: [`split_batch`] finds and checks every event, then
//! [`walk`] hands each event's bytes to the caller, part by part.

use super::json::{dec, RawJson};
pub use super::lex::utf16_len;
use super::lex::{ws, Lit, Num, Str, BAD_NUMBER, BAD_VALUE};
use crate::prelude::*;
use alloc::borrow::Cow;

/// A text read in parts: part `i` (0, 1, …) is the next run of its UTF-8
/// bytes, `None` after the last. Reading the same part again gives the same
/// bytes.
pub trait Text {
    fn part(&self, i: usize) -> Option<Cow<'_, [u8]>>;
}

impl Text for str {
    fn part(&self, i: usize) -> Option<Cow<'_, [u8]>> {
        (i == 0).then_some(Cow::Borrowed(self.as_bytes()))
    }
}

impl Text for String {
    fn part(&self, i: usize) -> Option<Cow<'_, [u8]>> {
        self.as_str().part(i)
    }
}

impl<T: Text + ?Sized> Text for &T {
    fn part(&self, i: usize) -> Option<Cow<'_, [u8]>> {
        (**self).part(i)
    }
}

/// Where part `k` starts when a UTF-16 text of `len` units (`unit(i)` is the
/// unit at `i`) is cut into parts of `size` units: never between the two
/// halves of a surrogate pair (that part ends one unit early), so that each
/// part converts to UTF-8 on its own exactly as the whole text does — a lone
/// surrogate becomes U+FFFD either way.
pub fn utf16_cut(k: usize, size: u32, len: u32, unit: impl Fn(u32) -> u32) -> u32 {
    let at = (k as u64 * u64::from(size)).min(u64::from(len)) as u32;
    if at > 0 && at < len && unit(at - 1) >> 10 == 0x36 && unit(at) >> 10 == 0x37 {
        at - 1
    } else {
        at
    }
}

/// The range of part `k` of such a text, `None` after the last (a part may
/// be empty when `size` is 1 and a surrogate pair is at its start).
pub fn utf16_part(k: usize, size: u32, len: u32, unit: impl Fn(u32) -> u32) -> Option<(u32, u32)> {
    let a = utf16_cut(k, size, len, &unit);
    (a < len).then(|| (a, utf16_cut(k + 1, size, len, &unit)))
}

impl core::fmt::Debug for dyn Text + '_ {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Text")
    }
}

/// One event of a batch: its byte range in the batch's UTF-8 and what was read from it.
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
    /// The `data.href` string literal, quotes included.
    pub href: Option<RawJson>,
    /// `JSON.stringify(event).length` in the page.
    pub utf16: u64,
}

/// Splits a batch. On any error nothing is returned; the message says where.
pub fn split_batch<T: Text + ?Sized>(text: &T) -> Result<Vec<Scanned>, String> {
    let mut s = Scanner::default();
    let mut i = 0;
    while let Some(part) = text.part(i) {
        s.feed(&part)?;
        i += 1;
    }
    s.finish()
}

/// What [`walk`] hands over.
pub enum Step<'b> {
    /// Event `k` begins.
    Start,
    /// The next bytes of the event.
    Bytes(&'b [u8]),
    /// The event ended.
    End,
}

/// Hands the text of each event of `evs` (what [`split_batch`] found in
/// `text`) to `f`, in order: `Start`, its bytes in one or more runs (one per
/// part it spans), `End`. Stops when `f` returns false.
pub fn walk<T: Text + ?Sized>(
    text: &T,
    evs: &[Scanned],
    mut f: impl FnMut(&Scanned, Step<'_>) -> bool,
) {
    let (mut k, mut open, mut base, mut i) = (0, false, 0, 0);
    while k < evs.len() {
        let Some(part) = text.part(i) else {
            return;
        };
        i += 1;
        let end = base + part.len();
        while let Some(ev) = evs.get(k) {
            if !open {
                if ev.start >= end {
                    break;
                }
                if !f(ev, Step::Start) {
                    return;
                }
                open = true;
            }
            let s = ev.start.saturating_sub(base);
            let e = ev.end.min(end) - base;
            if e > s && !f(ev, Step::Bytes(&part[s..e])) {
                return;
            }
            if ev.end > end {
                break;
            }
            if !f(ev, Step::End) {
                return;
            }
            open = false;
            k += 1;
        }
        base = end;
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum Key {
    #[default]
    Other,
    Type,
    Timestamp,
    Data,
    Source,
    Href,
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

/// Where the scanner is in the batch's grammar.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum At {
    /// Before the array's `[`.
    #[default]
    Begin,
    /// After `[`: `]` or the first event.
    First,
    /// An event's `{` is due.
    Next,
    /// After an event: `,` or `]`.
    After,
    /// After `]`: only whitespace.
    Done,
    // Inside an event:
    /// A value is due (for `key`).
    Value,
    /// After `{`: `}` or a key.
    ObjFirst,
    /// After `[`: `]` or a value.
    ArrFirst,
    /// A key is due.
    KeyStart,
    /// In a key.
    Key,
    /// After a key: `:`.
    Colon,
    /// In a string value.
    Str,
    Num,
    Lit,
    /// After a value: `,` or a closing bracket.
    AfterValue,
}

/// The resumable batch scanner: [`Scanner::feed`] the parts of the text in
/// order, then [`Scanner::finish`].
#[derive(Default)]
pub struct Scanner {
    at: At,
    /// Bytes fed before the current part.
    base: usize,
    /// Byte after the array's `]`.
    closed_at: usize,
    out: Vec<Scanned>,
    // The event being read.
    /// The open containers: true for an object.
    stack: Vec<bool>,
    /// What the value about to be read is.
    key: Key,
    in_data: bool,
    start: usize,
    kind: Option<u64>,
    ts: Option<u64>,
    source: Option<u64>,
    href: Option<Vec<u8>>,
    utf16: u64,
    /// The `data.href` literal being read, so far.
    capture: Option<Vec<u8>>,
    // Indexes in the current part: where the event's bytes (for its UTF-16
    // length) and the literal being captured start in it.
    from: usize,
    cap_from: usize,
    s: Str,
    n: Num,
    lit: Lit,
}

impl Scanner {
    /// Reads the next part of the text.
    pub fn feed(&mut self, b: &[u8]) -> Result<(), String> {
        let mut i = 0;
        self.from = 0;
        self.cap_from = 0;
        loop {
            let at = self.at;
            match at {
                At::Begin | At::First | At::Next | At::After | At::Done => {
                    i = ws(b, i);
                    let Some(&c) = b.get(i) else {
                        break;
                    };
                    match (at, c) {
                        (At::Begin, b'[') => self.at = At::First,
                        (At::Begin, _) => return Err(NOT_ARRAY.into()),
                        (At::First | At::After, b']') => {
                            self.at = At::Done;
                            self.closed_at = self.base + i + 1;
                        }
                        (At::First, _) => {
                            self.at = At::Next;
                            continue;
                        }
                        (At::Next, b'{') => {
                            self.start = self.base + i;
                            self.from = i;
                            (self.kind, self.ts, self.source, self.href) = (None, None, None, None);
                            (self.utf16, self.in_data) = (0, false);
                            self.stack.clear();
                            self.stack.push(true);
                            self.at = At::ObjFirst;
                        }
                        (At::Next, _) => return Err(self.not_object(self.base + i)),
                        (At::After, b',') => self.at = At::Next,
                        (At::After, _) => return Err(self.no_comma(self.base + i)),
                        _ => return Err(self.trailing()),
                    }
                    i += 1;
                }
                _ => match self.event(b, i) {
                    Ok(Some(j)) => i = j,
                    Ok(None) => break,
                    Err(why) => return Err(self.bad_event(why)),
                },
            }
        }
        if self.in_event() {
            self.utf16 += utf16_len(&b[self.from..]);
            if let Some(c) = self.capture.as_mut() {
                c.extend_from_slice(&b[self.cap_from..]);
            }
        }
        self.base += b.len();
        Ok(())
    }

    /// The text ended: the events, or why the batch is rejected.
    pub fn finish(&mut self) -> Result<Vec<Scanned>, String> {
        Err(match self.at {
            At::Done => return Ok(core::mem::take(&mut self.out)),
            At::Begin => NOT_ARRAY.into(),
            At::First | At::Next => self.not_object(self.base),
            At::After => self.no_comma(self.base),
            At::Str | At::Key => self.bad_event(self.s.unended()),
            At::Num if !self.n.complete() => self.bad_event(BAD_NUMBER),
            At::Lit => self.bad_event(BAD_VALUE),
            At::ObjFirst | At::KeyStart => self.bad_event("expected a key"),
            At::Colon => self.bad_event("expected ':' after a key"),
            _ => self.bad_event("unterminated object"),
        })
    }

    fn in_event(&self) -> bool {
        !matches!(
            self.at,
            At::Begin | At::First | At::Next | At::After | At::Done
        )
    }

    fn bad_event(&self, why: &str) -> String {
        [
            "event ",
            &dec(self.out.len() as u64),
            " (starting at byte ",
            &dec(self.start as u64),
            "): ",
            why,
        ]
        .concat()
    }

    fn not_object(&self, at: usize) -> String {
        [
            "event ",
            &dec(self.out.len() as u64),
            " (byte ",
            &dec(at as u64),
            ") is not a JSON object",
        ]
        .concat()
    }

    fn no_comma(&self, at: usize) -> String {
        [
            "expected ',' or ']' after event ",
            &dec(self.out.len() as u64 - 1),
            " (byte ",
            &dec(at as u64),
            ")",
        ]
        .concat()
    }

    fn trailing(&self) -> String {
        [
            "unexpected text after the array (byte ",
            &dec(self.closed_at as u64),
            ")",
        ]
        .concat()
    }

    /// Reads the event on from `b[i]`: the index after it once it ended, or
    /// `None` at the end of the part. What the engine reads follows JSON's
    /// rule for repeated keys: the last one counts.
    #[inline]
    fn event(&mut self, b: &[u8], mut i: usize) -> Result<Option<usize>, &'static str> {
        // The state is kept here and stored when the part ends. The steps are
        // tested in the order in which they usually follow one another (a
        // value, what follows it, a key's start, its text, its colon, the next
        // value), so that the loop needs no jump table; strings and keys share
        // one copy of the string reader.
        let mut at = self.at;
        macro_rules! byte {
            () => {{
                i = ws(b, i);
                match b.get(i) {
                    Some(&c) => c,
                    None => {
                        self.at = at;
                        return Ok(None);
                    }
                }
            }};
        }
        macro_rules! cut {
            ($r:expr) => {
                match $r? {
                    Some(j) => j,
                    None => {
                        self.at = at;
                        return Ok(None);
                    }
                }
            };
        }
        loop {
            if at == At::Value {
                let c = byte!();
                // A value that is not what the engine reads clears what an earlier key set.
                match self.key {
                    Key::Type => self.kind = None,
                    Key::Timestamp => self.ts = None,
                    Key::Source => self.source = None,
                    Key::Href => self.href = None,
                    Key::Data => (self.source, self.href) = (None, None),
                    Key::Other => {}
                }
                match c {
                    b'"' => {
                        if self.key == Key::Href {
                            self.capture = Some(Vec::new());
                            self.cap_from = i;
                        }
                        self.s.start(false);
                        at = At::Str;
                        i += 1;
                    }
                    b'-' | b'0'..=b'9' => {
                        self.n
                            .start(matches!(self.key, Key::Type | Key::Timestamp | Key::Source));
                        at = At::Num;
                    }
                    b'{' | b'[' => {
                        if self.stack.len() >= MAX_DEPTH {
                            return Err("nested too deeply");
                        }
                        let obj = c == b'{';
                        if self.key == Key::Data {
                            self.in_data = obj;
                        }
                        self.stack.push(obj);
                        at = if obj { At::ObjFirst } else { At::ArrFirst };
                        i += 1;
                    }
                    _ => {
                        self.lit.start(c).ok_or(BAD_VALUE)?;
                        at = At::Lit;
                    }
                }
            }
            if at == At::Str || at == At::Key {
                i = cut!(self.s.run(b, i));
                if at == At::Key {
                    self.key = key_of(self.stack.len(), self.in_data, self.s.key());
                    at = At::Colon;
                } else {
                    if let Some(mut c) = self.capture.take() {
                        c.extend_from_slice(&b[self.cap_from..i]);
                        self.href = Some(c);
                    }
                    at = At::AfterValue;
                }
            } else if at == At::Num {
                i = cut!(self.n.run(b, i));
                self.number_read();
                at = At::AfterValue;
            } else if at == At::Lit {
                i = cut!(self.lit.run(b, i));
                at = At::AfterValue;
            }
            if at == At::AfterValue {
                let c = byte!();
                let obj = self.stack.last() == Some(&true);
                match c {
                    b',' => {
                        self.key = Key::Other;
                        at = if obj { At::KeyStart } else { At::Value };
                        i += 1;
                    }
                    b'}' if obj => {}
                    b']' if !obj => {}
                    _ => return Err("expected ',' or a closing bracket"),
                }
                if at == At::AfterValue {
                    // A container closes.
                    self.stack.pop();
                    i += 1;
                    match self.stack.len() {
                        0 => return self.event_read(b, i).map(Some),
                        1 => self.in_data = false,
                        _ => {}
                    }
                    continue;
                }
            } else if at == At::ObjFirst {
                let c = byte!();
                if c == b'}' {
                    at = At::AfterValue;
                    continue;
                }
                at = At::KeyStart;
            } else if at == At::ArrFirst {
                let c = byte!();
                at = At::Value;
                if c == b']' {
                    at = At::AfterValue;
                    continue;
                }
                self.key = Key::Other;
            }
            if at == At::KeyStart {
                if byte!() != b'"' {
                    return Err("expected a key");
                }
                self.s.start(self.stack.len() <= 2);
                at = At::Key;
                i += 1;
            }
            if at == At::Colon {
                if byte!() != b':' {
                    return Err("expected ':' after a key");
                }
                at = At::Value;
                i += 1;
            }
        }
    }

    fn number_read(&mut self) {
        let v = self.n.value();
        match self.key {
            Key::Type => self.kind = v,
            Key::Timestamp => self.ts = v,
            Key::Source => self.source = v,
            _ => {}
        }
    }

    /// The event's `}` ended at `b[i - 1]`.
    fn event_read(&mut self, b: &[u8], i: usize) -> Result<usize, &'static str> {
        let kind = self.kind.ok_or("no numeric top-level \"type\"")?;
        let timestamp = self.ts.ok_or("no numeric top-level \"timestamp\"")?;
        self.utf16 += utf16_len(&b[self.from..i]);
        self.out.push(Scanned {
            start: self.start,
            end: self.base + i,
            kind,
            timestamp,
            source: self.source,
            href: self
                .href
                .take()
                .and_then(|h| String::from_utf8(h).ok())
                .map(RawJson),
            utf16: self.utf16,
        });
        self.at = At::After;
        Ok(i)
    }
}

const NOT_ARRAY: &str = "events json must be a JSON array of rrweb events";

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
        assert_eq!(
            ev[0].href.as_ref().map(|h| h.0.as_str()),
            Some(r#""https://x/\"q\"""#)
        );
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

    /// A whole number text read as the scanner reads `type`, and where it ends.
    fn number(b: &[u8], i: usize) -> Option<(u64, usize)> {
        let mut n = Num::default();
        n.start(true);
        let end = match n.run(b, i).ok()? {
            Some(end) => end,
            None => b.len(),
        };
        n.complete().then_some(())?;
        n.value().map(|v| (v, end))
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
