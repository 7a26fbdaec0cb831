//! What the engine writes and reads as JSON, against a real JSON parser
//! (serde_json): every envelope line, `replay_event` and session value the
//! engine writes parses and carries exactly the values that went in (unicode,
//! quotes, backslashes, control characters), and `split_batch` agrees with
//! serde_json on random batches, valid and mutated.

mod engine_util;

use engine_util::T0;
use proptest::prelude::*;
use ringflate::engine::{split_batch, Config, Engine, Output, Target};
use serde_json::{json, Map, Value};

// ---- split_batch ----

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        "[\"\\\\/{}\\[\\],:é世🎉\\n\\t\\u{1}]{0,12}".prop_map(Value::String),
    ]
}

fn nested() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-z\"\\\\]{0,6}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// An event: usually a valid one (numeric `type` and `timestamp`), sometimes
/// with a field missing or of another type; `data` with `source` / `href`.
fn event() -> impl Strategy<Value = Value> {
    let num = prop_oneof![
        8 => (0u64..1 << 53).prop_map(|n| json!(n)),
        1 => (0u64..1 << 40).prop_map(|n| json!(n as f64 + 0.5)),
        1 => leaf(),
    ];
    (
        prop::option::weighted(0.95, num.clone()),
        prop::option::weighted(0.95, num),
        prop::option::of(nested()),
        prop::option::of(0u64..20),
        prop::option::of(any::<String>()),
        prop::collection::vec(("[a-z]{1,8}", nested()), 0..3),
        any::<u8>(),
    )
        .prop_map(|(kind, ts, data, source, href, extra, order)| {
            let mut m = Map::new();
            let mut d = match data {
                Some(Value::Object(o)) => o,
                Some(other) => {
                    let mut o = Map::new();
                    o.insert("v".into(), other);
                    o
                }
                None => Map::new(),
            };
            if let Some(s) = source {
                d.insert("source".into(), json!(s));
            }
            if let Some(h) = href {
                d.insert("href".into(), json!(h));
            }
            for (k, v) in extra {
                if !matches!(k.as_str(), "type" | "timestamp" | "data") {
                    m.insert(k, v);
                }
            }
            // Field order varies (serde_json's map is sorted; `order` picks where `data` goes).
            m.insert(
                if order % 2 == 0 { "data" } else { "zdata" }.into(),
                Value::Object(d),
            );
            if let Some(k) = kind {
                m.insert("type".into(), k);
            }
            if let Some(t) = ts {
                m.insert("timestamp".into(), t);
            }
            Value::Object(m)
        })
}

/// What the scanner must read as an unsigned integer (fraction truncated).
fn as_u64(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_sign_positive() && *f < 1.8e19)
                .map(|f| f as u64)
        }),
        _ => None,
    }
}

