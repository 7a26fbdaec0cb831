//! Property tests of the engine driver on arbitrary message sequences.
//!
//! Each case is a sequence of 1–40 steps: engine messages (valid ops with
//! random configs, rrweb-like and corpus batches, mutated and random batch
//! texts, strings with lone surrogates as the wasm layer converts them, deep
//! nesting, a few huge strings, odd numbers; ops with fields missing, of the
//! wrong type or extra; unknown ops, non-objects, a wrong `rf`), clock
//! advances, ticks and wake-ups at `next_wake`, and a final `flush` and `stop`.
//! Properties:
//! - nothing panics;
//! - a message the oracle (written from the tables of `worker/PROTOCOL.md`)
//!   knows to be malformed is answered with exactly one `rejected` with the
//!   code it predicts, and a well-formed one is not rejected;
//! - a rejected message changes nothing: the same sequence run with the
//!   rejected messages left out gives the same outputs, storage requests and
//!   `next_wake` at every remaining step (the driver is deterministic given
//!   the clock and the random bytes, so the two runs are compared with each
//!   other; before a message that may be rejected both runs tick the driver
//!   at its time, so that the answer to it is the rejection alone);
//! - every event of every accepted batch is in a segment exactly once, in
//!   order (session mode; buffer mode: the events from a checkout on; off:
//!   none), checked on the inflated recordings; every `partial` (head, the
//!   chunks so far, tail) is a complete body holding the first events of the
//!   segment of its id.
//!
//! Cases per run: 2,500 by default (10–20 s in `cargo test --release` on a
//! 2-core machine, by its load); more with proptest's `PROPTEST_CASES` (e.g.
//! `PROPTEST_CASES=50000`) for a soak run.

mod engine_util;

use engine_util::{corpus, items, msg, parse_json, recording, BAD_DSNS, J, T0};
use proptest::prelude::*;
use proptest::sample::Index;
use ringflate::engine::{
    Code, Driver, Kind, Mode, Output, ReplayType, Segment, StoreOp, Value, HOST_OPS,
};
use std::sync::OnceLock;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_500)
}

// ---- the oracle: PROTOCOL.md's host → worker table ----

#[derive(Debug, Clone, Copy, PartialEq)]
enum T {
    Str,
    Num,
    Bool,
    StrOrNull,
    Object,
}

