//! The "nothing lost" wire additions at the driver level: `sent` (ignored when
//! unknown), `ping` → `pong`, `events.seq` reported back in `partial.seq`,
//! `partial.eventCount` and `partial.adler`, a partial after every batch (at
//! most one per 250 ms, at once while hidden), the host's unload framing
//! rebuilt from a partial, and `config.maxReplayDurationMs`.

mod engine_util;

use engine_util::*;
use ringflate::adler::Adler32;
use ringflate::engine::{Code, Driver, Output, Stop, Value, MAX_REPLAY_MS};

const R: [u8; 16] = [5; 16];

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

fn start(d: &mut Driver, cfg: Value, now: u64) -> Vec<Output> {
    d.handle(&msg("start", &[("config", cfg)]), now, R)
}

fn events(d: &mut Driver, evs: &[String], seq: u64, now: u64) -> Vec<Output> {
    d.handle(
        &msg(
            "events",
            &[
                ("json", Value::Str(batch(evs))),
                ("seq", Value::Number(seq as f64)),
            ],
        ),
        now,
        R,
    )
}

struct P {
    segment_id: u16,
    seq: u64,
    event_count: u32,
    adler: u32,
    chunk: Vec<u8>,
    head: Vec<u8>,
    tail: Vec<u8>,
}

fn partials(out: &[Output]) -> Vec<P> {
    out.iter()
        .filter_map(|o| match o {
            Output::Partial {
                segment_id,
                seq,
                event_count,
                adler,
                chunk,
                head,
                tail,
                ..
            } => Some(P {
                segment_id: *segment_id,
                seq: *seq,
                event_count: *event_count,
                adler: *adler,
                chunk: chunk.clone(),
                head: head.clone(),
                tail: tail.clone(),
            }),
            _ => None,
        })
        .collect()
}

fn adler(bytes: &[u8]) -> u32 {
    let mut a = Adler32::new();
    a.update(bytes);
    a.value()
}

/// A stored deflate block holding `data` (`last`: the final block).
fn stored(data: &[u8], last: bool) -> Vec<u8> {
    let n = data.len() as u16;
    let mut o = vec![u8::from(last)];
    o.extend_from_slice(&n.to_le_bytes());
    o.extend_from_slice(&(!n).to_le_bytes());
    o.extend_from_slice(data);
    o
}

#[test]
fn ping_is_answered_pong_before_and_after_start() {
    let mut d = Driver::default();
    assert_eq!(d.handle(&msg("ping", &[]), T0, R), vec![Output::Pong]);
    start(&mut d, config(&[]), T0);
    assert_eq!(d.handle(&msg("ping", &[]), T0 + 1, R), vec![Output::Pong]);
    let (op, f) = Output::Pong.wire();
    assert_eq!(op, "pong");
    assert_eq!(f.len(), 2, "rf and op only");
}

#[test]
fn sent_for_an_unknown_segment_is_ignored_and_a_malformed_one_rejected() {
    let mut d = Driver::default();
    let sent = |id: &str, seg: f64| {
        msg(
            "sent",
            &[
                ("replayId", Value::str(id)),
                ("segmentId", Value::Number(seg)),
            ],
        )
    };
    // Before any start (handed-over segments of earlier loads are acknowledged then too).
    assert!(d.handle(&sent(&"a".repeat(32), 0.0), T0, R).is_empty());
    start(&mut d, config(&[]), T0);
    assert!(d.handle(&sent(&"b".repeat(32), 7.0), T0, R).is_empty());
    assert!(d.handle(&sent("not an id", 1e9), T0, R).is_empty());
    for bad in [
        msg("sent", &[("segmentId", Value::Number(0.0))]),
        msg(
            "sent",
            &[
                ("replayId", Value::str(&"a".repeat(32))),
                ("segmentId", Value::str("0")),
            ],
        ),
    ] {
        match d.handle(&bad, T0, R).as_slice() {
            [Output::Rejected { code, of, .. }] => {
                assert_eq!(*code, Code::BadField);
                assert_eq!(of.as_deref(), Some("sent"));
            }
            o => panic!("{o:?}"),
        }
    }
    // The replay goes on.
    let out = events(&mut d, &[mutation(T0 + 5)], 1, T0 + 5);
    assert_eq!(partials(&out).len(), 1);
}

