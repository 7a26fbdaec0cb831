//! Engine mode end to end, with a fake clock: session segments as envelopes,
//! buffer mode, partials, persistence, and malformed messages.

mod engine_util;

use engine_util::*;
use ringflate::engine::{
    Code, Config, Driver, Engine, Kind, Mode, Output, ReplayType, Stop, Target, Value,
};

/// Feeds events in batches, one batch per `step` ms; returns all outputs.
fn feed(
    e: &mut Engine,
    events: &[String],
    per_batch: usize,
    now: &mut u64,
    step: u64,
) -> Vec<Output> {
    let mut out = Vec::new();
    for b in events.chunks(per_batch) {
        out.extend(e.events(&batch(b), *now));
        *now += step;
    }
    out
}

#[test]
fn session_segments_are_envelopes_with_exactly_the_events() {
    let events = corpus("d4-spa-live-unmasked");
    let mut cfg = envelope_config(session_config());
    cfg.url = Some("http://127.0.0.1/app".into());
    cfg.release = Some("app@1.0".into());
    let (mut e, started) = start(cfg, T0);
    assert!(
        matches!(&started[0], Output::Started { mode: Mode::Session, segment_id: 0, draws, .. } if draws.is_empty())
    );
    let mut now = T0;
    let mut out = feed(&mut e, &events, 7, &mut now, 300);
    out.extend(e.stop(now));
    let segs = segments(&out);
    assert!(segs.len() > 5, "{} segments", segs.len());
    let mut all = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        assert_eq!(s.segment_id as usize, i);
        assert_eq!(s.kind, Kind::Envelope);
        assert_eq!(s.replay_type, ReplayType::Session);
        assert_eq!(
            s.url.as_deref(),
            Some("http://127.0.0.1:9/api/42/envelope/?sentry_version=7&sentry_key=abc")
        );
        let env = parse_envelope(&s.body);
        assert!(!env.header.has("dsn"));
        assert_eq!(env.event.get("release").s(), "app@1.0");
        assert_eq!(env.event.get("environment").s(), "production");
        if i == 0 {
            assert_eq!(env.event.get("urls").arr()[0].s(), "http://127.0.0.1/app");
        }
        let got = split_recording(&env.recording);
        assert_eq!(got.len() as u32, s.event_count);
        assert_eq!(env.recording, array_of(&got));
        all.extend(got);
    }
    assert_eq!(all, events, "every event exactly once, in order");
    assert!(has(&out, |o| matches!(o, Output::Stopped(Stop::Stop))));
    assert_eq!(
        e.stats().compressed_input_bytes,
        events.iter().map(|s| s.len() as u64).sum::<u64>()
    );
}

#[test]
fn plain_segments_and_tunnel_envelopes() {
    let evs: Vec<String> = (0..20).map(|i| mutation(T0 + i * 100)).collect();
    let mut cfg = session_config();
    cfg.target = Target::Plain {
        url: Some("http://127.0.0.1/ingest".into()),
    };
    let (mut e, _) = start(cfg, T0);
    e.events(&batch(&evs), T0);
    let out = e.flush(T0 + 100);
    let s = segments(&out)[0];
    assert_eq!(
        (s.kind, s.url.as_deref(), s.event_count),
        (
            Kind::Plain,
            Some("http://127.0.0.1/ingest?replayId=07070707070707070707070707070707&segmentId=0&replayType=session&start=1700000000000&end=1700000001900&eventCount=20"),
            20
        )
    );
    assert_eq!((s.start, s.end), (T0, T0 + 1900));
    assert_eq!(inflate_strict(&s.body), array_of(&evs));
    assert!(has(
        &out,
        |o| matches!(o, Output::Stats(st) if st.events == 20)
    ));

    let c = Config::from_value(&Value::obj(&[
        ("sessionSampleRate", Value::Number(1.0)),
        ("errorSampleRate", Value::Number(0.0)),
        ("dsn", Value::str("https://key@o1.example/7")),
        ("tunnel", Value::str("/tunnel")),
        (
            "sdk",
            Value::obj(&[
                ("name", Value::str("sentry.javascript.browser")),
                ("version", Value::str("11.12.0")),
            ]),
        ),
        ("environment", Value::str("staging")),
    ]))
    .unwrap();
    let (mut e, _) = start(c, T0);
    e.events(&batch(&evs), T0);
    let out = e.flush(T0 + 100);
    let s = segments(&out)[0];
    assert_eq!(s.url.as_deref(), Some("/tunnel"));
    let env = parse_envelope(&s.body);
    assert_eq!(env.header.get("dsn").s(), "https://key@o1.example/7");
    assert_eq!(env.header.get("sdk").get("version").s(), "11.12.0");
    assert_eq!(
        env.event.get("sdk").get("name").s(),
        "sentry.javascript.browser"
    );
    assert_eq!(env.event.get("environment").s(), "staging");
    assert_eq!(env.event.get("timestamp").n(), (T0 + 1900) as f64 / 1000.0);
    assert_eq!(env.header.get("sent_at").s(), "2023-11-14T22:13:20.100Z");
    assert_eq!(env.recording, array_of(&evs));
}

