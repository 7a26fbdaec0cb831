//! A batch read in parts is read exactly as the whole text: the same events
//! (ranges, `type`, `timestamp`, `data.source`, `data.href`, UTF-16 length),
//! the same rejections (message included) and the same driver outputs.
//!
//! Two ways of cutting, each compared with the whole text:
//! - UTF-8 bytes cut anywhere (random cuts, and every byte its own part): cuts
//!   inside escapes, `\uXXXX` sequences, numbers, literals, keys and
//!   multi-byte characters;
//! - the wasm layer's rule on a UTF-16 text (`utf16_part`, as `wasm.rs` cuts a
//!   JS string; each part converted on its own as the JS glue does, lone
//!   surrogates to U+FFFD), with parts of 1 unit up to a few dozen.
//!
//! Batches: events written by serde_json with strings full of quotes,
//! backslashes, control characters, `é`, `世`, `🎉`, then edited at random in
//! UTF-16 units (deletions, insertions of JSON punctuation, escape fragments
//! and lone surrogates), so that both accepted and rejected batches are cut.
//! Cases per run: 1,000 by default; more with `PROPTEST_CASES`.

mod engine_util;

use engine_util::{msg, parse_envelope, T0};
use proptest::prelude::*;
use ringflate::engine::{split_batch, utf16_part, Driver, Long, Output, Text, Value};
use serde_json::json;
use std::borrow::Cow;
use std::rc::Rc;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000)
}

/// UTF-8 bytes cut at the given byte positions.
struct Cut {
    bytes: Vec<u8>,
    cuts: Vec<usize>,
}

impl Cut {
    fn new(text: &str, mut cuts: Vec<usize>) -> Cut {
        cuts.iter_mut().for_each(|c| *c %= text.len() + 1);
        cuts.push(0);
        cuts.sort_unstable();
        cuts.dedup();
        Cut {
            bytes: text.as_bytes().to_vec(),
            cuts,
        }
    }

    fn every_byte(text: &str) -> Cut {
        Cut::new(text, (0..text.len()).collect())
    }
}

impl Text for Cut {
    fn part(&self, i: usize) -> Option<Cow<'_, [u8]>> {
        let a = *self.cuts.get(i)?;
        let b = self.cuts.get(i + 1).copied().unwrap_or(self.bytes.len());
        Some(Cow::Borrowed(&self.bytes[a..b]))
    }
}

/// A JS string cut as the wasm layer cuts one, in parts of `size` units.
struct Js {
    units: Vec<u16>,
    size: u32,
}

impl Text for Js {
    fn part(&self, i: usize) -> Option<Cow<'_, [u8]>> {
        let u = &self.units;
        let (a, b) = utf16_part(i, self.size, u.len() as u32, |k| u32::from(u[k as usize]))?;
        Some(Cow::Owned(
            String::from_utf16_lossy(&u[a as usize..b as usize]).into_bytes(),
        ))
    }
}

// ---- batches ----

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z\"\\\\/{}\\[\\],:é世🎉\\n\\t\\u{1}\\u{1f}]{0,16}",
        any::<String>(),
    ]
}

fn leaf() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(json!(null)),
        any::<bool>().prop_map(|b| json!(b)),
        any::<i64>().prop_map(|n| json!(n)),
        (-1e9f64..1e9).prop_map(|f| json!(f)),
        text().prop_map(|s| json!(s)),
    ]
}