/// `op`, then each field: name, type, required.
type OpRow = (&'static str, &'static [(&'static str, T, bool)]);

const OPS: &[OpRow] = &[
    (
        "start",
        &[
            ("config", T::Object, true),
            ("session", T::StrOrNull, false),
            ("url", T::Str, false),
        ],
    ),
    ("events", &[("json", T::Str, true), ("seq", T::Num, false)]),
    (
        "error",
        &[("eventId", T::Str, false), ("sampled", T::Bool, true)],
    ),
    ("trace", &[("traceId", T::Str, true)]),
    ("hidden", &[("hidden", T::Bool, true)]),
    ("flush", &[]),
    ("stop", &[]),
    ("resume", &[]),
    (
        "sent",
        &[("replayId", T::Str, true), ("segmentId", T::Num, true)],
    ),
    ("ping", &[]),
    ("forget", &[]),
];

/// Ops that need a replay (`not_started` before the first `start`).
const NEEDS_REPLAY: &[&str] = &[
    "events", "error", "trace", "hidden", "flush", "stop", "resume",
];

fn type_ok(t: T, v: &Value) -> bool {
    matches!(
        (t, v),
        (T::Str | T::StrOrNull, Value::Str(_))
            | (T::StrOrNull, Value::Null)
            | (T::Num, Value::Number(_))
            | (T::Bool, Value::Bool(_))
            | (T::Object, Value::Object(_))
    )
}

fn absent(v: &Value) -> bool {
    matches!(v, Value::Undefined | Value::Null)
}

const GOOD_DSNS: &[&str] = &[
    "https://abc@o1.ingest.sentry.io/42",
    "http://k:secret@127.0.0.1:9000/sub/7",
    "https://key@host/path/to/9/",
];

/// Whether a `start.config` is valid (PROTOCOL.md's config table); `None`
/// when the oracle does not know (a DSN it has no verdict for).
fn config_ok(c: &Value) -> Option<bool> {
    if !matches!(c, Value::Object(_)) {
        return Some(false);
    }
    let num_in = |k: &str, required: bool, max: f64| match c.get(k) {
        v if absent(v) => !required,
        Value::Number(x) => (0.0..=max).contains(x),
        _ => false,
    };
    let ok_str = |k: &str| absent(c.get(k)) || matches!(c.get(k), Value::Str(_));
    let mut ok = num_in("sessionSampleRate", true, 1.0)
        && num_in("errorSampleRate", true, 1.0)
        && num_in("bufferMs", false, 3_600_000.0)
        && num_in("maxBufferBytes", false, 1_073_741_824.0)
        && num_in("minReplayDurationMs", false, 1e12)
        && num_in("maxReplayDurationMs", false, 3_600_000.0)
        && ["dsn", "tunnel", "endpoint", "environment", "release"]
            .iter()
            .all(|k| ok_str(k));
    let client = match c.get("sentryClient") {
        v if absent(v) => false,
        Value::Bool(b) => *b,
        _ => return Some(false),
    };
    match c.get("sdk") {
        v if absent(v) => {}
        Value::Object(_) => {
            let sdk = c.get("sdk");
            ok &= matches!(sdk.get("name"), Value::Str(_))
                && matches!(sdk.get("version"), Value::Str(_));
        }
        _ => ok = false,
    }
    let has = |k: &str| matches!(c.get(k), Value::Str(_));
    if client && (has("dsn") || has("tunnel") || has("endpoint")) {
        ok = false;
    }
    if has("endpoint") && (has("dsn") || has("tunnel")) {
        ok = false;
    }
    if !ok {
        return Some(false);
    }
    match c.get("dsn") {
        Value::Str(d) if !client && !has("endpoint") => {
            if GOOD_DSNS.contains(&d.as_str()) {
                Some(true)
            } else if BAD_DSNS.contains(&d.as_str()) {
                Some(false)
            } else {
                None
            }
        }
        _ => Some(true),
    }
}

fn is_trace_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// What the oracle expects of a message.
#[derive(Debug, Clone, PartialEq)]
enum Expect {
    Reject(Code),
    /// Well-formed at the message level; an `events` batch may still be
    /// `bad_batch` (its verdict: `Some(valid)` or unknown).
    Accept {
        batch: Option<Option<bool>>,
    },
    /// The oracle does not know (a start config it has no verdict for).
    Either,
}

/// The replay as the outputs so far tell it.
#[derive(Debug, Default, Clone)]
struct Model {
    started_ever: bool,
    running: bool,
    mode: Option<Mode>,
}

impl Model {
    fn live(&self) -> bool {
        self.running && matches!(self.mode, Some(Mode::Session | Mode::Buffer))
    }

    fn see(&mut self, out: &[Output]) {
        for o in out {
            match o {
                Output::Started { mode, .. } => {
                    self.started_ever = true;
                    self.running = true;
                    self.mode = Some(*mode);
                }
                Output::Stopped(_) => self.running = false,
                _ => {}
            }
        }
    }
}

fn expect(m: &Value, st: &Model, batch_verdict: impl Fn(&str) -> Option<bool>) -> Expect {
    if !matches!(m, Value::Object(_)) {
        return Expect::Reject(Code::NotObject);
    }
    if m.get("rf") != &Value::Number(1.0) {
        return Expect::Reject(Code::BadRf);
    }
    let Value::Str(op) = m.get("op") else {
        return Expect::Reject(Code::UnknownOp);
    };
    let Some((_, fields)) = OPS.iter().find(|(n, _)| n == op) else {
        return Expect::Reject(Code::UnknownOp);
    };
    for (name, t, required) in fields.iter() {
        let v = m.get(name);
        if !(type_ok(*t, v) || (absent(v) && !required)) {
            return Expect::Reject(Code::BadField);
        }
    }
    if op == "trace" {
        if let Value::Str(t) = m.get("traceId") {
            if !is_trace_id(t) {
                return Expect::Reject(Code::BadField);
            }
        }
    }
    if op == "start" {
        if st.running {
            return Expect::Reject(Code::AlreadyStarted);
        }
        return match config_ok(m.get("config")) {
            Some(true) => Expect::Accept { batch: None },
            Some(false) => Expect::Reject(Code::BadField),
            None => Expect::Either,
        };
    }
    if NEEDS_REPLAY.contains(&op.as_str()) && !st.started_ever {
        return Expect::Reject(Code::NotStarted);
    }
    if op == "events" && st.live() {
        if let Value::Str(j) = m.get("json") {
            return Expect::Accept {
                batch: Some(batch_verdict(j)),
            };
        }
    }
    Expect::Accept { batch: None }
}

/// What serde_json says of a batch: `Some(valid)`, or `None` for valid JSON
/// it cannot hold (a lone surrogate escape, a number out of f64's range, deep
/// nesting).
fn serde_verdict(text: &str) -> Option<bool> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Array(a)) => Some(a.iter().all(|e| {
            e.is_object() && as_u64(e.get("type")).is_some() && as_u64(e.get("timestamp")).is_some()
        })),
        Ok(_) => Some(false),
        Err(e) => {
            let why = e.to_string();
            if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
                || why.contains("out of range")
                || why.contains("recursion limit")
                || why.contains("surrogate")
            {
                None
            } else {
                Some(false)
            }
        }
    }
}

fn as_u64(v: Option<&serde_json::Value>) -> Option<u64> {
    match v? {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_sign_positive() && *f < 18_446_744_073_709_551_616.0)
                .map(|f| f as u64)
        }),
        _ => None,
    }
}

// ---- JS strings and JSON.stringify ----

/// A JS string as UTF-16 code units: ASCII, controls, quotes, BMP, astral
/// pairs and lone surrogates.
fn units() -> BoxedStrategy<Vec<u16>> {
    let unit = prop_oneof![
        6 => (0x20u16..0x7f).prop_map(|u| vec![u]),
        1 => (0u16..0x20).prop_map(|u| vec![u]),
        1 => prop::sample::select(vec![0x22u16, 0x5c, 0x2f, 0x2028, 0x7f]).prop_map(|u| vec![u]),
        2 => (0xa0u16..0xd800).prop_map(|u| vec![u]),
        1 => (0xd800u16..0xdc00, 0xdc00u16..0xe000).prop_map(|(h, l)| vec![h, l]),
        1 => (0xd800u16..0xe000).prop_map(|u| vec![u]),
    ];
    prop::collection::vec(unit, 0..12)
        .prop_map(|v| v.concat())
        .boxed()
}

