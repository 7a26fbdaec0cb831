//! The engine protocol v2 additions, at the driver level: rejection codes and
//! the text prefix, destinations told by the worker (`segment.url` for plain
//! segments, `partial.url`), `start` without `session`, the Sentry-client
//! target (`sentryClient`), and the `trace` op.

mod engine_util;

use engine_util::*;
use ringflate::engine::{Code, Driver, Kind, Mode, Output, Segment, Value, PROTOCOL_VERSION};

const R: [u8; 16] = [3; 16];

fn msg(op: &str, extra: &[(&str, Value)]) -> Value {
    let mut p = vec![("rf", Value::Number(1.0)), ("op", Value::str(op))];
    p.extend(extra.iter().cloned());
    Value::obj(&p)
}

fn config(extra: &[(&str, Value)]) -> Value {
    let mut p = vec![
        ("sessionSampleRate", Value::Number(1.0)),
        ("errorSampleRate", Value::Number(0.0)),
        ("minReplayDurationMs", Value::Number(0.0)),
    ];
    p.extend(extra.iter().cloned());
    Value::obj(&p)
}

fn started(d: &mut Driver, cfg: Value) -> (String, Mode) {
    let out = d.handle(&msg("start", &[("config", cfg)]), T0, R);
    match &out[0] {
        Output::Started {
            replay_id, mode, ..
        } => (replay_id.clone(), *mode),
        o => panic!("{o:?}"),
    }
}

fn events(d: &mut Driver, evs: &[String], now: u64) -> Vec<Output> {
    d.handle(&msg("events", &[("json", Value::Str(batch(evs)))]), now, R)
}

fn partials(out: &[Output]) -> Vec<&Output> {
    out.iter()
        .filter(|o| matches!(o, Output::Partial { .. }))
        .collect()
}

fn rejection(out: &[Output]) -> (Code, &str) {
    match out {
        [Output::Rejected { code, message, .. }] => (*code, message.as_str()),
        o => panic!("expected one rejection, got {o:?}"),
    }
}

#[test]
fn the_protocol_version_is_two() {
    assert_eq!(PROTOCOL_VERSION, 2);
}

#[test]
fn every_rejection_has_a_code_and_one_prefix() {
    let names: Vec<&str> = Code::ALL.iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "not_object",
            "bad_rf",
            "unknown_op",
            "not_started",
            "already_started",
            "bad_field",
            "bad_batch",
            "unavailable",
            "internal"
        ]
    );
    let mut d = Driver::default();
    let cases: Vec<(Value, Code)> = vec![
        (Value::Number(1.0), Code::NotObject),
        (Value::obj(&[("op", Value::str("flush"))]), Code::BadRf),
        (
            Value::obj(&[("rf", Value::Number(1.0)), ("op", Value::Bool(true))]),
            Code::UnknownOp,
        ),
        (msg("teleport", &[]), Code::UnknownOp),
        (msg("flush", &[]), Code::NotStarted),
        (
            msg("trace", &[("traceId", Value::str(&"a".repeat(32)))]),
            Code::NotStarted,
        ),
        (
            msg(
                "start",
                &[("config", config(&[("sentryClient", Value::str("yes"))]))],
            ),
            Code::BadField,
        ),
    ];
    for (m, want) in cases {
        let out = d.handle(&m, T0, R);
        let (code, message) = rejection(&out);
        assert_eq!(code, want, "{message}");
        assert!(message.starts_with("ringflate: "), "{message}");
        assert_eq!(message.matches("ringflate:").count(), 1, "{message}");
    }
    started(&mut d, config(&[]));
    for (m, want) in [
        (
            msg("start", &[("config", config(&[]))]),
            Code::AlreadyStarted,
        ),
        (
            msg("events", &[("json", Value::str("[{\"type\":3}]"))]),
            Code::BadBatch,
        ),
        (
            msg("events", &[("json", Value::str("[1]"))]),
            Code::BadBatch,
        ),
        (msg("trace", &[]), Code::BadField),
        (
            msg("trace", &[("traceId", Value::str("abc"))]),
            Code::BadField,
        ),
        (
            msg("trace", &[("traceId", Value::str(&"A".repeat(32)))]),
            Code::BadField,
        ),
    ] {
        let out = d.handle(&m, T0, R);
        let (code, message) = rejection(&out);
        assert_eq!(code, want, "{message}");
        assert!(message.starts_with("ringflate: "), "{message}");
        assert_eq!(message.matches("ringflate:").count(), 1, "{message}");
    }
}

#[test]
fn start_without_session_starts_a_new_replay() {
    let mut d = Driver::default();
    let (id, mode) = started(&mut d, config(&[]));
    assert_eq!((id.len(), mode), (32, Mode::Session));
}