#[test]
fn forget_is_accepted_before_and_after_start() {
    let mut d = Driver::default();
    assert!(d.handle(&msg("forget", &[]), T0, R).is_empty());
    start(&mut d, config(&[]), T0);
    assert!(d.handle(&msg("forget", &[]), T0, R).is_empty());
    assert!(d.engine().is_some_and(|e| e.ended().is_none()));
}

#[test]
fn a_partial_after_every_batch_at_most_one_per_250_ms() {
    let mut d = Driver::default();
    start(&mut d, config(&[]), T0);
    let p = partials(&events(&mut d, &[mutation(T0)], 1, T0));
    assert_eq!(p.len(), 1, "the first batch gets a partial at once");
    assert_eq!((p[0].seq, p[0].event_count), (1, 1));
    // 100 ms later: throttled; the partial is due 250 ms after the last one.
    assert!(partials(&events(&mut d, &[mutation(T0 + 100)], 2, T0 + 100)).is_empty());
    assert_eq!(d.next_wake(), Some(T0 + 250));
    assert!(partials(&d.tick(T0 + 249)).is_empty());
    let p = partials(&d.tick(T0 + 250));
    assert_eq!((p.len(), p[0].seq, p[0].event_count), (1, 2, 2));
    // Nothing new: no partial.
    assert!(partials(&d.tick(T0 + 600)).is_empty());
    // A batch 300 ms after the last partial gets one at once.
    let p = partials(&events(&mut d, &[mutation(T0 + 550)], 3, T0 + 550));
    assert_eq!((p.len(), p[0].seq, p[0].event_count), (1, 3, 3));
    // Hidden: every batch at once.
    d.handle(
        &msg("hidden", &[("hidden", Value::Bool(true))]),
        T0 + 560,
        R,
    );
    for (i, t) in [570u64, 580, 590].into_iter().enumerate() {
        let p = partials(&events(&mut d, &[mutation(T0 + t)], 4 + i as u64, T0 + t));
        assert_eq!(p.len(), 1, "hidden: at once");
        assert_eq!(p[0].seq, 4 + i as u64);
    }
}

#[test]
fn a_rejected_batch_does_not_move_seq_and_a_batch_without_seq_keeps_it() {
    let mut d = Driver::default();
    start(&mut d, config(&[]), T0);
    events(&mut d, &[mutation(T0)], 7, T0);
    let bad = msg(
        "events",
        &[
            ("json", Value::str("[{\"type\":3}")),
            ("seq", Value::Number(8.0)),
        ],
    );
    assert!(matches!(
        d.handle(&bad, T0 + 300, R).as_slice(),
        [Output::Rejected { .. }]
    ));
    let plain = msg(
        "events",
        &[("json", Value::Str(batch(&[mutation(T0 + 600)])))],
    );
    let p = partials(&d.handle(&plain, T0 + 600, R));
    assert_eq!((p.len(), p[0].seq, p[0].event_count), (1, 7, 2));
}

