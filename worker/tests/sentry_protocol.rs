//! Sentry's worker protocol against a reference model of its semantics: for any
//! interleaving of addEvent / clear / finish, every finish result is one zlib
//! stream (78 9C … Adler-32, nothing after) that inflates to exactly
//! `'[' + events.join(',') + ']'` for the events added since the last finish or clear.

use proptest::prelude::*;
use ringflate::sentry::{Field, Message, Outcome, Response, SentryWorker};
use std::io::Read;

fn msg(method: &str, arg: Field) -> Message {
    Message::Object {
        id: Field::Number,
        method: Field::Str(method.into()),
        arg,
    }
}

/// Inflates a zlib stream strictly: header 78 9C, valid trailer, no trailing bytes.
fn inflate_strict(z: &[u8]) -> String {
    assert_eq!(&z[..2], &[0x78, 0x9C], "zlib header");
    let mut d = flate2::read::ZlibDecoder::new(z);
    let mut out = String::new();
    d.read_to_string(&mut out)
        .expect("inflates, Adler-32 checks");
    assert_eq!(
        d.total_in() as usize,
        z.len(),
        "nothing may follow the Adler-32"
    );
    out
}

fn finish(w: &mut SentryWorker) -> String {
    match w.handle(msg("finish", Field::Absent)) {
        Outcome::Ok(Response::Bytes(b)) => inflate_strict(&b),
        other => panic!("finish answered {other:?}"),
    }
}

fn add(w: &mut SentryWorker, e: &str) {
    assert_eq!(
        w.handle(msg("addEvent", Field::Str(e.into()))),
        Outcome::Ok(Response::Nothing)
    );
}

#[derive(Debug, Clone)]
enum Op {
    Add(String),
    Clear,
    Finish,
}