/// The parameters after `base` (the endpoint and its `?` or `&`).
fn query(url: &str, base: &str) -> Vec<(String, String)> {
    url.strip_prefix(base)
        .expect("the endpoint first")
        .split('&')
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("k=v");
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn plain_segments_get_their_url_from_the_worker() {
    for (endpoint, base) in [
        ("https://app.test/replays", "https://app.test/replays?"),
        ("/ingest?tenant=7", "/ingest?tenant=7&"),
    ] {
        let mut d = Driver::default();
        let (id, _) = started(&mut d, config(&[("endpoint", Value::str(endpoint))]));
        let evs = [mutation(T0 + 5), click(T0 + 9), mutation(T0 + 7)];
        let mut out = events(&mut d, &evs, T0 + 10);
        let p = partials(&out);
        let Some(Output::Partial {
            url: Some(purl), ..
        }) = p.first()
        else {
            panic!("a partial with a url: {out:?}")
        };
        assert!(purl.starts_with(base), "{purl}");
        let q = query(purl, base);
        let want = |seg: &str, count: &str| {
            vec![
                ("replayId".to_string(), id.clone()),
                ("segmentId".into(), seg.into()),
                ("replayType".into(), "session".into()),
                ("start".into(), (T0 + 5).to_string()),
                ("end".into(), (T0 + 9).to_string()),
                ("eventCount".into(), count.into()),
            ]
        };
        assert_eq!(q, want("0", "3"));
        out = d.handle(&msg("flush", &[]), T0 + 20, R);
        let s = segments(&out)[0];
        assert_eq!(s.kind, Kind::Plain);
        let url = s.url.as_deref().expect("segment url");
        assert!(url.starts_with(base), "{url}");
        assert_eq!(query(url, base), want("0", "3"));
        assert_eq!(recording(s), array_of(&evs));
    }
}

#[test]
fn partial_url_is_present_exactly_when_the_segment_has_one() {
    let targets: [(&[(&str, Value)], bool); 4] = [
        (&[], false),
        (&[("endpoint", Value::str("https://x.test/r"))], true),
        (&[("dsn", Value::str("https://k@o1.ingest.test/5"))], true),
        (&[("sentryClient", Value::Bool(true))], false),
    ];
    for (extra, has_url) in targets {
        let mut d = Driver::default();
        started(&mut d, config(extra));
        let out = events(&mut d, &[mutation(T0 + 1)], T0 + 1);
        let p = partials(&out);
        let Some(Output::Partial { url: purl, .. }) = p.first() else {
            panic!("{out:?}")
        };
        let out = d.handle(&msg("flush", &[]), T0 + 2, R);
        let s = segments(&out)[0];
        assert_eq!(purl.is_some(), has_url, "{extra:?}");
        assert_eq!(s.url.is_some(), has_url, "{extra:?}");
        if let (Some(p), Some(u)) = (purl, &s.url) {
            if s.kind == Kind::Envelope {
                assert_eq!(p, u, "an envelope partial goes where the segment goes");
            }
        }
    }
}

fn recording_segment(s: &Segment) -> (J, Vec<u8>) {
    assert_eq!(s.kind, Kind::Recording);
    assert!(s.url.is_none());
    let ev = parse_json(s.replay_event.as_deref().unwrap()).unwrap();
    (ev, recording(s))
}

#[test]
fn sentry_client_segments_are_the_recording_payload_and_the_replay_event() {
    let mut d = Driver::default();
    let out = d.handle(
        &msg(
            "start",
            &[
                ("config", config(&[("sentryClient", Value::Bool(true))])),
                ("url", Value::str("http://app.test/\"q\"")),
            ],
        ),
        T0,
        R,
    );
    let Output::Started { replay_id: id, .. } = &out[0] else {
        panic!("{out:?}")
    };
    let id = id.clone();
    let evs = [mutation(T0 + 3), mutation(T0 + 4)];
    let out = events(&mut d, &evs, T0 + 10);
    let p = partials(&out);
    let Some(Output::Partial {
        segment_id: 0,
        chunk,
        head,
        tail,
        replay_event: Some(pev),
        url: None,
        ..
    }) = p.first()
    else {
        panic!("{out:?}")
    };
    // head + chunks + tail is the replay_recording payload.
    assert!(head.starts_with(b"{\"segment_id\":0}\n\x78\x9c"));
    let mut payload = head.clone();
    payload.extend_from_slice(chunk);
    payload.extend_from_slice(tail);
    let n = b"{\"segment_id\":0}\n".len();
    assert_eq!(inflate_strict(&payload[n..]), array_of(&evs));
    let pev = parse_json(pev).unwrap();
    assert_eq!(pev.get("replay_id").s(), id);

    let out = d.handle(
        &msg(
            "error",
            &[
                ("eventId", Value::str("e1")),
                ("sampled", Value::Bool(false)),
            ],
        ),
        T0 + 11,
        R,
    );
    assert!(rejected(&out).is_none());
    let out = d.handle(
        &msg("trace", &[("traceId", Value::str(&"c".repeat(32)))]),
        T0 + 12,
        R,
    );
    assert!(rejected(&out).is_none());
    let out = d.handle(&msg("flush", &[]), T0 + 20, R);
    let s = segments(&out)[0];
    let (ev, rec) = recording_segment(s);
    assert_eq!(rec, array_of(&evs));
    let J::Obj(fields) = &ev else { panic!() };
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "type",
            "replay_id",
            "segment_id",
            "replay_type",
            "replay_start_timestamp",
            "timestamp",
            "error_ids",
            "trace_ids",
            "urls"
        ],
        "only what the worker knows; the SDK adds the rest"
    );
    assert_eq!(ev.get("replay_id").s(), id);
    assert_eq!(ev.get("segment_id").n(), 0.0);
    assert_eq!(ev.get("replay_type").s(), "session");
    assert_eq!(ev.get("replay_start_timestamp").n(), T0 as f64 / 1000.0);
    assert_eq!(ev.get("timestamp").n(), (T0 + 4) as f64 / 1000.0);
    assert_eq!(ev.get("error_ids"), &J::Arr(vec![J::Str("e1".into())]));
    assert_eq!(ev.get("trace_ids"), &J::Arr(vec![J::Str("c".repeat(32))]));
    assert_eq!(
        ev.get("urls"),
        &J::Arr(vec![J::Str("http://app.test/\"q\"".into())])
    );
}

