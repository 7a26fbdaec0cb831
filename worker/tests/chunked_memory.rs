//! Memory while a 20 MB event is handled in parts: the text is made part by
//! part as it is read (as the wasm layer reads a JS string that lives outside
//! linear memory), and a counting allocator measures the heap the driver adds
//! at its peak. The bound: a few parts, the deflater of the segment the event
//! opens, and the compressed output a few times; the event's whole text (27
//! MB of UTF-8 here) never. The recording still inflates to the event.

mod engine_util;

use engine_util::{msg, parse_envelope, peak, reset_peak, Counting, T0};
use ringflate::engine::{Driver, Long, Output, Text, Value};
use std::borrow::Cow;
use std::rc::Rc;

#[global_allocator]
static A: Counting = Counting;

/// The part size: the wasm layer's 256 Ki units, as bytes (at most 3 per unit).
const PART: usize = 3 * 262_144;
/// JSON text of a string holding an escaped quote, backslash and newline, a
/// 2-byte and a 4-byte UTF-8 character: 14 bytes, so parts are cut inside each.
const PATTERN: &str = r#"ab\"\\é🎉\n"#;
const REPEAT: usize = 2_000_000;

fn head(ts: u64) -> String {
    format!("[{{\"type\":5,\"timestamp\":{ts},\"data\":{{\"tag\":\"big\",\"payload\":{{\"text\":\"")
}
const TAIL: &str = "\"}}}]";

/// The batch `[event]`, made part by part.
struct Big {
    head: String,
}

impl Big {
    fn len(&self) -> usize {
        self.head.len() + PATTERN.len() * REPEAT + TAIL.len()
    }

    fn byte(&self, k: usize) -> u8 {
        let body = PATTERN.len() * REPEAT;
        let h = self.head.len();
        if k < h {
            self.head.as_bytes()[k]
        } else if k < h + body {
            PATTERN.as_bytes()[(k - h) % PATTERN.len()]
        } else {
            TAIL.as_bytes()[k - h - body]
        }
    }
}

impl Text for Big {
    fn part(&self, i: usize) -> Option<Cow<'_, [u8]>> {
        let a = i * PART;
        (a < self.len()).then(|| {
            Cow::Owned(
                (a..(a + PART).min(self.len()))
                    .map(|k| self.byte(k))
                    .collect(),
            )
        })
    }
}

#[test]
fn a_20_mb_event_in_parts_needs_a_few_parts_of_memory() {
    let mut d = Driver::default();
    let config = Value::obj(&[
        ("sessionSampleRate", Value::Number(1.0)),
        ("errorSampleRate", Value::Number(0.0)),
        ("dsn", Value::str("http://abc@127.0.0.1:9/42")),
    ]);
    d.handle(&msg("start", vec![("config", config)]), T0, [5; 16]);
    let big = Big { head: head(T0) };
    let len = big.len();
    let events = msg(
        "events",
        vec![
            ("json", Value::Long(Long(Rc::new(big)))),
            ("seq", Value::Number(1.0)),
        ],
    );

    let before = reset_peak();
    let out = d.handle(&events, T0 + 100, [0; 16]);
    let events_peak = peak() - before;
    assert!(
        out.iter().all(|o| !matches!(o, Output::Rejected { .. })),
        "{out:?}"
    );

    let before = reset_peak();
    let out = d.handle(&msg("flush", vec![]), T0 + 200, [0; 16]);
    let flush_peak = peak() - before;
    let seg = out
        .iter()
        .find_map(|o| match o {
            Output::Segment(s) => Some(s),
            _ => None,
        })
        .expect("the segment");
    let compressed = seg.body.len();

    // Two parts (one is freed as the next is made; the deflater may reserve
    // half a part ahead in the segment's bytes), the deflater of the segment
    // the event opens (zlib-rs: about 370 KiB), the compressed bytes up to 4
    // times (growing, finished, framed).
    let bound = 2 * PART + PART / 2 + 512 * 1024 + 4 * compressed;
    eprintln!(
        "batch {len} B in parts of {PART} B: peak {events_peak} B while handling it, {flush_peak} B while sending \
         its segment of {compressed} B (bound {bound} B)"
    );
    assert!(events_peak <= bound, "events: {events_peak} > {bound}");
    assert!(flush_peak <= bound, "flush: {flush_peak} > {bound}");

    let rec = parse_envelope(&seg.body).recording;
    let mut want = head(T0).into_bytes();
    for _ in 0..REPEAT {
        want.extend_from_slice(PATTERN.as_bytes());
    }
    want.extend_from_slice(TAIL.as_bytes());
    assert!(
        rec == want,
        "the recording is the event ({} vs {} bytes)",
        rec.len(),
        want.len()
    );
}