/// What the wasm layer makes of a JS string (`JsValue::as_string`, which
/// encodes with `TextEncoder`: a lone surrogate becomes U+FFFD).
fn js(u: &[u16]) -> String {
    String::from_utf16_lossy(u)
}

fn js_str() -> impl Strategy<Value = Value> {
    units().prop_map(|u| Value::Str(js(&u)))
}

/// `JSON.stringify(string)` of a JS string (ES2019: lone surrogates escaped).
fn stringify(u: &[u16]) -> String {
    let mut o = String::from("\"");
    let mut i = 0;
    while i < u.len() {
        let c = u[i];
        match c {
            0x22 => o.push_str("\\\""),
            0x5c => o.push_str("\\\\"),
            0x08 => o.push_str("\\b"),
            0x0c => o.push_str("\\f"),
            0x0a => o.push_str("\\n"),
            0x0d => o.push_str("\\r"),
            0x09 => o.push_str("\\t"),
            0..=0x1f => o.push_str(&format!("\\u{c:04x}")),
            0xd800..=0xdbff if matches!(u.get(i + 1), Some(0xdc00..=0xdfff)) => {
                o.push_str(&String::from_utf16_lossy(&u[i..i + 2]));
                i += 1;
            }
            0xd800..=0xdfff => o.push_str(&format!("\\u{c:04x}")),
            _ => o.push_str(&String::from_utf16_lossy(&[c])),
        }
        i += 1;
    }
    o.push('"');
    o
}

// ---- batches ----

fn corpus_events() -> &'static [String] {
    static C: OnceLock<Vec<String>> = OnceLock::new();
    C.get_or_init(|| corpus("d4-spa-live-unmasked"))
}

fn timestamp() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (0u64..10_000_000).prop_map(|d| (T0 + d).to_string()),
        1 => (0u64..10_000_000).prop_map(|d| format!("{}.5", T0 + d)),
        1 => Just("0".to_string()),
    ]
}

/// One rrweb-like event, as JSON.stringify writes it (valid by construction).
fn event() -> BoxedStrategy<String> {
    (0u8..6, timestamp(), units(), 0u64..20, 0u32..4000).prop_map(|(k, ts, u, src, n)| {
        let s = stringify(&u);
        match k {
            0 => format!(
                "{{\"type\":4,\"data\":{{\"href\":{s},\"width\":{n},\"height\":600}},\"timestamp\":{ts}}}"
            ),
            1 => format!(
                "{{\"type\":2,\"data\":{{\"node\":{{\"type\":0,\"childNodes\":[{{\"type\":3,\"textContent\":{s},\"id\":2}}],\"id\":1}},\"initialOffset\":{{\"left\":0,\"top\":{n}}}}},\"timestamp\":{ts}}}"
            ),
            2 | 3 => format!(
                "{{\"type\":3,\"data\":{{\"source\":{src},\"x\":{n},\"y\":-{n}.25,\"texts\":[{s}],\"ok\":true,\"z\":null}},\"timestamp\":{ts}}}"
            ),
            4 => format!(
                "{{\"type\":5,\"data\":{{\"tag\":\"breadcrumb\",\"payload\":{{\"message\":{s},\"n\":1e3}}}},\"timestamp\":{ts}}}"
            ),
            _ => format!("{{\"timestamp\":{ts},\"type\":{n},\"data\":{{}},{s}:{s}}}"),
        }
    })
    .boxed()
}

/// A valid batch: synthetic events and corpus windows.
fn valid_batch() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::collection::vec(event(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
        1 => (any::<Index>(), 1usize..5).prop_map(|(i, n)| {
            let c = corpus_events();
            let s = i.index(c.len());
            format!("[{}]", c[s..(s + n).min(c.len())].join(","))
        }),
        1 => (prop::collection::vec(event(), 1..4), 0usize..3).prop_map(|(v, p)| {
            let sep = [" , ", ",\n\t", ",\r\n "][p];
            format!(" [ {} ] ", v.join(sep))
        }),
    ]
    .boxed()
}

/// One edit of a JS string's code units.
#[derive(Debug, Clone)]
enum Edit {
    Flip(Index, u8),
    Delete(Index),
    Truncate(Index),
    Insert(Index, u16),
    Repeat(Index, usize),
}

fn edit() -> BoxedStrategy<Edit> {
    let unit = prop_oneof![
        4 => prop::sample::select(
            b"{}[],:\"\\ 01-+.eExtfnul/b"
                .iter()
                .map(|&c| u16::from(c))
                .collect::<Vec<_>>()
        ),
        1 => any::<u16>(),
        1 => 0xd800u16..0xe000,
    ];
    prop_oneof![
        (any::<Index>(), 0u8..16).prop_map(|(i, b)| Edit::Flip(i, b)),
        any::<Index>().prop_map(Edit::Delete),
        any::<Index>().prop_map(Edit::Truncate),
        (any::<Index>(), unit).prop_map(|(i, u)| Edit::Insert(i, u)),
        (any::<Index>(), 1usize..12).prop_map(|(i, n)| Edit::Repeat(i, n)),
    ]
    .boxed()
}