fn event() -> impl Strategy<Value = String> {
    // Realistic rrweb-like events with arbitrary text, including non-ASCII.
    (0u8..7, any::<u32>(), "\\PC{0,40}").prop_map(|(ty, ts, text)| {
        let text = text.replace('\\', "\\\\").replace('"', "\\\"");
        format!("{{\"type\":{ty},\"timestamp\":{ts},\"data\":{{\"text\":\"{text}\"}}}}")
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => event().prop_map(Op::Add),
        1 => Just(Op::Clear),
        2 => Just(Op::Finish),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn any_interleaving_matches_the_model(ops in proptest::collection::vec(op(), 0..60), level in 0u32..=9) {
        let mut w = SentryWorker::new(level);
        let mut model: Vec<String> = Vec::new();
        for op in ops {
            match op {
                Op::Add(e) => { add(&mut w, &e); model.push(e); }
                Op::Clear => {
                    prop_assert_eq!(w.handle(msg("clear", Field::Absent)), Outcome::Ok(Response::Nothing));
                    model.clear();
                }
                Op::Finish => {
                    let expected = format!("[{}]", model.join(","));
                    prop_assert_eq!(finish(&mut w), expected);
                    model.clear();
                }
            }
        }
        prop_assert_eq!(finish(&mut w), format!("[{}]", model.join(",")));
    }
}

#[test]
fn two_finishes_in_a_row_give_events_then_empty() {
    let mut w = SentryWorker::default();
    add(&mut w, r#"{"type":4,"timestamp":1}"#);
    add(&mut w, r#"{"type":2,"timestamp":2}"#);
    assert_eq!(
        finish(&mut w),
        r#"[{"type":4,"timestamp":1},{"type":2,"timestamp":2}]"#
    );
    assert_eq!(finish(&mut w), "[]");
}

#[test]
fn clear_ignores_its_argument() {
    let mut w = SentryWorker::default();
    add(&mut w, "{}");
    assert_eq!(
        w.handle(msg("clear", Field::Str("buffer".into()))),
        Outcome::Ok(Response::Nothing)
    );
    assert_eq!(finish(&mut w), "[]");
}

#[test]
fn unicode_survives_as_utf8() {
    // Emoji, CJK, and lone surrogates as JSON.stringify escapes them.
    let events = [
        r#"{"type":3,"data":{"text":"héllo 🎉 世界 نص"}}"#,
        r#"{"type":3,"data":{"text":"\ud800 lone \udfff"}}"#,
        "{\"type\":5,\"data\":{\"tag\":\"\u{10FFFF}\u{2028}\"}}",
    ];
    let mut w = SentryWorker::default();
    for e in events {
        add(&mut w, e);
    }
    let out = finish(&mut w);
    assert_eq!(out, format!("[{}]", events.join(",")));
    assert!(out.as_bytes().windows(4).any(|b| b == "🎉".as_bytes()));
}

#[test]
fn a_20_mb_event_round_trips() {
    let body: String = (0..20_000_000 / 40)
        .map(|i| format!("<div id=\"n{:08}\">text {:09}</div>", i % 9_999_999, i))
        .collect::<Vec<_>>()
        .concat();
    let event = format!("{{\"type\":2,\"data\":{{\"html\":\"{body}\"}}}}");
    assert!(event.len() > 20_000_000);
    let mut w = SentryWorker::default();
    add(&mut w, r#"{"type":4}"#);
    add(&mut w, &event);
    let out = finish(&mut w);
    assert_eq!(out.len(), event.len() + r#"[{"type":4},]"#.len());
    assert!(out == format!("[{{\"type\":4}},{event}]"));
}

#[test]
fn malformed_messages_get_clear_errors_or_are_ignored() {
    let mut w = SentryWorker::default();
    let err = |o: Outcome| match o {
        Outcome::Err(text) => text,
        other => panic!("expected an error, got {other:?}"),
    };
    // No id, or not an object: nothing to answer to.
    assert!(matches!(w.handle(Message::NotAnObject), Outcome::Ignore(_)));
    assert!(matches!(
        w.handle(Message::Object {
            id: Field::Absent,
            method: Field::Str("finish".into()),
            arg: Field::Absent
        }),
        Outcome::Ignore(_)
    ));
    // Carries an id: a reason comes back.
    let t = err(w.handle(msg("nope", Field::Absent)));
    assert!(
        t.contains("unknown method \"nope\"") && t.contains("addEvent"),
        "{t}"
    );
    let t = err(w.handle(Message::Object {
        id: Field::Other("string".into()),
        method: Field::Str("finish".into()),
        arg: Field::Absent,
    }));
    assert!(t.contains("id must be a number"), "{t}");
    let t = err(w.handle(Message::Object {
        id: Field::Number,
        method: Field::Absent,
        arg: Field::Absent,
    }));
    assert!(t.contains("no method"), "{t}");
    let t = err(w.handle(Message::Object {
        id: Field::Number,
        method: Field::Number,
        arg: Field::Absent,
    }));
    assert!(t.contains("method must be a string, got number"), "{t}");
    for bad in [
        Field::Absent,
        Field::Number,
        Field::Other("object".into()),
        Field::Str(String::new()),
        Field::Str("  ".into()),
        Field::Str("[object Object]".into()),
        Field::Str("{\"truncated\":".into()),
    ] {
        let t = err(w.handle(msg("addEvent", bad.clone())));
        assert!(t.starts_with("Adding invalid event"), "{bad:?}: {t}");
    }
    let t = err(w.handle(msg("compress", Field::Number)));
    assert!(t.contains("compress needs a string"), "{t}");
    // None of that touched the stream.
    add(&mut w, "{\"ok\":1}");
    assert_eq!(finish(&mut w), "[{\"ok\":1}]");
}

#[test]
fn compress_is_gzip_of_utf8() {
    let mut w = SentryWorker::default();
    let text = "payload ✓ ".repeat(1000);
    let gz = match w.handle(msg("compress", Field::Str(text.clone()))) {
        Outcome::Ok(Response::Bytes(b)) => b,
        other => panic!("{other:?}"),
    };
    let mut out = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, text);
}