fn nested() -> impl Strategy<Value = serde_json::Value> {
    leaf().prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::Array),
            prop::collection::vec(("[a-z\"\\\\é]{0,6}", inner), 0..5)
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// An event: a numeric `type` and `timestamp` (some large, fractional or
/// with an exponent), `data` with `source` / `href` and more.
fn event() -> impl Strategy<Value = String> {
    let num = prop_oneof![
        (0u64..20).prop_map(|n| n.to_string()),
        (0u64..u64::MAX).prop_map(|n| n.to_string()),
        (1u64..2_000_000_000_000).prop_map(|n| format!("{n}.{}", n % 997)),
        (1u64..1000).prop_map(|n| format!("{n}e3")),
    ];
    (
        num.clone(),
        num,
        prop::option::of(0u64..20),
        prop::option::of(text()),
        nested(),
    )
        .prop_map(|(kind, ts, source, href, extra)| {
            let mut data = serde_json::Map::new();
            if let Some(s) = source {
                data.insert("source".into(), json!(s));
            }
            if let Some(h) = href {
                data.insert("href".into(), json!(h));
            }
            data.insert("x".into(), extra);
            let data = serde_json::to_string(&data).unwrap();
            format!("{{\"type\":{kind},\"data\":{data},\"timestamp\":{ts}}}")
        })
}

/// One edit of the batch's UTF-16 units.
#[derive(Debug, Clone)]
enum Edit {
    Delete(usize),
    Insert(usize, Vec<u16>),
}

fn edit() -> impl Strategy<Value = Edit> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "\"", "\\", "{", "}", "[", "]", ",", ":", "1", "-", "e", ".", "\\u", "\\u12",
            "\\uD83C", "tru", "nul", " ", "é", "🎉",
        ])
        .prop_map(|s| s.encode_utf16().collect::<Vec<u16>>()),
        // Lone surrogates, as a JS string may hold them.
        (0xD800u16..0xE000).prop_map(|u| vec![u]),
    ];
    prop_oneof![
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), piece).prop_map(|(at, p)| Edit::Insert(at, p)),
    ]
}

fn batch() -> impl Strategy<Value = Vec<u16>> {
    (
        prop::collection::vec(event(), 0..5),
        0usize..3,
        prop::collection::vec(edit(), 0..3),
    )
        .prop_map(|(events, sep, edits)| {
            let sep = [",", " , ", ",\n"][sep];
            let mut u: Vec<u16> = format!("[{}]", events.join(sep)).encode_utf16().collect();
            for e in edits {
                match e {
                    Edit::Delete(at) if !u.is_empty() => {
                        u.remove(at % u.len());
                    }
                    Edit::Delete(_) => {}
                    Edit::Insert(at, p) => {
                        let at = at % (u.len() + 1);
                        u.splice(at..at, p);
                    }
                }
            }
            u
        })
}

// ---- the driver ----

fn start(buffer: bool) -> Value {
    let (s, e) = if buffer { (0.0, 1.0) } else { (1.0, 0.0) };
    msg(
        "start",
        vec![(
            "config",
            Value::obj(&[
                ("sessionSampleRate", Value::Number(s)),
                ("errorSampleRate", Value::Number(e)),
                ("dsn", Value::str("http://abc@127.0.0.1:9/42")),
            ]),
        )],
    )
}

/// Outputs with their compressed bytes replaced by what they inflate to:
/// deflate's output may differ with how its input was cut (not what it
/// inflates to), and so may the compressed sizes in `stats`.
struct Seen {
    /// Each partial's segment: head and the chunks so far.
    chunks: Vec<u8>,
    lines: Vec<String>,
}

impl Seen {
    fn add(&mut self, out: Vec<Output>) {
        let line: Vec<String> = out
            .into_iter()
            .map(|o| match o {
                Output::Segment(mut s) => {
                    let e = parse_envelope(&s.body);
                    s.body = format!("{:?} {:?} {}", e.header, e.event, String::from_utf8_lossy(&e.recording)).into_bytes();
                    self.chunks.clear();
                    format!("{s:?}")
                }
                Output::Partial { segment_id, seq, event_count, adler, chunk, head, tail, session, url, replay_event } => {
                    self.chunks.extend_from_slice(&chunk);
                    let mut body = head;
                    body.extend_from_slice(&self.chunks);
                    body.extend_from_slice(&tail);
                    let e = parse_envelope(&body);
                    format!(
                        "Partial {segment_id} {seq} {event_count} {adler} {session} {url:?} {replay_event:?} {:?} {}",
                        e.event,
                        String::from_utf8_lossy(&e.recording)
                    )
                }
                Output::Stats(mut s) => {
                    (s.segment_bytes, s.buffer_bytes) = (0, 0);
                    format!("{:?}", Output::Stats(s))
                }
                o => format!("{o:?}"),
            })
            .collect();
        self.lines.push(line.join(" | "));
    }
}