fn mutate(text: &str, edits: &[Edit]) -> String {
    let mut u: Vec<u16> = text.encode_utf16().collect();
    for e in edits {
        if u.is_empty() {
            break;
        }
        match e {
            Edit::Flip(i, b) => {
                let i = i.index(u.len());
                u[i] ^= 1 << b;
            }
            Edit::Delete(i) => {
                u.remove(i.index(u.len()));
            }
            Edit::Truncate(i) => u.truncate(i.index(u.len())),
            Edit::Insert(i, c) => u.insert(i.index(u.len()), *c),
            Edit::Repeat(i, n) => {
                let s = i.index(u.len());
                let piece = u[s..(s + n).min(u.len())].to_vec();
                u.splice(s..s, piece);
            }
        }
    }
    js(&u)
}

/// A batch text and, when its construction says so, whether it is valid
/// (otherwise serde_json decides).
fn batch() -> BoxedStrategy<(String, Option<bool>)> {
    let odd_number = prop::sample::select(vec![
        "01",
        "1.",
        "0x10",
        "-0",
        "1e400",
        "-1",
        "1e",
        ".5",
        "+1",
        "1e-400",
        "NaN",
        "Infinity",
        "00",
        "0.0e0",
        "18446744073709551615",
        "18446744073709551616",
        "1E+2",
    ]);
    prop_oneof![
        60 => valid_batch().prop_map(|b| (b, Some(true))),
        30 => (valid_batch(), prop::collection::vec(edit(), 1..4)).prop_map(|(b, e)| (mutate(&b, &e), None)),
        6 => (odd_number.clone(), timestamp(), 0u8..3).prop_map(|(n, ts, at)| {
            let e = match at {
                0 => format!("{{\"type\":{n},\"timestamp\":{ts}}}"),
                1 => format!("{{\"type\":3,\"timestamp\":{n}}}"),
                _ => format!("{{\"type\":3,\"timestamp\":{ts},\"data\":{{\"source\":{n},\"v\":[{n}]}}}}"),
            };
            (format!("[{e}]"), None)
        }),
        4 => units().prop_map(|u| (js(&u), None)),
        2 => any::<String>().prop_map(|s| (s, None)),
        // Nesting: the event object and `n` arrays; the scanner's documented limit is 10,000 containers.
        2 => (prop::sample::select(vec![100usize, 9_998, 9_999, 10_000, 12_000]), any::<bool>()).prop_map(|(n, closed)| {
            let close = if closed { "]".repeat(n) } else { String::new() };
            let text = format!("[{{\"type\":3,\"timestamp\":{T0},\"data\":{}{close}}}]", "[".repeat(n));
            (text, Some(closed && n < 10_000))
        }),
        1 => Just(("[".repeat(10_000), Some(false))),
        1 => Just(("{".repeat(10_000), Some(false))),
        // Huge strings (a few MB), rarely.
        1 => (1usize..3, units()).prop_map(|(mb, u)| {
            let big = stringify(&u.iter().copied().cycle().take(if u.is_empty() { 0 } else { mb << 20 }).collect::<Vec<_>>());
            (format!("[{{\"type\":3,\"timestamp\":{T0},\"data\":{{\"source\":0,\"t\":{big}}}}}]"), Some(true))
        }),
    ]
    .boxed()
}

// ---- messages ----

fn num(v: f64) -> Value {
    Value::Number(v)
}

/// A value of any type (for fields of the wrong type).
fn any_value() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Undefined),
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop::sample::select(vec![0.0, 1.0, -1.0, 0.5, f64::NAN, f64::INFINITY, 1e300])
            .prop_map(Value::Number),
        js_str(),
        Just(Value::Object(Vec::new())),
        prop::sample::select(vec!["array", "function", "typed array", "bigint", "symbol"])
            .prop_map(|t| Value::Other(t.into())),
    ]
    .boxed()
}

fn rate() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => Just(num(1.0)),
        2 => Just(num(0.0)),
        3 => (0.0f64..=1.0).prop_map(num),
        1 => any_value(),
    ]
}

fn opt_num(good: std::ops::Range<f64>, bad: Vec<f64>) -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        6 => Just(None),
        6 => good.prop_map(|x| Some(num(x.floor()))),
        1 => prop::sample::select(bad).prop_map(|x| Some(num(x))),
        1 => any_value().prop_map(Some),
    ]
}