/// The host's unload framing, from the worker's own partials: `head + chunks +
/// stored blocks of the events after seq + final "]" + Adler-32` is a strict
/// zlib stream of every event, and `adler` is the checksum of the text so far.
#[test]
fn unload_framing_from_partials_is_lossless_and_byte_exact() {
    for target in [
        vec![],
        vec![("endpoint", Value::str("https://ingest.test/r"))],
        vec![("dsn", Value::str("https://k@ingest.test/1"))],
        vec![("sentryClient", Value::Bool(true))],
    ] {
        let mut d = Driver::default();
        start(&mut d, config(&target), T0);
        let mut all = Vec::new();
        let mut chunks = Vec::new();
        let mut last = None;
        let mut t = T0;
        for seq in 1..=6u64 {
            let evs: Vec<String> = (0..seq).map(|k| mutation(t + k)).collect();
            all.extend(evs.clone());
            t += 100;
            for p in partials(&events(&mut d, &evs, seq, t)) {
                assert_eq!(p.segment_id, 0);
                chunks.extend_from_slice(&p.chunk);
                last = Some((p, all.len()));
            }
        }
        let (p, held) = last.expect("partials");
        assert!(
            held < all.len(),
            "the last batches are not in a partial yet"
        );
        assert_eq!(p.event_count as usize, held);
        // The worker's own body: head + chunks + tail.
        let zlib_at = p.head.len() - 8;
        let mut body = p.head[zlib_at..].to_vec();
        body.extend_from_slice(&chunks);
        body.extend_from_slice(&p.tail);
        let text_so_far = array_of(&all[..held]);
        assert_eq!(inflate_strict(&body), text_so_far);
        assert_eq!(p.adler, adler(&text_so_far[..text_so_far.len() - 1]));
        // The host's framing: the events after the partial's seq as stored blocks.
        let after: Vec<String> = all[held..].to_vec();
        let mut extra = Vec::new();
        for e in &after {
            if p.event_count > 0 || !extra.is_empty() {
                extra.push(b',');
            }
            extra.extend_from_slice(e.as_bytes());
        }
        let mut a = Adler32::from_value(p.adler);
        a.update(&extra);
        a.update(b"]");
        let mut framed = p.head[zlib_at..].to_vec();
        framed.extend_from_slice(&chunks);
        framed.extend(stored(&extra, false));
        framed.extend(stored(b"]", true));
        framed.extend_from_slice(&a.value().to_be_bytes());
        assert_eq!(inflate_strict(&framed), array_of(&all), "{target:?}");
    }
}

#[test]
fn max_replay_duration_is_configurable_up_to_60_minutes() {
    assert_eq!(MAX_REPLAY_MS, 3_600_000);
    let mut d = Driver::default();
    start(
        &mut d,
        config(&[("maxReplayDurationMs", Value::Number(10_000.0))]),
        T0,
    );
    let mut t = T0;
    let mut stopped = None;
    while t < T0 + 20_000 && stopped.is_none() {
        let mut out = events(&mut d, &[click(t)], 0, t);
        out.extend(d.tick(t + 1));
        stopped = out.iter().find_map(|o| match o {
            Output::Stopped(r) => Some((*r, t)),
            _ => None,
        });
        t += 1_000;
    }
    let (reason, at) = stopped.expect("stopped");
    assert_eq!(reason, Stop::MaxDuration);
    assert!((T0 + 9_000..=T0 + 10_000).contains(&at), "{}", at - T0);
    // The default is the maximum; above it is rejected.
    let mut d = Driver::default();
    start(&mut d, config(&[]), T0);
    let mut t = T0;
    while t < T0 + MAX_REPLAY_MS - 60_000 {
        t += 60_000;
        let out = events(&mut d, &[click(t)], 0, t);
        assert!(
            !has(&out, |o| matches!(o, Output::Stopped(_))),
            "{}",
            t - T0
        );
    }
    assert!(!has(&d.tick(T0 + MAX_REPLAY_MS - 1), |o| matches!(
        o,
        Output::Stopped(_)
    )));
    assert!(has(&d.tick(T0 + MAX_REPLAY_MS), |o| *o
        == Output::Stopped(Stop::MaxDuration)));
    let mut d = Driver::default();
    let out = start(
        &mut d,
        config(&[("maxReplayDurationMs", Value::Number(3_600_001.0))]),
        T0,
    );
    match out.as_slice() {
        [Output::Rejected { code, message, .. }] => {
            assert_eq!(*code, Code::BadField);
            assert!(message.contains("maxReplayDurationMs"), "{message}");
        }
        o => panic!("{o:?}"),
    }
    let mut d = Driver::default();
    let out = start(
        &mut d,
        config(&[("maxReplayDurationMs", Value::str("1"))]),
        T0,
    );
    assert!(matches!(
        out.as_slice(),
        [Output::Rejected {
            code: Code::BadField,
            ..
        }]
    ));
}