#[test]
fn partials_always_make_a_complete_envelope() {
    let events = corpus("d2-spa-dashboard-masked");
    let events = &events[..600];
    let (mut e, _) = start(envelope_config(session_config()), T0);
    let mut now = T0;
    let mut added = 0;
    let mut chunks: Vec<u8> = Vec::new();
    let mut chunks_seg = None;
    let mut partials = 0;
    let mut sent: Vec<String> = Vec::new();
    for b in events.chunks(5) {
        let mut out = e.events(&batch(b), now);
        added += b.len();
        out.extend(e.tick(now + 150));
        now += 300;
        for o in &out {
            match o {
                Output::Segment(s) => {
                    sent.extend(split_recording(&recording(s)));
                }
                Output::Partial {
                    segment_id,
                    chunk,
                    head,
                    tail,
                    session,
                    ..
                } => {
                    if chunks_seg != Some(*segment_id) {
                        chunks.clear();
                        chunks_seg = Some(*segment_id);
                    }
                    chunks.extend_from_slice(chunk);
                    let mut body = head.clone();
                    body.extend_from_slice(&chunks);
                    body.extend_from_slice(tail);
                    let env = parse_envelope(&body);
                    assert_eq!(env.segment_id, u64::from(*segment_id));
                    assert!(session.contains(&format!("\"segmentId\":{}", segment_id + 1)));
                    // The partial holds exactly the events added since the last segment.
                    let mut upto = sent.clone();
                    upto.extend(split_recording(&env.recording));
                    assert!(
                        upto == events[..added],
                        "partial has {} events, expected {added}",
                        upto.len()
                    );
                    partials += 1;
                }
                _ => {}
            }
        }
    }
    assert!(partials > 25, "{partials} partials");
}

#[test]
fn buffer_mode_sends_history_then_continues_as_session() {
    let mut cfg = envelope_config(buffer_config());
    cfg.buffer_ms = 10_000;
    let (mut e, started) = start(cfg, T0);
    let Output::Started {
        mode: Mode::Buffer,
        draws,
        ..
    } = &started[0]
    else {
        panic!("{started:?}")
    };
    assert_eq!(draws.len(), 32);
    assert!(
        draws.iter().all(|d| *d),
        "errorSampleRate 1 draws always sample"
    );
    let mut all = Vec::new();
    let mut now = T0;
    // A checkout every 4 s, an event every 500 ms, for 30 s.
    for i in 0..60u64 {
        let ev = if i % 8 == 0 {
            ev(4, now, None)
        } else {
            click(now)
        };
        all.push(ev.clone());
        let out = e.events(&batch(&[ev]), now);
        assert!(segments(&out).is_empty());
        now += 500;
    }
    let out = e.error(Some("0123456789abcdef0123456789abcdef"), true, now);
    let segs = segments(&out);
    assert_eq!(segs.len(), 1);
    let s = segs[0];
    assert_eq!((s.segment_id, s.replay_type), (0, ReplayType::Buffer));
    let env = parse_envelope(&s.body);
    assert_eq!(
        env.event.get("error_ids").arr()[0].s(),
        "0123456789abcdef0123456789abcdef"
    );
    let got = split_recording(&env.recording);
    assert!(got[0].starts_with("{\"type\":4"), "starts at a checkout");
    assert!(s.start <= now - 10_000, "at least bufferMs of history");
    assert_eq!(
        got,
        all[all.len() - got.len()..].to_vec(),
        "a contiguous suffix"
    );
    assert!(has(&out, |o| matches!(o, Output::Checkout)));
    assert_eq!(e.mode(), Mode::Session);
    // Session mode now; replay_type stays buffer.
    let more: Vec<String> = (0..5)
        .map(|i| {
            if i == 0 {
                ev(4, now + i, None)
            } else {
                click(now + i)
            }
        })
        .collect();
    let mut out = e.events(&batch(&more), now);
    out.extend(e.tick(now + 6_000));
    let s = segments(&out)[0];
    assert_eq!((s.segment_id, s.replay_type), (1, ReplayType::Buffer));
    assert_eq!(recording(s), array_of(&more));
}