fn config() -> BoxedStrategy<Value> {
    let target = prop_oneof![
        4 => Just(vec![]),
        2 => prop::sample::select(GOOD_DSNS).prop_map(|d| vec![("dsn", Value::str(d))]),
        1 => prop::sample::select(BAD_DSNS).prop_map(|d| vec![("dsn", Value::str(d))]),
        1 => js_str().prop_map(|t| vec![("tunnel", t)]),
        1 => js_str().prop_map(|t| vec![("tunnel", t), ("dsn", Value::str(GOOD_DSNS[0]))]),
        2 => js_str().prop_map(|t| vec![("endpoint", t)]),
        2 => Just(vec![("sentryClient", Value::Bool(true))]),
        1 => Just(vec![("sentryClient", Value::Bool(false))]),
        1 => Just(vec![("sentryClient", Value::Bool(true)), ("endpoint", Value::str("/x"))]),
        1 => Just(vec![("endpoint", Value::str("/x")), ("dsn", Value::str(GOOD_DSNS[0]))]),
        1 => any_value().prop_map(|v| vec![("sentryClient", v)]),
    ];
    let sdk = prop_oneof![
        6 => Just(None),
        2 => (js_str(), js_str()).prop_map(|(n, v)| Some(Value::Object(vec![("name".into(), n), ("version".into(), v)]))),
        1 => any_value().prop_map(Some),
    ];
    (
        (rate(), rate()),
        (
            opt_num(0.0..120_000.0, vec![-1.0, 3_600_001.0, f64::NAN]),
            opt_num(1_000.0..20_000_000.0, vec![-5.0, 2e9]),
            prop_oneof![4 => Just(Some(num(0.0))), 1 => opt_num(0.0..60_000.0, vec![-1.0, f64::INFINITY])],
            opt_num(1_000.0..900_000.0, vec![3_600_001.0, -1.0]),
        ),
        target,
        sdk,
        (
            prop::option::weighted(0.3, js_str()),
            prop::option::weighted(0.3, js_str()),
            prop::option::weighted(0.1, any_value()),
        ),
    )
        .prop_map(|((s, e), (buf, bytes, min, max), target, sdk, (env, rel, extra))| {
            let mut p: Vec<(String, Value)> = vec![
                ("sessionSampleRate".into(), s),
                ("errorSampleRate".into(), e),
            ];
            for (k, v) in [
                ("bufferMs", buf),
                ("maxBufferBytes", bytes),
                ("minReplayDurationMs", min),
                ("maxReplayDurationMs", max),
                ("sdk", sdk),
                ("environment", env),
                ("release", rel),
                ("someFutureField", extra),
            ] {
                if let Some(v) = v {
                    p.push((k.into(), v));
                }
            }
            p.extend(target.into_iter().map(|(k, v)| (k.to_string(), v)));
            Value::Object(p)
        })
    .boxed()
}

/// The `session` of a start: none, the last value the worker posted (as is or
/// mutated), or text.
#[derive(Debug, Clone)]
enum Session {
    None,
    Null,
    Last(Vec<Edit>),
    Text(Value),
}

/// A message before the run resolves `Session::Last`.
#[derive(Debug, Clone)]
enum Gen {
    Start(Value, Session, Option<Value>),
    Msg(Value),
    /// A batch, and its verdict by construction.
    Events(String, Option<bool>, Option<Value>),
}

fn hex32() -> impl Strategy<Value = String> {
    "[0-9a-f]{32}"
}

fn good_msg() -> BoxedStrategy<Gen> {
    let session = prop_oneof![
        2 => Just(Session::None),
        1 => Just(Session::Null),
        3 => prop::collection::vec(edit(), 0..2).prop_map(Session::Last),
        1 => js_str().prop_map(Session::Text),
    ];
    prop_oneof![
        3 => (config(), session, prop::option::of(js_str())).prop_map(|(c, s, u)| Gen::Start(c, s, u)),
        12 => (batch(), prop::option::weighted(0.7, prop_oneof![(0u32..1000).prop_map(|n| num(n.into())), any_value()]))
            .prop_map(|((b, v), seq)| Gen::Events(b, v, seq)),
        2 => (prop::option::of(js_str()), any::<bool>()).prop_map(|(id, s)| {
            let mut f = vec![("sampled", Value::Bool(s))];
            if let Some(id) = id { f.push(("eventId", id)); }
            Gen::Msg(msg("error", f))
        }),
        1 => prop_oneof![hex32().prop_map(|t| Value::str(&t)), "[0-9a-fA-F]{31,33}".prop_map(|t| Value::str(&t)), js_str()]
            .prop_map(|t| Gen::Msg(msg("trace", vec![("traceId", t)]))),
        1 => any::<bool>().prop_map(|h| Gen::Msg(msg("hidden", vec![("hidden", Value::Bool(h))]))),
        2 => Just(Gen::Msg(msg("flush", vec![]))),
        1 => Just(Gen::Msg(msg("stop", vec![]))),
        1 => Just(Gen::Msg(msg("resume", vec![]))),
        1 => (prop_oneof![hex32().prop_map(|t| Value::str(&t)), js_str()], 0u32..5)
            .prop_map(|(id, s)| Gen::Msg(msg("sent", vec![("replayId", id), ("segmentId", num(s.into()))]))),
        1 => Just(Gen::Msg(msg("ping", vec![]))),
        1 => Just(Gen::Msg(msg("forget", vec![]))),
    ]
    .boxed()
}

/// A message changed to be (usually) malformed.
#[derive(Debug, Clone)]
enum Break {
    None,
    /// Removes the n-th field.
    Remove(Index),
    /// Gives the n-th field another value.
    Retype(Index, Value),
    /// Adds an extra field.
    Extra(String, Value),
    Rf(Value),
    Op(Value),
    /// Not an object at all.
    Replace(Value),
}

fn brk() -> BoxedStrategy<Break> {
    prop_oneof![
        40 => Just(Break::None),
        2 => any::<Index>().prop_map(Break::Remove),
        3 => (any::<Index>(), any_value()).prop_map(|(i, v)| Break::Retype(i, v)),
        2 => ("[a-zA-Z]{1,8}", any_value()).prop_map(|(k, v)| Break::Extra(k, v)),
        1 => prop_oneof![
            any_value(),
            prop::sample::select(vec![2.0, 0.0, 1.0000001, -1.0, f64::NAN]).prop_map(num)
        ].prop_map(Break::Rf),
        1 => prop_oneof![
            any_value(),
            prop::sample::select(vec!["debug", "Start", "", "events ", "teleport", "pong", "partial"]).prop_map(Value::str),
            units().prop_map(|u| Value::Str(js(&u))),
        ].prop_map(Break::Op),
        1 => prop_oneof![
            any_value(),
            Just(Value::Number(1.0)),
        ].prop_map(Break::Replace),
    ]
    .boxed()
}

