//! Splits a batch `JSON.stringify([e1, e2, …])` into the texts of its events.
//!
//! `JSON.stringify` joins array elements with `,` and no whitespace, so each
//! element text is exactly `JSON.stringify(event)`. The scanner tracks strings,
//! escapes and nesting (with bracket matching) rather than parsing values: it
//! reads only what the engine needs from each event — the top-level `type` and
//! `timestamp`, and `data.source` / `data.href` — and counts the event's length
//! in UTF-16 code units (what the host's size cap measures). Whitespace between
//! elements is tolerated and not part of an event's text.

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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Other,
    Type,
    Timestamp,
    Data,
    Source,
    Href,
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// UTF-16 code units of a UTF-8 text: one per scalar, two for those above U+FFFF.
pub fn utf16_len(b: &[u8]) -> u64 {
    b.iter()
        .map(|&c| u64::from(c & 0xC0 != 0x80) + u64::from(c >= 0xF0))
        .sum()
}

/// Reads a JSON number at `i` as an unsigned integer, truncating any fraction.
/// Returns the value and the index after the number.
fn number(b: &[u8], mut i: usize) -> Option<(u64, usize)> {
    if b.get(i) == Some(&b'-') {
        return None;
    }
    let mut digits: u64 = 0;
    let mut shift: i64 = 0; // digits × 10^shift
    let mut seen = false;
    let mut frac = false;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                seen = true;
                if digits < 1_000_000_000_000_000_000 {
                    digits = digits * 10 + u64::from(c - b'0');
                    if frac {
                        shift -= 1;
                    }
                } else if !frac {
                    shift += 1;
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
        shift += if neg { -e } else { e };
    }
    let mut v = digits;
    while shift < 0 {
        v /= 10;
        shift += 1;
    }
    while shift > 0 {
        v = v.checked_mul(10)?;
        shift -= 1;
    }
    Some((v, i))
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
                return Err(format!(
                    "event {} (byte {i}) is not a JSON object",
                    out.len()
                ));
            }
            let ev = scan_event(b, i)
                .map_err(|why| format!("event {} (starting at byte {i}): {why}", out.len()))?;
            i = ws(b, ev.end);
            out.push(ev);
            match b.get(i) {
                Some(b',') => i = ws(b, i + 1),
                Some(b']') => {
                    i += 1;
                    break;
                }
                _ => {
                    return Err(format!(
                        "expected ',' or ']' after event {} (byte {i})",
                        out.len() - 1
                    ))
                }
            }
        }
    }
    if ws(b, i) != b.len() {
        return Err(format!("unexpected text after the array (byte {i})"));
    }
    Ok(out)
}

fn key_of(depth: usize, in_data: bool, k: &[u8]) -> Key {
    match (depth, k) {
        (1, b"type") => Key::Type,
        (1, b"timestamp") => Key::Timestamp,
        (1, b"data") => Key::Data,
        (2, b"source") if in_data => Key::Source,
        (2, b"href") if in_data => Key::Href,
        _ => Key::Other,
    }
}

fn scan_event(b: &[u8], start: usize) -> Result<Scanned, &'static str> {
    let mut stack: Vec<u8> = Vec::with_capacity(16);
    let mut expect_key = false;
    let mut key = Key::Other; // key whose value comes next
    let mut data_key_at_1 = false; // the current depth-1 key is "data"
    let mut in_data = false;
    let (mut kind, mut ts, mut source, mut href) = (None, None, None, None);
    let mut i = start;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' => {
                let s = i + 1;
                let mut j = s;
                loop {
                    match b.get(j) {
                        None => return Err("unterminated string"),
                        Some(b'"') => break,
                        Some(b'\\') => j += 2,
                        Some(0..=0x1f) => return Err("control character in a string"),
                        Some(_) => j += 1,
                    }
                }
                if expect_key {
                    key = key_of(stack.len(), in_data, &b[s..j]);
                    if stack.len() == 1 {
                        data_key_at_1 = key == Key::Data;
                    }
                    expect_key = false;
                } else {
                    if key == Key::Href {
                        href = Some((i, j + 1));
                    }
                    key = Key::Other;
                }
                i = j + 1;
                continue;
            }
            b'{' | b'[' => {
                if c == b'{' && stack.len() == 1 && data_key_at_1 {
                    in_data = true;
                }
                if stack.len() >= 10_000 {
                    return Err("nested too deeply");
                }
                stack.push(c);
                expect_key = c == b'{';
                key = Key::Other;
            }
            b'}' | b']' => {
                let open = if c == b'}' { b'{' } else { b'[' };
                if stack.pop() != Some(open) {
                    return Err("mismatched brackets");
                }
                key = Key::Other;
                if stack.len() == 1 {
                    in_data = false;
                    data_key_at_1 = false;
                }
                if stack.is_empty() {
                    i += 1;
                    break;
                }
            }
            b',' => {
                expect_key = stack.last() == Some(&b'{');
                key = Key::Other;
            }
            b':' => {}
            b'0'..=b'9' | b'-' => {
                let field = match key {
                    Key::Type => Some(&mut kind),
                    Key::Timestamp => Some(&mut ts),
                    Key::Source => Some(&mut source),
                    _ => None,
                };
                let mut j = i + 1;
                if let Some(slot) = field {
                    if let Some((v, e)) = number(b, i) {
                        *slot = Some(v);
                        j = e;
                    }
                }
                while j < b.len() && matches!(b[j], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    j += 1;
                }
                key = Key::Other;
                i = j;
                continue;
            }
            b' ' | b'\t' | b'\n' | b'\r' => {}
            // true, false, null: the value is not one the engine reads.
            _ => key = Key::Other,
        }
        i += 1;
    }
    if !stack.is_empty() {
        return Err("unterminated object");
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
    }

    #[test]
    fn utf16_counts_like_js() {
        assert_eq!(utf16_len("aé世🎉".as_bytes()), 5);
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
    }
}