/// Every output of a run: start, the batches (each as `json`), a flush, an
/// error (buffer mode sends its history), stop.
fn run(buffer: bool, batches: &[Value]) -> Vec<String> {
    let mut d = Driver::default();
    let mut now = T0;
    let mut seen = Seen {
        chunks: Vec::new(),
        lines: Vec::new(),
    };
    seen.add(d.handle(&start(buffer), now, [3; 16]));
    for (i, json) in batches.iter().enumerate() {
        now += 700;
        let m = msg(
            "events",
            vec![
                ("json", json.clone()),
                ("seq", Value::Number(i as f64 + 1.0)),
            ],
        );
        seen.add(d.handle(&m, now, [0; 16]));
        seen.lines.push(format!("wake {:?}", d.next_wake()));
        seen.add(d.tick(now + 300));
    }
    now += 10_000;
    for m in [
        msg("flush", vec![]),
        msg("error", vec![("sampled", Value::Bool(true))]),
        msg("stop", vec![]),
    ] {
        seen.add(d.handle(&m, now, [0; 16]));
    }
    seen.lines
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn a_batch_read_in_parts_is_read_as_the_whole_text(
        units in batch(),
        cuts in prop::collection::vec(any::<usize>(), 0..12),
        size in 1u32..40,
    ) {
        let whole = String::from_utf16_lossy(&units);
        let want = split_batch(&whole);
        prop_assert_eq!(&split_batch(&Cut::new(&whole, cuts)), &want, "random byte cuts: {}", whole);
        prop_assert_eq!(&split_batch(&Cut::every_byte(&whole)), &want, "every byte: {}", whole);
        for size in [1, 2, size] {
            let js = Js { units: units.clone(), size };
            prop_assert_eq!(&split_batch(&js), &want, "parts of {} units: {}", size, whole);
        }
    }

    #[test]
    fn the_driver_gives_the_same_outputs_for_a_batch_read_in_parts(
        batches in prop::collection::vec((batch(), 1u32..40, prop::collection::vec(any::<usize>(), 0..8)), 1..4),
        buffer in any::<bool>(),
    ) {
        let whole: Vec<Value> = batches
            .iter()
            .map(|(u, _, _)| Value::Str(String::from_utf16_lossy(u)))
            .collect();
        let js: Vec<Value> = batches
            .iter()
            .map(|(u, size, _)| Value::Long(Long(Rc::new(Js { units: u.clone(), size: *size }))))
            .collect();
        let cut: Vec<Value> = batches
            .iter()
            .map(|(u, _, cuts)| Value::Long(Long(Rc::new(Cut::new(&String::from_utf16_lossy(u), cuts.clone())))))
            .collect();
        let want = run(buffer, &whole);
        prop_assert_eq!(&run(buffer, &js), &want);
        prop_assert_eq!(&run(buffer, &cut), &want);
    }
}

/// Valid batches with the rrweb corpus's events in parts: the same driver
/// outputs as the whole texts (what `driver_props` checks further: every
/// event in a segment once).
#[test]
fn corpus_batches_in_parts() {
    let events = engine_util::corpus("d4-spa-live-unmasked");
    let batches: Vec<String> = events
        .chunks(40)
        .map(|c| format!("[{}]", c.join(",")))
        .collect();
    for size in [1usize, 7, 4096] {
        let whole: Vec<Value> = batches.iter().map(|b| Value::str(b)).collect();
        let parts: Vec<Value> = batches
            .iter()
            .map(|b| {
                let units: Vec<u16> = b.encode_utf16().collect();
                Value::Long(Long(Rc::new(Js {
                    units,
                    size: size as u32,
                })))
            })
            .collect();
        for buffer in [false, true] {
            assert_eq!(
                run(buffer, &parts),
                run(buffer, &whole),
                "parts of {size} units"
            );
        }
    }
}