fn apply_break(m: Value, b: &Break) -> Value {
    let Value::Object(mut p) = m else { return m };
    match b {
        Break::None => {}
        Break::Remove(i) => {
            p.remove(i.index(p.len()));
        }
        Break::Retype(i, v) => {
            let i = i.index(p.len());
            p[i].1 = v.clone();
        }
        Break::Extra(k, v) => {
            if !p.iter().any(|(n, _)| n == k) {
                p.push((k.clone(), v.clone()));
            }
        }
        Break::Rf(v) => p[0].1 = v.clone(),
        Break::Op(v) => p[1].1 = v.clone(),
        Break::Replace(v) => return v.clone(),
    }
    Value::Object(p)
}

#[derive(Debug, Clone)]
enum Step {
    /// A message after the clock moved on by `dt` ms (bytes for `start`).
    Msg(u64, Gen, Break, [u8; 16]),
    /// `tick` after the clock moved on.
    Tick(u64),
    /// `tick` at `next_wake` (and `late` ms after it), if there is one.
    Wake(u64),
    /// The clock goes back (the system clock was set back), then `tick`.
    Back(u64),
}

fn dt() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => Just(0u64),
        4 => 1u64..300,
        3 => 300u64..6_000,
        1 => 6_000u64..400_000,
        1 => 60_000u64..1_200_000,
    ]
}

fn step() -> BoxedStrategy<Step> {
    prop_oneof![
        10 => (dt(), good_msg(), brk(), any::<[u8; 16]>()).prop_map(|(d, g, b, r)| Step::Msg(d, g, b, r)),
        1 => dt().prop_map(Step::Tick),
        2 => prop_oneof![Just(0u64), 0u64..50].prop_map(Step::Wake),
        1 => prop_oneof![1u64..1_000, 1_000u64..2_000_000].prop_map(Step::Back),
    ]
    .boxed()
}

fn sequence() -> impl Strategy<Value = Vec<Step>> {
    (
        prop::option::weighted(
            0.9,
            (
                config().prop_filter("a valid config", |c| config_ok(c) == Some(true)),
                any::<[u8; 16]>(),
            ),
        ),
        prop::collection::vec(step(), 1..40),
    )
        .prop_map(|(first, mut steps)| {
            if let Some((c, r)) = first {
                steps.insert(
                    0,
                    Step::Msg(0, Gen::Start(c, Session::None, None), Break::None, r),
                );
            }
            for op in ["flush", "stop"] {
                steps.push(Step::Msg(
                    1,
                    Gen::Msg(msg(op, vec![])),
                    Break::None,
                    [0; 16],
                ));
            }
            steps
        })
}

// ---- running ----

/// What the driver was asked, resolved (the second run repeats these).
#[derive(Debug, Clone)]
enum Action {
    Tick(u64),
    Msg(u64, Value, [u8; 16]),
}

/// One action's outputs, storage requests and `next_wake`.
type Seen = (Vec<Output>, Vec<StoreOp>, Option<u64>);

fn driver() -> Driver {
    let mut d = Driver::default();
    d.load("load-1".into(), &["load-1".into()], Vec::new(), T0);
    d.take_store_ops();
    d
}

fn act(d: &mut Driver, a: &Action) -> Seen {
    let out = match a {
        Action::Tick(now) => d.tick(*now),
        Action::Msg(now, m, r) => d.handle(m, *now, *r),
    };
    (out, d.take_store_ops(), d.next_wake())
}

/// One replay as started by one `started`: its accepted events and segments.
#[derive(Default)]
struct Epoch {
    id: String,
    mode: Option<Mode>,
    first_segment: u16,
    accepted: Vec<String>,
    segments: Vec<Segment>,
    /// Each `partial` as the complete body it makes (head, the chunks of its
    /// segment so far, tail), as a segment of its kind.
    partials: Vec<Segment>,
    chunks: Vec<(u16, Vec<u8>)>,
}

/// What a run saw: the model, the actions and their outputs, the replays.
#[derive(Default)]
struct State {
    model: Model,
    actions: Vec<Action>,
    seen: Vec<Seen>,
    epochs: Vec<Epoch>,
    last_session: Option<String>,
}