/// Whether the scanner's reading of a number agrees with serde_json's: exactly
/// for integers and small decimals. A decimal with a fraction or exponent is
/// read exactly by the scanner but rounded to a double by serde_json (within
/// an ulp), so from 2⁵⁰ on, where an ulp is a quarter or more, the truncated
/// values may differ by a unit or an ulp.
fn same_number(got: Option<u64>, v: Option<&Value>) -> bool {
    let want = as_u64(v);
    match (got, want, v.and_then(Value::as_f64)) {
        (Some(g), Some(w), Some(f))
            if f >= 1_125_899_906_842_624.0 && v.and_then(Value::as_u64).is_none() =>
        {
            (g as f64 - w as f64).abs() <= 1.0 + f * f64::EPSILON * 2.0
        }
        _ => got == want,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 384, ..ProptestConfig::default() })]

    #[test]
    fn split_batch_agrees_with_serde_json(events in prop::collection::vec(event(), 0..8), pad in 0usize..3) {
        let texts: Vec<String> = events.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
        let sep = [",", " , ", ",\n"][pad];
        let batch = format!("[{}]", texts.join(sep));
        // The batch is valid JSON by construction.
        let parsed: Value = serde_json::from_str(&batch).unwrap();
        prop_assert_eq!(parsed.as_array().unwrap().len(), events.len());
        let valid = events.iter().all(|e| as_u64(e.get("type")).is_some() && as_u64(e.get("timestamp")).is_some());
        match split_batch(&batch) {
            Err(why) => prop_assert!(!valid, "rejected a valid batch: {why}\n{batch}"),
            Ok(got) => {
                prop_assert!(valid, "accepted an event without numeric type/timestamp: {batch}");
                prop_assert_eq!(got.len(), events.len());
                for ((g, e), t) in got.iter().zip(&events).zip(&texts) {
                    prop_assert_eq!(&batch[g.start..g.end], t.as_str());
                    prop_assert_eq!(Some(g.kind), as_u64(e.get("type")));
                    prop_assert_eq!(Some(g.timestamp), as_u64(e.get("timestamp")));
                    let data = e.get("data");
                    prop_assert_eq!(g.source, as_u64(data.and_then(|d| d.get("source"))).filter(|_| data.is_some()));
                    let href = data.and_then(|d| d.get("href")).and_then(Value::as_str);
                    let got_href = g.href.as_ref().map(|h| serde_json::from_str::<String>(&h.0).unwrap());
                    prop_assert_eq!(got_href.as_deref(), href);
                    prop_assert_eq!(g.utf16, t.encode_utf16().count() as u64);
                }
            }
        }
    }
}

/// One edit of a batch text at a char boundary.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Insert(usize, char),
    Replace(usize, char),
    /// Repeats the `len` chars at the position.
    Repeat(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let ch = prop_oneof![
        4 => prop::sample::select(vec![
            '{', '}', '[', ']', ',', ':', '"', '\\', ' ', '0', '1', '-', '+', '.', 'e', 'E', 't', 'f', 'n', 'u',
            'l', 'a', 'x', '\n', '\u{1}', '/', 'b',
        ]),
        1 => any::<char>(),
    ];
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), ch.clone()).prop_map(|(i, c)| Edit::Insert(i, c)),
        (any::<usize>(), ch).prop_map(|(i, c)| Edit::Replace(i, c)),
        (any::<usize>(), 1usize..12).prop_map(|(i, n)| Edit::Repeat(i, n)),
    ]
}

fn apply(text: &str, e: &Edit) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return text.to_string();
    }
    let at = |i: &usize| i % chars.len();
    let mut c = chars.clone();
    match e {
        Edit::Delete(i) => {
            c.remove(at(i));
        }
        Edit::Insert(i, ch) => c.insert(at(i), *ch),
        Edit::Replace(i, ch) => c[at(i)] = *ch,
        Edit::Repeat(i, n) => {
            let s = at(i);
            let piece: Vec<char> = chars[s..(s + n).min(chars.len())].to_vec();
            c.splice(s..s, piece);
        }
    }
    c.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// A batch serde_json rejects is rejected whole; one it reads is accepted
    /// exactly when every event has a numeric `type` and `timestamp`, and read
    /// as serde_json reads it.
    #[test]
    fn split_batch_agrees_with_serde_json_on_mutated_batches(
        events in prop::collection::vec(event(), 1..5),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let texts: Vec<String> = events.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
        let mut batch = format!("[{}]", texts.join(","));
        for e in &edits {
            batch = apply(&batch, e);
        }
        let grammar_ok = serde_json::from_str::<serde::de::IgnoredAny>(&batch).is_ok();
        let got = split_batch(&batch);
        if !grammar_ok {
            prop_assert!(got.is_err(), "accepted invalid JSON: {batch}");
            return Ok(());
        }
        // Valid JSON that serde_json cannot hold as values (a lone surrogate escape, a number out of f64's range).
        let Ok(parsed) = serde_json::from_str::<Value>(&batch) else {
            return Ok(());
        };
        let events: Vec<Value> = match parsed {
            Value::Array(a) => a,
            _ => {
                prop_assert!(got.is_err(), "accepted a non-array: {batch}");
                return Ok(());
            }
        };
        let valid = events.iter().all(|e| {
            e.is_object() && as_u64(e.get("type")).is_some() && as_u64(e.get("timestamp")).is_some()
        });
        match got {
            Err(why) => prop_assert!(!valid, "rejected a valid batch ({why}): {batch}"),
            Ok(got) => {
                prop_assert!(valid, "accepted a batch with an event that is not one: {batch}");
                prop_assert_eq!(got.len(), events.len());
                for (g, e) in got.iter().zip(&events) {
                    let text = &batch[g.start..g.end];
                    prop_assert_eq!(&serde_json::from_str::<Value>(text).unwrap(), e);
                    prop_assert!(same_number(Some(g.kind), e.get("type")), "type {} in {batch}", g.kind);
                    prop_assert!(same_number(Some(g.timestamp), e.get("timestamp")), "timestamp {} in {batch}", g.timestamp);
                    let data = e.get("data").filter(|d| d.is_object());
                    prop_assert!(same_number(g.source, data.and_then(|d| d.get("source"))), "source {:?} in {batch}", g.source);
                    let href = data.and_then(|d| d.get("href")).and_then(Value::as_str);
                    let got_href = g.href.as_ref().map(|h| serde_json::from_str::<String>(&h.0));
                    match (got_href, href) {
                        (Some(Ok(a)), Some(b)) => prop_assert_eq!(a.as_str(), b),
                        (None, None) => {}
                        (a, b) => prop_assert!(false, "href {a:?} vs {b:?} in {batch}"),
                    }
                    prop_assert_eq!(g.utf16, text.encode_utf16().count() as u64);
                }
            }
        }
    }
}