#[test]
fn malformed_messages_are_rejected_and_nothing_is_applied() {
    let mut d = Driver::default();
    let r = [1u8; 16];
    let msg = |op: &str, extra: &[(&str, Value)]| {
        let mut p = vec![("rf", Value::Number(1.0)), ("op", Value::str(op))];
        p.extend(extra.iter().cloned());
        Value::obj(&p)
    };
    let start_cfg = Value::obj(&[
        ("sessionSampleRate", Value::Number(1.0)),
        ("errorSampleRate", Value::Number(0.0)),
    ]);
    let check = |d: &mut Driver, m: Value, of: Option<&str>, needle: &str, want: Code| {
        let out = d.handle(&m, T0, r);
        assert_eq!(out.len(), 1, "{out:?}");
        let Output::Rejected {
            of: got_of,
            code,
            message,
        } = &out[0]
        else {
            panic!("{out:?}")
        };
        assert_eq!(got_of.as_deref(), of);
        assert_eq!(*code, want, "{message}");
        assert!(
            message.starts_with("ringflate: ") && message.matches("ringflate: ").count() == 1,
            "{message:?} starts with the prefix exactly once"
        );
        assert!(
            message.contains(needle),
            "{message:?} should mention {needle:?}"
        );
    };
    check(&mut d, Value::str("hi"), None, "object", Code::NotObject);
    check(&mut d, Value::Null, None, "object", Code::NotObject);
    check(
        &mut d,
        Value::obj(&[("op", Value::str("start"))]),
        Some("start"),
        "rf: 1",
        Code::BadRf,
    );
    check(
        &mut d,
        Value::obj(&[("rf", Value::Number(2.0)), ("op", Value::str("flush"))]),
        Some("flush"),
        "rf: 1",
        Code::BadRf,
    );
    check(
        &mut d,
        Value::obj(&[("rf", Value::Number(1.0))]),
        None,
        "op must be a string",
        Code::UnknownOp,
    );
    check(
        &mut d,
        msg("nope", &[]),
        Some("nope"),
        "unknown op",
        Code::UnknownOp,
    );
    check(
        &mut d,
        msg("events", &[("json", Value::str("[]"))]),
        Some("events"),
        "before start",
        Code::NotStarted,
    );
    check(
        &mut d,
        msg("start", &[]),
        Some("start"),
        "config must be an object",
        Code::BadField,
    );
    check(
        &mut d,
        msg(
            "start",
            &[(
                "config",
                Value::obj(&[
                    ("sessionSampleRate", Value::Number(2.0)),
                    ("errorSampleRate", Value::Number(0.0)),
                ]),
            )],
        ),
        Some("start"),
        "sessionSampleRate",
        Code::BadField,
    );
    check(
        &mut d,
        msg(
            "start",
            &[(
                "config",
                Value::obj(&[
                    ("sessionSampleRate", Value::str("1")),
                    ("errorSampleRate", Value::Number(0.0)),
                ]),
            )],
        ),
        Some("start"),
        "sessionSampleRate",
        Code::BadField,
    );
    check(
        &mut d,
        msg(
            "start",
            &[(
                "config",
                Value::obj(&[
                    ("sessionSampleRate", Value::Number(1.0)),
                    ("errorSampleRate", Value::Number(0.0)),
                    ("dsn", Value::str("nope")),
                ]),
            )],
        ),
        Some("start"),
        "dsn",
        Code::BadField,
    );
    check(
        &mut d,
        msg(
            "start",
            &[(
                "config",
                Value::obj(&[
                    ("sessionSampleRate", Value::Number(1.0)),
                    ("errorSampleRate", Value::Number(0.0)),
                    ("dsn", Value::str("https://k@h/1")),
                    ("endpoint", Value::str("/x")),
                ]),
            )],
        ),
        Some("start"),
        "not both",
        Code::BadField,
    );
    check(
        &mut d,
        msg(
            "start",
            &[
                ("config", start_cfg.clone()),
                ("session", Value::Number(3.0)),
            ],
        ),
        Some("start"),
        "session must be a string",
        Code::BadField,
    );
    assert!(d.engine().is_none(), "rejected starts start nothing");

    let out = d.handle(
        &msg(
            "start",
            &[("config", start_cfg.clone()), ("session", Value::Null)],
        ),
        T0,
        r,
    );
    assert!(matches!(
        out[0],
        Output::Started {
            mode: Mode::Session,
            ..
        }
    ));
    check(
        &mut d,
        msg("start", &[("config", start_cfg)]),
        Some("start"),
        "already running",
        Code::AlreadyStarted,
    );
    check(
        &mut d,
        msg("events", &[]),
        Some("events"),
        "json must be a string",
        Code::BadField,
    );
    check(
        &mut d,
        msg("events", &[("json", Value::Other("array".into()))]),
        Some("events"),
        "got array",
        Code::BadField,
    );
    check(
        &mut d,
        msg("error", &[("eventId", Value::str("x"))]),
        Some("error"),
        "sampled must be a boolean",
        Code::BadField,
    );
    check(
        &mut d,
        msg(
            "error",
            &[
                ("eventId", Value::Number(1.0)),
                ("sampled", Value::Bool(false)),
            ],
        ),
        Some("error"),
        "eventId must be a string",
        Code::BadField,
    );
    check(
        &mut d,
        msg("hidden", &[("hidden", Value::str("yes"))]),
        Some("hidden"),
        "hidden must be a boolean",
        Code::BadField,
    );

    let good = mutation(T0);
    for bad in [
        String::new(),
        "{}".into(),
        format!("[{good},"),
        format!("[{good},{{\"type\":3}}]"),
        format!("[{good},\"x\"]"),
        format!("[{good}]]"),
        format!("[{good},{{\"type\":3,\"timestamp\":1,\"data\":{{]}}]"),
    ] {
        check(
            &mut d,
            msg("events", &[("json", Value::Str(bad.clone()))]),
            Some("events"),
            "",
            Code::BadBatch,
        );
    }
    assert_eq!(
        d.engine().unwrap().stats().events,
        0,
        "no part of a malformed batch is applied"
    );
    let out = d.handle(
        &msg(
            "events",
            &[("json", Value::Str(batch(std::slice::from_ref(&good))))],
        ),
        T0,
        r,
    );
    assert!(rejected(&out).is_none());
    let out = d.handle(&msg("flush", &[]), T0 + 1, r);
    assert_eq!(recording(segments(&out)[0]), array_of(&[good]));
}

#[test]
fn plain_partials_concatenate_to_the_zlib_recording() {
    let mut cfg = session_config();
    cfg.target = Target::Plain {
        url: Some("/ingest".into()),
    };
    let (mut e, _) = start(cfg, T0);
    let mut chunks = Vec::new();
    let mut added = Vec::new();
    for i in 0..12u64 {
        let now = T0 + 5_000 + i * 400;
        let ev = if i % 3 == 0 {
            click(now)
        } else {
            mutation(now)
        };
        added.push(ev.clone());
        for o in e.events(&batch(&[ev]), now) {
            if let Output::Partial {
                segment_id: 0,
                chunk,
                head,
                tail,
                ..
            } = o
            {
                chunks.extend_from_slice(&chunk);
                assert_eq!(
                    &head[..2],
                    &[0x78, 0x9c],
                    "plain head is the zlib header and ["
                );
                let mut body = head.clone();
                body.extend_from_slice(&chunks);
                body.extend_from_slice(&tail);
                assert_eq!(inflate_strict(&body), array_of(&added));
            }
        }
    }
    assert!(!chunks.is_empty());
}