impl State {
    /// Notes what an action's outputs tell and keeps the action and its outputs.
    fn record(&mut self, a: Action, s: Seen) {
        self.model.see(&s.0);
        for o in &s.0 {
            match o {
                Output::Started {
                    replay_id,
                    mode,
                    segment_id,
                    ..
                } => self.epochs.push(Epoch {
                    id: replay_id.clone(),
                    mode: Some(*mode),
                    first_segment: *segment_id,
                    ..Epoch::default()
                }),
                Output::Segment(seg) => {
                    if let Some(e) = self.epochs.last_mut() {
                        e.segments.push(seg.clone());
                    }
                }
                Output::Session(v) => self.last_session = Some(v.clone()),
                Output::Partial {
                    segment_id,
                    event_count,
                    chunk,
                    head,
                    tail,
                    session,
                    url,
                    replay_event,
                    ..
                } => {
                    self.last_session = Some(session.clone());
                    if let Some(e) = self.epochs.last_mut() {
                        let at = match e.chunks.iter().position(|(id, _)| id == segment_id) {
                            Some(at) => at,
                            None => {
                                e.chunks.push((*segment_id, Vec::new()));
                                e.chunks.len() - 1
                            }
                        };
                        e.chunks[at].1.extend_from_slice(chunk);
                        let body = [&head[..], &e.chunks[at].1, &tail[..]].concat();
                        e.partials.push(Segment {
                            replay_id: e.id.clone(),
                            segment_id: *segment_id,
                            replay_type: ReplayType::Session,
                            start: 0,
                            end: 0,
                            event_count: *event_count,
                            kind: if replay_event.is_some() {
                                Kind::Recording
                            } else if body.first() == Some(&0x78) {
                                Kind::Plain
                            } else {
                                Kind::Envelope
                            },
                            url: url.clone(),
                            body,
                            replay_event: replay_event.clone(),
                        });
                    }
                }
                _ => {}
            }
        }
        self.actions.push(a);
        self.seen.push(s);
    }
}

/// Whether an event text is a Meta event (a checkout), read with the strict
/// test parser (not deeply nested ones: none of them is a Meta event).
fn is_meta(e: &str) -> bool {
    e.bytes().filter(|&c| c == b'[' || c == b'{').count() < 1_000
        && parse_json(e).is_ok_and(|j| j.get("type") == &J::Num(4.0))
}

