//! Helpers for the engine tests: a strict JSON parser, a strict envelope
//! parser, synthetic events and the corpus reader.
#![allow(dead_code)]

use ringflate::engine::{Config, Engine, Kind, Output, Segment, Target, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{BufRead, Read};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

#[derive(Debug, Clone, PartialEq)]
pub enum J {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    pub fn get(&self, k: &str) -> &J {
        match self {
            J::Obj(v) => v
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v)
                .unwrap_or(&J::Null),
            _ => &J::Null,
        }
    }
    pub fn has(&self, k: &str) -> bool {
        matches!(self, J::Obj(v) if v.iter().any(|(n, _)| n == k))
    }
    pub fn s(&self) -> &str {
        match self {
            J::Str(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }
    pub fn n(&self) -> f64 {
        match self {
            J::Num(n) => *n,
            other => panic!("not a number: {other:?}"),
        }
    }
    pub fn arr(&self) -> &[J] {
        match self {
            J::Arr(a) => a,
            other => panic!("not an array: {other:?}"),
        }
    }
}

/// Strict JSON (RFC 8259) parser: the whole text must be one value.
pub fn parse_json(text: &str) -> Result<J, String> {
    let b = text.as_bytes();
    let mut i = 0;
    let v = value(b, &mut i)?;
    ws(b, &mut i);
    if i != b.len() {
        return Err(format!("trailing text at {i}"));
    }
    Ok(v)
}

fn ws(b: &[u8], i: &mut usize) {
    while *i < b.len() && matches!(b[*i], b' ' | b'\t' | b'\n' | b'\r') {
        *i += 1;
    }
}

fn value(b: &[u8], i: &mut usize) -> Result<J, String> {
    ws(b, i);
    match b.get(*i) {
        Some(b'{') => {
            *i += 1;
            let mut v = Vec::new();
            ws(b, i);
            if b.get(*i) == Some(&b'}') {
                *i += 1;
                return Ok(J::Obj(v));
            }
            loop {
                ws(b, i);
                let J::Str(k) = string(b, i)? else {
                    unreachable!()
                };
                ws(b, i);
                if b.get(*i) != Some(&b':') {
                    return Err(format!("expected : at {i}"));
                }
                *i += 1;
                v.push((k, value(b, i)?));
                ws(b, i);
                match b.get(*i) {
                    Some(b',') => *i += 1,
                    Some(b'}') => {
                        *i += 1;
                        return Ok(J::Obj(v));
                    }
                    _ => return Err(format!("expected , or }} at {i}")),
                }
            }
        }
        Some(b'[') => {
            *i += 1;
            let mut v = Vec::new();
            ws(b, i);
            if b.get(*i) == Some(&b']') {
                *i += 1;
                return Ok(J::Arr(v));
            }
            loop {
                v.push(value(b, i)?);
                ws(b, i);
                match b.get(*i) {
                    Some(b',') => *i += 1,
                    Some(b']') => {
                        *i += 1;
                        return Ok(J::Arr(v));
                    }
                    _ => return Err(format!("expected , or ] at {i}")),
                }
            }
        }
        Some(b'"') => string(b, i),
        Some(b't') if b[*i..].starts_with(b"true") => {
            *i += 4;
            Ok(J::Bool(true))
        }
        Some(b'f') if b[*i..].starts_with(b"false") => {
            *i += 5;
            Ok(J::Bool(false))
        }
        Some(b'n') if b[*i..].starts_with(b"null") => {
            *i += 4;
            Ok(J::Null)
        }
        Some(b'-' | b'0'..=b'9') => {
            let s = *i;
            if b[*i] == b'-' {
                *i += 1;
            }
            let d = *i;
            while matches!(b.get(*i), Some(b'0'..=b'9')) {
                *i += 1;
            }
            if *i == d || (b[d] == b'0' && *i - d > 1) {
                return Err(format!("bad number at {s}"));
            }
            if b.get(*i) == Some(&b'.') {
                *i += 1;
                let f = *i;
                while matches!(b.get(*i), Some(b'0'..=b'9')) {
                    *i += 1;
                }
                if *i == f {
                    return Err(format!("bad fraction at {s}"));
                }
            }
            if matches!(b.get(*i), Some(b'e' | b'E')) {
                *i += 1;
                if matches!(b.get(*i), Some(b'+' | b'-')) {
                    *i += 1;
                }
                let e = *i;
                while matches!(b.get(*i), Some(b'0'..=b'9')) {
                    *i += 1;
                }
                if *i == e {
                    return Err(format!("bad exponent at {s}"));
                }
            }
            let t = std::str::from_utf8(&b[s..*i]).unwrap();
            Ok(J::Num(t.parse().map_err(|_| format!("bad number {t}"))?))
        }
        _ => Err(format!("unexpected byte at {i}")),
    }
}

fn string(b: &[u8], i: &mut usize) -> Result<J, String> {
    if b.get(*i) != Some(&b'"') {
        return Err(format!("expected string at {i}"));
    }
    *i += 1;
    let mut out: Vec<u16> = Vec::new();
    loop {
        let c = *b.get(*i).ok_or("unterminated string")?;
        match c {
            b'"' => {
                *i += 1;
                return Ok(J::Str(String::from_utf16_lossy(&out)));
            }
            b'\\' => {
                let e = *b.get(*i + 1).ok_or("bad escape")?;
                *i += 2;
                match e {
                    b'"' => out.push(0x22),
                    b'\\' => out.push(0x5c),
                    b'/' => out.push(0x2f),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(10),
                    b'r' => out.push(13),
                    b't' => out.push(9),
                    b'u' => {
                        let h = std::str::from_utf8(b.get(*i..*i + 4).ok_or("bad \\u")?)
                            .map_err(|_| "bad \\u")?;
                        out.push(u16::from_str_radix(h, 16).map_err(|_| "bad \\u")?);
                        *i += 4;
                    }
                    _ => return Err("bad escape".into()),
                }
            }
            0..=0x1f => return Err("control character in string".into()),
            _ => {
                let len = match c {
                    0x00..=0x7f => 1,
                    0xc0..=0xdf => 2,
                    0xe0..=0xef => 3,
                    _ => 4,
                };
                let s = std::str::from_utf8(&b[*i..*i + len]).map_err(|_| "bad utf-8")?;
                out.extend(s.encode_utf16());
                *i += len;
            }
        }
    }
}

/// Inflates a complete zlib stream; fails if anything follows the trailer or
/// the header is not `78 9C`.
pub fn inflate_strict(z: &[u8]) -> Vec<u8> {
    assert_eq!(&z[..2], &[0x78, 0x9c], "zlib header");
    let mut d = flate2::read::ZlibDecoder::new(z);
    let mut out = Vec::new();
    d.read_to_end(&mut out).expect("valid zlib stream");
    assert_eq!(
        d.total_in() as usize,
        z.len(),
        "bytes after the zlib trailer"
    );
    out
}

pub struct Envelope {
    pub header: J,
    pub event: J,
    pub segment_id: u64,
    /// The inflated recording text.
    pub recording: Vec<u8>,
}

/// Parses a replay envelope strictly (Sentry's format, see the reference notes).
pub fn parse_envelope(body: &[u8]) -> Envelope {
    let mut rest = body;
    let mut line = || {
        let n = rest.iter().position(|&c| c == b'\n').expect("newline");
        let l = std::str::from_utf8(&rest[..n])
            .expect("utf-8 header line")
            .to_string();
        rest = &rest[n + 1..];
        l
    };
    let header = parse_json(&line()).expect("envelope header JSON");
    let item1 = parse_json(&line()).expect("item header JSON");
    let event = parse_json(&line()).expect("replay_event JSON");
    let item2 = parse_json(&line()).expect("recording item header JSON");
    assert_eq!(
        item1,
        J::Obj(vec![("type".into(), J::Str("replay_event".into()))])
    );
    assert_eq!(item2.get("type").s(), "replay_recording");
    let len = item2.get("length").n() as usize;
    assert_eq!(
        rest.len(),
        len,
        "recording length field vs bytes (nothing may follow)"
    );
    let nl = rest
        .iter()
        .position(|&c| c == b'\n')
        .expect("payload header line");
    let ph = parse_json(std::str::from_utf8(&rest[..nl]).unwrap()).expect("payload header");
    let segment_id = ph.get("segment_id").n() as u64;
    assert_eq!(
        std::str::from_utf8(&rest[..nl + 1]).unwrap(),
        format!("{{\"segment_id\":{segment_id}}}\n")
    );
    let recording = inflate_strict(&rest[nl + 1..]);
    // Envelope-level consistency.
    let id = header.get("event_id").s();
    assert_eq!(id.len(), 32);
    assert!(id
        .bytes()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(event.get("replay_id").s(), id);
    assert_eq!(event.get("type").s(), "replay_event");
    assert_eq!(event.get("segment_id").n() as u64, segment_id);
    assert_eq!(event.get("platform").s(), "javascript");
    let sent_at = header.get("sent_at").s();
    assert!(
        sent_at.len() == 24 && sent_at.ends_with('Z') && &sent_at[10..11] == "T",
        "{sent_at}"
    );
    assert!(matches!(event.get("replay_type").s(), "session" | "buffer"));
    assert!(event.get("error_ids").arr().len() <= 100);
    assert!(event.get("trace_ids").arr().len() <= 100);
    event.get("urls").arr();
    assert!(event.get("replay_start_timestamp").n() <= event.get("timestamp").n() + 1e-9);
    Envelope {
        header,
        event,
        segment_id,
        recording,
    }
}

/// The recording text a list of event texts must inflate to.
pub fn array_of(events: &[String]) -> Vec<u8> {
    format!("[{}]", events.join(",")).into_bytes()
}

/// The recording of a segment, checked strictly for its kind.
pub fn recording(s: &Segment) -> Vec<u8> {
    match s.kind {
        Kind::Envelope => {
            let e = parse_envelope(&s.body);
            assert_eq!(e.segment_id, u64::from(s.segment_id));
            assert_eq!(e.event.get("replay_type").s(), s.replay_type.name());
            e.recording
        }
        Kind::Plain => inflate_strict(&s.body),
        Kind::Recording => {
            let ev = parse_json(s.replay_event.as_deref().expect("replayEvent"))
                .expect("replayEvent JSON");
            assert_eq!(ev.get("type").s(), "replay_event");
            assert_eq!(ev.get("segment_id").n() as u16, s.segment_id);
            assert_eq!(ev.get("replay_type").s(), s.replay_type.name());
            let head = format!("{{\"segment_id\":{}}}\n", s.segment_id);
            assert!(s.body.starts_with(head.as_bytes()), "payload header line");
            inflate_strict(&s.body[head.len()..])
        }
    }
}

/// Texts that are not DSNs (`{scheme}://{key}@{host}/{project}`): a `start` with one is rejected.
pub const BAD_DSNS: &[&str] = &[
    "",
    "abc",
    "https://host/1",
    "https://k@host",
    "ftp://k@h/1",
    "https://k@/1",
    "https://k y@host/1",
    "https://k y@h/1",
    "https://k@h/1?x",
    "https://@h/1",
];

/// The event texts of the segments' recordings, in order.
pub fn recorded<S: std::borrow::Borrow<Segment>>(segs: &[S]) -> Vec<String> {
    segs.iter()
        .flat_map(|s| split_recording(&recording(s.borrow())))
        .collect()
}

/// Splits a recording `[e1,e2,…]` back into event texts (via the engine's own
/// scanner is not allowed here: use the strict parser and re-slice).
pub fn split_recording(rec: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(rec).expect("utf-8 recording");
    parse_json(text).expect("recording is JSON");
    assert!(text.starts_with('[') && text.ends_with(']'));
    items(text)
}

/// The items of a JSON array text, split at its top-level commas (whitespace
/// around them trimmed); the text is valid JSON.
pub fn items(text: &str) -> Vec<String> {
    let b = text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    let inner = &b[1..b.len() - 1];
    let (mut depth, mut in_str, mut esc, mut start) = (0usize, false, false, 0);
    let mut out = Vec::new();
    for (i, c) in inner.bytes().enumerate() {
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            b',' if depth == 0 => {
                out.push(inner[start..i].to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = inner[start..].trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
    if !last.is_empty() || !out.is_empty() {
        out.push(last.to_string());
    }
    out.into_iter()
        .map(|s| {
            s.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
                .to_string()
        })
        .collect()
}

pub fn segments(out: &[Output]) -> Vec<&Segment> {
    out.iter()
        .filter_map(|o| match o {
            Output::Segment(s) => Some(s),
            _ => None,
        })
        .collect()
}

pub fn has(out: &[Output], f: impl Fn(&Output) -> bool) -> bool {
    out.iter().any(f)
}

pub fn rejected(out: &[Output]) -> Option<&str> {
    out.iter().find_map(|o| match o {
        Output::Rejected { message, .. } => Some(message.as_str()),
        _ => None,
    })
}

pub fn last_session(out: &[Output]) -> Option<String> {
    out.iter().rev().find_map(|o| match o {
        Output::Session(s) => Some(s.clone()),
        _ => None,
    })
}

/// A synthetic rrweb event (text exactly as JSON.stringify writes it).
pub fn ev(kind: u64, ts: u64, source: Option<u64>) -> String {
    match source {
        Some(s) => format!("{{\"type\":{kind},\"data\":{{\"source\":{s},\"x\":1}},\"timestamp\":{ts}}}"),
        None if kind == 4 => format!(
            "{{\"type\":4,\"data\":{{\"href\":\"http://127.0.0.1/p?t={ts}\",\"width\":800,\"height\":600}},\"timestamp\":{ts}}}"
        ),
        None => format!("{{\"type\":{kind},\"data\":{{\"node\":{{\"id\":1}}}},\"timestamp\":{ts}}}"),
    }
}

/// A mouse click (user activity).
pub fn click(ts: u64) -> String {
    ev(3, ts, Some(2))
}

/// A DOM mutation (not user activity).
pub fn mutation(ts: u64) -> String {
    ev(3, ts, Some(0))
}

pub fn batch(evs: &[String]) -> String {
    format!("[{}]", evs.join(","))
}

/// Config with a given mode forced by the rates.
pub fn session_config() -> Config {
    Config::new(1.0, 0.0)
}

pub fn buffer_config() -> Config {
    Config::new(0.0, 1.0)
}

pub fn envelope_config(mut c: Config) -> Config {
    c.target = Target::Envelope {
        url: ringflate::engine::envelope_url("http://abc@127.0.0.1:9/42").unwrap(),
        dsn: None,
    };
    c
}

pub const T0: u64 = 1_700_000_000_000;

pub fn start(cfg: Config, now: u64) -> (Engine, Vec<Output>) {
    Engine::start(cfg, None, now, [7; 16])
}

/// Deterministic pseudo-random bytes.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn bytes16(&mut self) -> [u8; 16] {
        let mut r = [0u8; 16];
        r[..8].copy_from_slice(&self.next().to_le_bytes());
        r[8..].copy_from_slice(&self.next().to_le_bytes());
        r
    }
    pub fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[(self.next() % 16) as usize]))
            .collect()
    }
}

/// The events of a corpus file (each line is exactly JSON.stringify(event)).
/// Fails when the corpus is missing.
pub fn corpus(name: &str) -> Vec<String> {
    let p = format!(
        "{}/../tests/corpus/{name}.ndjson.gz",
        env!("CARGO_MANIFEST_DIR")
    );
    let f = std::fs::File::open(&p).unwrap_or_else(|e| panic!("corpus file {p}: {e}"));
    std::io::BufReader::new(flate2::read::GzDecoder::new(f))
        .lines()
        .map(|l| l.expect("corpus line"))
        .collect()
}

/// An engine message for the `Driver`: `{rf: 1, op, …fields}`.
pub fn msg(op: &str, fields: Vec<(&str, Value)>) -> Value {
    let mut p = vec![("rf", Value::Number(1.0)), ("op", Value::str(op))];
    p.extend(fields);
    Value::obj(&p)
}

/// A global allocator that counts the bytes held and their peak; a test
/// binary installs it with `#[global_allocator] static A: Counting = Counting;`
/// and reads [`held`] and [`peak`].
pub struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = HELD.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(now, Relaxed);
}

fn shrank(n: usize) {
    HELD.fetch_sub(n, Relaxed);
}

/// Bytes held now (by a binary that installed [`Counting`]).
pub fn held() -> usize {
    HELD.load(Relaxed)
}

/// The most bytes held since the last [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(Relaxed)
}

/// Starts a new peak at what is held now, and returns that.
pub fn reset_peak() -> usize {
    let now = held();
    PEAK.store(now, Relaxed);
    now
}

// SAFETY: every call is forwarded to `System` unchanged; the counters only
// observe the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(l);
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l);
        shrank(l.size());
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = System.realloc(p, l, new);
        if !q.is_null() {
            if new >= l.size() {
                grew(new - l.size());
            } else {
                shrank(l.size() - new);
            }
        }
        q
    }
}