// ---- what the engine writes ----

/// Text with everything JSON must escape, and unicode.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a\"\\\\/\\n\\r\\t\\u{0}\\u{1f}\\u{7f}é世🎉\\u{2028}]{0,16}",
    ]
}

fn lines(body: &[u8]) -> Vec<Value> {
    // Four JSON lines, the payload line, then zlib bytes.
    let mut out = Vec::new();
    let mut rest = body;
    for _ in 0..5 {
        let n = rest.iter().position(|&c| c == b'\n').unwrap();
        out.push(serde_json::from_slice(&rest[..n]).expect("a JSON line"));
        rest = &rest[n + 1..];
    }
    out
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn envelopes_replay_events_and_session_values_parse_and_round_trip(
        env in text(), release in prop::option::of(text()), sdk_name in text(), sdk_version in text(),
        start_url in text(), hrefs in prop::collection::vec(text(), 0..4), error_ids in prop::collection::vec(text(), 0..5),
        key in "[a-z0-9]{1,12}", sentry_client in any::<bool>(), seed in any::<u64>(),
    ) {
        let mut cfg = Config::new(1.0, 0.0);
        let dsn = format!("https://{key}@o1.ingest.test/42");
        cfg.target = if sentry_client {
            Target::Recording
        } else {
            Target::Envelope { url: "/tunnel".into(), dsn: Some(dsn.clone()) }
        };
        cfg.environment = env.clone();
        cfg.release = release.clone();
        cfg.sdk_name = sdk_name.clone();
        cfg.sdk_version = sdk_version.clone();
        cfg.url = Some(start_url.clone());
        cfg.min_replay_duration_ms = 0;
        let mut random = [0u8; 16];
        random[..8].copy_from_slice(&seed.to_le_bytes());
        let (mut e, mut out) = Engine::start(cfg, None, T0, random);
        let id = e.replay_id().to_string();
        let events: Vec<String> = hrefs
            .iter()
            .enumerate()
            .map(|(i, h)| json!({"type": 4, "timestamp": T0 + i as u64, "data": {"href": h}}).to_string())
            .chain([json!({"type": 3, "timestamp": T0 + 9, "data": {"source": 0, "t": env}}).to_string()])
            .collect();
        out.extend(e.events(&format!("[{}]", events.join(",")), T0 + 10));
        for eid in &error_ids {
            out.extend(e.error(Some(eid), false, T0 + 11));
        }
        out.extend(e.trace(&"ab".repeat(16), T0 + 12));
        // A Meta event sends its segment at once: the ids go with the next one.
        out.extend(e.events(&format!("[{}]", json!({"type": 3, "timestamp": T0 + 13, "data": {"source": 0}})), T0 + 13));
        out.extend(e.flush(T0 + 20));
        out.extend(e.stop(T0 + 30));

        // Session values: flat objects that parse, with the replay's id, and that continue the replay.
        let mut last = None;
        for o in &out {
            if let Output::Session(v) = o {
                let s: Value = serde_json::from_str(v).unwrap();
                prop_assert_eq!(s["v"].as_u64(), Some(1));
                prop_assert_eq!(s["id"].as_str(), Some(id.as_str()));
                last = Some(v.clone());
            }
        }
        let ended: Value = serde_json::from_str(last.as_deref().unwrap()).unwrap();
        prop_assert_eq!(ended["ended"].as_u64(), Some(1));

        // Every segment: header lines and the replay_event carry the values given.
        let mut urls_seen = Vec::new();
        let mut ids_seen = Vec::new();
        let mut traces_seen = Vec::new();
        for o in &out {
            let (ev, header) = match o {
                Output::Segment(s) if sentry_client => {
                    let ev: Value = serde_json::from_str(s.replay_event.as_deref().unwrap()).unwrap();
                    let nl = s.body.iter().position(|&c| c == b'\n').unwrap();
                    let line: Value = serde_json::from_slice(&s.body[..nl]).unwrap();
                    prop_assert_eq!(line, json!({"segment_id": s.segment_id}));
                    (ev, None)
                }
                Output::Segment(s) => {
                    let l = lines(&s.body);
                    prop_assert_eq!(&l[1], &json!({"type": "replay_event"}));
                    prop_assert_eq!(l[3]["type"].as_str(), Some("replay_recording"));
                    prop_assert_eq!(&l[4], &json!({"segment_id": s.segment_id}));
                    (l[2].clone(), Some(l[0].clone()))
                }
                Output::Partial { replay_event: Some(ev), .. } => {
                    serde_json::from_str::<Value>(ev).unwrap();
                    continue;
                }
                _ => continue,
            };
            if let Some(h) = header {
                prop_assert_eq!(h["event_id"].as_str(), Some(id.as_str()));
                prop_assert_eq!(&h["sdk"], &json!({"name": sdk_name, "version": sdk_version}));
                prop_assert_eq!(h["dsn"].as_str(), Some(dsn.as_str()));
                prop_assert_eq!(ev["environment"].as_str(), Some(env.as_str()));
                prop_assert_eq!(ev.get("release").and_then(Value::as_str), release.as_deref());
                prop_assert_eq!(&ev["sdk"], &json!({"name": sdk_name, "version": sdk_version}));
                prop_assert_eq!(ev["platform"].as_str(), Some("javascript"));
            } else {
                prop_assert!(ev.get("environment").is_none() && ev.get("sdk").is_none());
            }
            prop_assert_eq!(ev["replay_id"].as_str(), Some(id.as_str()));
            urls_seen.extend(strings(&ev["urls"]));
            ids_seen.extend(strings(&ev["error_ids"]));
            traces_seen.extend(strings(&ev["trace_ids"]));
        }
        // URLs: the start URL then the Meta hrefs, without repeats in a row.
        let mut want_urls: Vec<String> = Vec::new();
        for u in std::iter::once(&start_url).chain(&hrefs) {
            if want_urls.last() != Some(u) {
                want_urls.push(u.clone());
            }
        }
        prop_assert_eq!(urls_seen, want_urls);
        let mut want_ids: Vec<String> = Vec::new();
        for i in &error_ids {
            if !want_ids.contains(i) {
                want_ids.push(i.clone());
            }
        }
        prop_assert_eq!(ids_seen, want_ids);
        prop_assert_eq!(traces_seen, vec!["ab".repeat(16)]);
    }
}