fn run(steps: &[Step]) -> Result<(), TestCaseError> {
    let mut d = driver();
    let mut st = State::default();
    let mut now = T0;
    // Indices of the actions that were rejected messages.
    let mut rejected = Vec::new();

    for step in steps {
        match step {
            Step::Tick(dt) => {
                now += dt;
                let a = Action::Tick(now);
                let s = act(&mut d, &a);
                st.record(a, s);
            }
            Step::Back(by) => {
                now = now.saturating_sub(*by);
                let a = Action::Tick(now);
                let s = act(&mut d, &a);
                st.record(a, s);
            }
            Step::Wake(late) => {
                if let Some(w) = d.next_wake() {
                    now = now.max(w + late);
                    let a = Action::Tick(now);
                    let s = act(&mut d, &a);
                    st.record(a, s);
                }
            }
            Step::Msg(dt, g, b, r) => {
                now += dt;
                let (m, verdict) = match g {
                    Gen::Start(c, s, url) => {
                        let mut f = vec![("config", c.clone())];
                        match s {
                            Session::None => {}
                            Session::Null => f.push(("session", Value::Null)),
                            Session::Last(edits) => {
                                if let Some(v) = &st.last_session {
                                    f.push(("session", Value::Str(mutate(v, edits))));
                                }
                            }
                            Session::Text(t) => f.push(("session", t.clone())),
                        }
                        if let Some(u) = url {
                            f.push(("url", u.clone()));
                        }
                        (msg("start", f), None)
                    }
                    Gen::Msg(m) => (m.clone(), None),
                    Gen::Events(j, v, seq) => {
                        let mut f = vec![("json", Value::Str(j.clone()))];
                        if let Some(s) = seq {
                            f.push(("seq", s.clone()));
                        }
                        (msg("events", f), Some((j.clone(), *v)))
                    }
                };
                let m = apply_break(m, b);
                let verdict_of = |text: &str| match &verdict {
                    Some((j, Some(v))) if j == text => Some(*v),
                    _ => serde_verdict(text),
                };
                let mut want = expect(&m, &st.model, verdict_of);
                let may_reject = !matches!(
                    want,
                    Expect::Accept {
                        batch: None | Some(Some(true))
                    }
                );
                if may_reject {
                    // Time passes first, so that the message itself has no timers to run.
                    let a = Action::Tick(now);
                    let s = act(&mut d, &a);
                    st.record(a, s);
                    want = expect(&m, &st.model, verdict_of);
                }
                let live_before = st.model.live();
                let a = Action::Msg(now, m.clone(), *r);
                let s = act(&mut d, &a);
                let out = &s.0;
                let rej: Vec<&Output> = out
                    .iter()
                    .filter(|o| matches!(o, Output::Rejected { .. }))
                    .collect();
                for o in &rej {
                    if let Output::Rejected { of, message, .. } = o {
                        prop_assert!(message.starts_with("ringflate: "), "{message}");
                        prop_assert_eq!(message.matches("ringflate:").count(), 1);
                        let op = match m.get("op") {
                            Value::Str(s) => Some(s.clone()),
                            _ => None,
                        };
                        prop_assert_eq!(of, &op);
                    }
                }
                let code = rej.first().map(|o| match o {
                    Output::Rejected { code, .. } => *code,
                    _ => unreachable!(),
                });
                match &want {
                    Expect::Reject(c) => {
                        prop_assert_eq!(out.len(), 1, "{:?} for {:?}", out, m);
                        prop_assert_eq!(code, Some(*c), "{:?}", m);
                    }
                    Expect::Accept { batch } => {
                        let bad = matches!(batch, Some(Some(false)));
                        let unknown = matches!(batch, Some(None));
                        if bad {
                            prop_assert_eq!(out.len(), 1, "{:?} for {:?}", out, m);
                            prop_assert_eq!(code, Some(Code::BadBatch), "{:?}", m);
                        } else if unknown && code.is_some() {
                            prop_assert_eq!(out.len(), 1, "{:?}", out);
                            prop_assert_eq!(code, Some(Code::BadBatch));
                        } else {
                            prop_assert!(code.is_none(), "rejected {:?}: {:?}", m, out);
                        }
                    }
                    Expect::Either => {
                        if code.is_some() {
                            prop_assert_eq!(out.len(), 1);
                            prop_assert_eq!(code, Some(Code::BadField));
                        }
                    }
                }
                match m.get("op") {
                    Value::Str(op) if code.is_none() && op == "ping" => {
                        prop_assert_eq!(out, &vec![Output::Pong]);
                    }
                    Value::Str(op) if code.is_none() && op == "start" => {
                        prop_assert!(
                            matches!(out.first(), Some(Output::Started { .. })),
                            "{:?}",
                            out
                        );
                    }
                    Value::Str(op) if code.is_none() && op == "flush" && st.model.started_ever => {
                        prop_assert!(matches!(out.last(), Some(Output::Stats(_))), "{:?}", out);
                    }
                    _ => {}
                }
                let accepted_batch = match (code, m.get("json"), m.get("op")) {
                    (None, Value::Str(j), Value::Str(op)) if op == "events" && live_before => {
                        // Timers of this message may have ended the replay before its batch.
                        (!out.iter().any(|o| matches!(o, Output::Stopped(_)))).then(|| j.clone())
                    }
                    _ => None,
                };
                if code.is_some() {
                    rejected.push(st.actions.len());
                }
                st.record(a, s);
                if let (Some(j), Some(e)) = (accepted_batch, st.epochs.last_mut()) {
                    e.accepted.extend(items(&j));
                }
            }
        }
    }

    // Every accepted event in a segment exactly once, in order.
    for e in &st.epochs {
        let mut sent = Vec::new();
        for (k, s) in e.segments.iter().enumerate() {
            prop_assert_eq!(&s.replay_id, &e.id);
            prop_assert_eq!(usize::from(s.segment_id), usize::from(e.first_segment) + k);
            let rec = recording(s);
            let text = std::str::from_utf8(&rec).expect("utf-8 recording");
            let evs = items(text);
            prop_assert_eq!(evs.len(), s.event_count as usize);
            sent.extend(evs);
        }
        // Every partial is a complete body: the first events of the segment of its id.
        for p in &e.partials {
            let Some(s) = e.segments.iter().find(|s| s.segment_id == p.segment_id) else {
                prop_assert!(false, "partial of segment {} that never came", p.segment_id);
                continue;
            };
            let p = Segment {
                replay_type: s.replay_type,
                ..p.clone()
            };
            let evs = items(std::str::from_utf8(&recording(&p)).expect("utf-8 partial"));
            prop_assert_eq!(evs.len(), p.event_count as usize);
            let seg = items(std::str::from_utf8(&recording(s)).expect("utf-8 recording"));
            prop_assert!(
                seg.starts_with(&evs),
                "partial of segment {} is not its start",
                p.segment_id
            );
        }
        match e.mode {
            Some(Mode::Session) => prop_assert!(
                sent == e.accepted,
                "session mode: sent {} of {} events",
                sent.len(),
                e.accepted.len()
            ),
            Some(Mode::Buffer) => {
                let k = e.accepted.len() - sent.len().min(e.accepted.len());
                prop_assert!(
                    e.accepted[k..] == sent[..]
                        && (sent.is_empty() || k == 0 || is_meta(&e.accepted[k])),
                    "buffer mode: sent {} of {} events, not the events from a checkout on",
                    sent.len(),
                    e.accepted.len()
                );
            }
            _ => prop_assert!(sent.is_empty()),
        }
    }

    // Without the rejected messages: the same outputs at every other step.
    let mut d2 = driver();
    let mut r = rejected.iter().peekable();
    for (i, a) in st.actions.iter().enumerate() {
        if r.peek() == Some(&&i) {
            r.next();
            continue;
        }
        let s = act(&mut d2, a);
        prop_assert!(
            s == st.seen[i],
            "step {} ({:?}) differs without the rejected messages",
            i,
            a
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_message_sequences(steps in sequence()) {
        run(&steps)?;
    }
}

/// An op and its fields: name, type name, required.
type Table = (&'static str, Vec<(&'static str, &'static str, bool)>);

/// The oracle's table is the protocol's table (a new op or field must be
/// added to both).
#[test]
fn the_oracle_knows_every_op_and_field() {
    let ours: Vec<Table> = OPS
        .iter()
        .map(|(n, f)| {
            (
                *n,
                f.iter()
                    .map(|(k, t, r)| {
                        let t = match t {
                            T::Str => "string",
                            T::Num => "number",
                            T::Bool => "boolean",
                            T::StrOrNull => "string|null",
                            T::Object => "object",
                        };
                        (*k, t, *r)
                    })
                    .collect(),
            )
        })
        .collect();
    let theirs: Vec<Table> = HOST_OPS
        .iter()
        .map(|(n, f)| {
            (
                *n,
                f.iter()
                    .map(|x| (x.name, x.ty.name(), x.required))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(ours, theirs);
}