#[test]
fn sentry_client_goes_without_dsn_tunnel_and_endpoint() {
    for extra in [
        ("dsn", Value::str("https://k@h.test/1")),
        ("tunnel", Value::str("/tunnel")),
        ("endpoint", Value::str("/r")),
    ] {
        let mut d = Driver::default();
        let out = d.handle(
            &msg(
                "start",
                &[(
                    "config",
                    config(&[("sentryClient", Value::Bool(true)), extra.clone()]),
                )],
            ),
            T0,
            R,
        );
        let (code, message) = rejection(&out);
        assert_eq!(code, Code::BadField);
        assert!(message.contains("sentryClient"), "{message}");
    }
    // false is the default and combines with anything.
    let mut d = Driver::default();
    started(
        &mut d,
        config(&[
            ("sentryClient", Value::Bool(false)),
            ("endpoint", Value::str("/r")),
        ]),
    );
}

fn trace_ids(s: &Segment) -> Vec<String> {
    let ev = match s.kind {
        Kind::Envelope => parse_envelope(&s.body).event,
        _ => parse_json(s.replay_event.as_deref().unwrap()).unwrap(),
    };
    ev.get("trace_ids")
        .arr()
        .iter()
        .map(|t| t.s().to_string())
        .collect()
}

#[test]
fn trace_ids_go_with_the_next_segment_deduplicated_and_capped() {
    let mut d = Driver::default();
    started(&mut d, config(&[("sentryClient", Value::Bool(true))]));
    let mut rng = Rng(11);
    let ids: Vec<String> = (0..130).map(|_| rng.hex(32)).collect();
    events(&mut d, &[mutation(T0 + 1)], T0 + 1);
    for (i, t) in ids.iter().enumerate() {
        for _ in 0..2 {
            let out = d.handle(
                &msg("trace", &[("traceId", Value::str(t))]),
                T0 + 2 + i as u64,
                R,
            );
            assert!(rejected(&out).is_none());
        }
    }
    let out = d.handle(&msg("flush", &[]), T0 + 500, R);
    let got = trace_ids(segments(&out)[0]);
    assert_eq!(got, ids[30..], "de-duplicated, the newest 100");
    // The next segment starts with none.
    events(&mut d, &[mutation(T0 + 600)], T0 + 600);
    let out = d.handle(&msg("flush", &[]), T0 + 700, R);
    assert!(trace_ids(segments(&out)[0]).is_empty());
}

#[test]
fn buffer_mode_keeps_the_trace_ids_of_the_kept_window() {
    let mut d = Driver::default();
    let cfg = Value::obj(&[
        ("sessionSampleRate", Value::Number(0.0)),
        ("errorSampleRate", Value::Number(1.0)),
        ("bufferMs", Value::Number(10_000.0)),
        ("dsn", Value::str("https://k@o1.ingest.test/5")),
    ]);
    let (_, mode) = started(&mut d, cfg);
    assert_eq!(mode, Mode::Buffer);
    let old = "a".repeat(32);
    let new = "b".repeat(32);
    events(&mut d, &[ev(4, T0, None)], T0);
    d.handle(&msg("trace", &[("traceId", Value::str(&old))]), T0 + 1, R);
    // A checkout 20 s later: the first generation falls out of the window.
    events(&mut d, &[ev(4, T0 + 20_000, None)], T0 + 20_000);
    d.handle(
        &msg("trace", &[("traceId", Value::str(&new))]),
        T0 + 20_001,
        R,
    );
    let out = d.handle(
        &msg("error", &[("sampled", Value::Bool(true))]),
        T0 + 31_000,
        R,
    );
    let s = segments(&out)[0];
    assert_eq!(trace_ids(s), [new]);
}
