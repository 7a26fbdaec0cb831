//! Every engine rule against a fake clock: sampling, draws, the session
//! segment timers, pause and expiry, segment ids, the size caps, the buffer
//! window and memory cap, single compression of each event, persistence.

mod engine_util;

use engine_util::*;
use ringflate::engine::{
    draw, session_value, Config, Driver, Engine, Limits, Mode, Output, ReplayType, Stop, Value,
};

fn started(out: &[Output]) -> (String, Mode, Vec<bool>, u16) {
    match &out[0] {
        Output::Started {
            replay_id,
            mode,
            draws,
            segment_id,
        } => (replay_id.clone(), *mode, draws.clone(), *segment_id),
        o => panic!("expected started, got {o:?}"),
    }
}

fn count(out: &[Output], f: impl Fn(&Output) -> bool) -> usize {
    out.iter().filter(|o| f(o)).count()
}

#[test]
fn sampling_follows_the_rates_and_the_replay_id() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for rate in [0.1, 0.5] {
        let n = 20_000;
        let mut sessions = 0;
        for _ in 0..n {
            let r = rng.bytes16();
            let (_, out) = Engine::start(Config::new(rate, 0.0), None, T0, r);
            let (id, mode, _, _) = started(&out);
            assert_eq!(mode == Mode::Session, session_value(&id) < rate);
            if mode == Mode::Session {
                sessions += 1;
            } else {
                assert_eq!(mode, Mode::Off, "errorSampleRate 0 → off");
            }
        }
        let expected = rate * n as f64;
        let sigma = (n as f64 * rate * (1.0 - rate)).sqrt();
        assert!(
            (sessions as f64 - expected).abs() < 4.0 * sigma,
            "rate {rate}: {sessions} sessions of {n}"
        );
    }
    // Same random bytes → same id, same decision; unsampled with an error rate → buffer.
    for seed in 1..200u64 {
        let r = Rng(seed).bytes16();
        let a = started(&Engine::start(Config::new(0.5, 0.3), None, T0, r).1);
        let b = started(&Engine::start(Config::new(0.5, 0.3), None, T0 + 99, r).1);
        assert_eq!(a, b);
        assert_eq!(a.0.len(), 32);
        assert!(a.0.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
        assert_ne!(a.1, Mode::Off);
    }
    assert_eq!(
        started(&Engine::start(Config::new(0.0, 0.0), None, T0, [1; 16]).1).1,
        Mode::Off
    );
    assert_eq!(
        started(&Engine::start(Config::new(1.0, 0.0), None, T0, [1; 16]).1).1,
        Mode::Session
    );
}

#[test]
fn error_draws_are_predrawn_deterministic_and_topped_up() {
    let rate = 0.25;
    let (mut e, out) = Engine::start(Config::new(0.0, rate), None, T0, [3; 16]);
    let (id, mode, draws, _) = started(&out);
    assert_eq!(mode, Mode::Buffer);
    let expect: Vec<bool> = (0..32).map(|k| draw(&id, k, rate)).collect();
    assert_eq!(draws, expect);
    // Over many indices the draws follow the rate.
    let hits = (0..20_000).filter(|&k| draw(&id, k, rate)).count();
    assert!(
        (hits as f64 - 5_000.0).abs() < 4.0 * (20_000.0f64 * 0.25 * 0.75).sqrt(),
        "{hits}"
    );
    // The host consumes unsampled draws; the worker tops up before the queue runs out.
    let mut queue = draws;
    let mut k = 0u64;
    let mut now = T0;
    e.events(&batch(&[ev(4, now, None)]), now);
    while k < 100 {
        let d = queue.remove(0);
        if d {
            // Skip sampled draws for this part: report them as a different error path below.
            queue.insert(0, d);
            break;
        }
        now += 10;
        let out = e.error(Some(&format!("{k:032x}")), false, now);
        k += 1;
        for o in &out {
            if let Output::Draws(more) = o {
                let from = k + queue.len() as u64;
                let exp: Vec<bool> = (from..from + 32).map(|j| draw(&id, j, rate)).collect();
                assert_eq!(more, &exp, "draws continue the sequence");
                queue.extend(more);
            }
        }
        assert!(queue.len() >= 16, "queue never runs low: {}", queue.len());
        let s = last_session(&out).expect("draw consumption is persisted");
        assert!(s.contains(&format!("\"draw\":{k}")), "{s}");
    }
    // The first sampled draw converts the replay.
    let out = e.error(Some("feedfacefeedfacefeedfacefeedface"), true, now + 10);
    assert_eq!(segments(&out).len(), 1);
    assert_eq!(e.mode(), Mode::Session);
    // A persisted buffer replay continues its draw sequence.
    let (mut e2, out) = Engine::start(Config::new(0.0, rate), None, T0, [4; 16]);
    let (id2, _, _, _) = started(&out);
    let mut last = None;
    for i in 0..5 {
        last = last_session(&e2.error(None, false, T0 + i));
    }
    let (_, out) = Engine::start(
        Config::new(0.0, rate),
        last.as_deref(),
        T0 + 10_000_000,
        [5; 16],
    );
    let (id3, mode3, draws3, _) = started(&out);
    assert_eq!(
        (id3.as_str(), mode3),
        (id2.as_str(), Mode::Buffer),
        "buffer replays never expire"
    );
    assert_eq!(
        draws3,
        (5..37).map(|j| draw(&id2, j, rate)).collect::<Vec<_>>()
    );
}

/// A session replay whose minimum duration is already over at `T0 + 10 s`.
fn session_at(cfg: Config) -> Engine {
    start(cfg, T0).0
}

#[test]
fn session_flush_is_debounced_with_a_max_wait() {
    let mut e = session_at(session_config());
    let t = T0 + 10_000;
    // Debounce: 5 s after the last event.
    assert!(segments(&e.events(&batch(&[mutation(t)]), t)).is_empty());
    assert_eq!(e.next_wake().map(|w| w >= t), Some(true));
    assert!(segments(&e.events(&batch(&[mutation(t + 3_000)]), t + 3_000)).is_empty());
    assert!(
        segments(&e.tick(t + 5_499)).is_empty(),
        "not 5 s after the last yet"
    );
    // Max wait: 5.5 s after the first pending event even though events keep coming.
    let out = e.tick(t + 5_500);
    assert_eq!(segments(&out).len(), 1);
    assert_eq!(segments(&out)[0].event_count, 2);
    // A quiet segment goes exactly 5 s after its last event.
    let t2 = t + 20_000;
    let out = e.events(&batch(&[mutation(t2)]), t2);
    assert!(has(&out, |o| matches!(
        o,
        Output::Partial { segment_id: 1, .. }
    )));
    assert_eq!(e.next_wake(), Some(t2 + 5_000));
    assert!(e.tick(t2 + 4_000).is_empty(), "one partial per new data");
    assert!(segments(&e.tick(t2 + 4_999)).is_empty());
    let out = e.tick(t2 + 5_000);
    assert_eq!(segments(&out)[0].segment_id, 1);
    // Events every second: each segment spans at most 5.5 s of clock.
    let mut now = t2 + 60_000;
    let mut seg_events = Vec::new();
    for _ in 0..60 {
        for s in segments(&e.events(&batch(&[mutation(now)]), now)) {
            seg_events.push(s.event_count);
        }
        for s in segments(&e.tick(now + 500)) {
            seg_events.push(s.event_count);
        }
        now += 1_000;
    }
    assert!(seg_events.len() >= 9, "{seg_events:?}");
    assert!(seg_events.iter().all(|&n| n <= 6), "{seg_events:?}");
}

#[test]
fn min_duration_hidden_and_checkout_flushes() {
    let mut c = session_config();
    c.min_replay_duration_ms = 4_999;
    let (mut e, _) = start(c, T0);
    // A checkout asks for a flush at once, but not before the minimum duration.
    let evs = vec![ev(4, T0, None), ev(2, T0 + 1, None)];
    let out = e.events(&batch(&evs), T0);
    assert!(segments(&out).is_empty());
    assert!(
        !has(&out, |o| matches!(o, Output::Partial { .. })),
        "no partial before min duration"
    );
    assert_eq!(e.next_wake(), Some(T0 + 4_999));
    assert!(segments(&e.tick(T0 + 4_998)).is_empty());
    let out = e.tick(T0 + 4_999);
    assert_eq!(recording(segments(&out)[0]), array_of(&evs));
    // Hidden: flush immediately.
    let t = T0 + 7_000;
    e.events(&batch(&[mutation(t)]), t);
    let out = e.hidden(true, t + 10);
    assert_eq!(segments(&out).len(), 1);
    // While hidden, every batch gets a partial at once.
    let out = e.events(&batch(&[mutation(t + 20)]), t + 20);
    assert_eq!(count(&out, |o| matches!(o, Output::Partial { .. })), 1);
    let out = e.events(&batch(&[mutation(t + 30)]), t + 30);
    assert_eq!(count(&out, |o| matches!(o, Output::Partial { .. })), 1);
    e.hidden(false, t + 40);
    let out = e.events(&batch(&[mutation(t + 50)]), t + 50);
    assert_eq!(
        count(&out, |o| matches!(o, Output::Partial { .. })),
        0,
        "throttled again"
    );

    // Hidden before the minimum duration: nothing sent yet, a partial instead.
    let (mut e, _) = start(session_config(), T0);
    e.events(&batch(&[mutation(T0)]), T0);
    let out = e.hidden(true, T0 + 1_000);
    assert!(segments(&out).is_empty());
    assert!(
        !has(&out, |o| matches!(o, Output::Partial { .. })),
        "min duration applies to partials"
    );
    let out = e.tick(T0 + 4_999);
    assert_eq!(
        segments(&out).len(),
        1,
        "sent once the replay is old enough"
    );
    // flush ignores the minimum duration.
    let (mut e, _) = start(session_config(), T0);
    e.events(&batch(&[mutation(T0)]), T0);
    assert_eq!(segments(&e.flush(T0 + 1)).len(), 1);
}

#[test]
fn idle_pause_resume_and_activity() {
    let (mut e, _) = start(session_config(), T0);
    let min5 = 5 * 60_000;
    e.events(&batch(&[click(T0)]), T0);
    // Mutations are not user activity.
    let mut now = T0;
    let mut paused_at = None;
    while now < T0 + min5 + 10_000 {
        now += 7_000;
        let mut out = e.events(&batch(&[mutation(now)]), now);
        out.extend(e.tick(now + 1));
        if has(&out, |o| matches!(o, Output::Pause)) {
            paused_at.get_or_insert(now);
        }
    }
    let paused_at = paused_at.expect("paused");
    assert!(
        paused_at >= T0 + min5 && paused_at < T0 + min5 + 7_001,
        "{}",
        paused_at - T0
    );
    assert!(e.is_paused());
    // Exactly once.
    assert!(!has(&e.tick(now + 10_000), |o| matches!(o, Output::Pause)));
    let out = e.resume(now + 20_000);
    assert!(!e.is_paused());
    assert!(last_session(&out)
        .unwrap()
        .contains(&format!("\"lastActivity\":{}", now + 20_000)));
    // Each activity source counts.
    for source in [2, 3, 5, 6, 12] {
        let (mut e, _) = start(session_config(), T0);
        e.events(&batch(&[ev(3, T0 + 200_000, Some(source))]), T0 + 200_000);
        assert!(
            !has(&e.tick(T0 + min5 + 1), |o| matches!(o, Output::Pause)),
            "source {source}"
        );
        assert!(has(&e.tick(T0 + 200_000 + min5), |o| matches!(
            o,
            Output::Pause
        )));
    }
    for source in [0, 1, 4, 7, 8] {
        let (mut e, _) = start(session_config(), T0);
        e.events(&batch(&[ev(3, T0 + 200_000, Some(source))]), T0 + 200_000);
        assert!(
            has(&e.tick(T0 + min5), |o| matches!(o, Output::Pause)),
            "source {source}"
        );
    }
}

#[test]
fn expiry_after_15_minutes_idle() {
    let (mut e, out) = start(envelope_config(session_config()), T0);
    let first_id = started(&out).0;
    e.events(&batch(&[click(T0)]), T0);
    let t = T0 + 14 * 60_000;
    e.events(&batch(&[mutation(t)]), t);
    assert!(e.ended().is_none());
    // The pending mutation is flushed by its timer, then the replay ends at 15 min idle.
    let mut out = e.tick(t + 5_000);
    assert_eq!(segments(&out).len(), 1);
    assert_eq!(e.next_wake(), Some(T0 + 15 * 60_000));
    out = e.tick(T0 + 15 * 60_000);
    assert!(has(&out, |o| matches!(o, Output::Stopped(Stop::Idle))));
    let stored = last_session(&out).unwrap();
    assert!(stored.contains("\"ended\":1"));
    // Ignored afterwards; the next start is a new replay.
    assert!(e.events(&batch(&[click(t)]), t + 16 * 60_000).is_empty());
    assert_eq!(e.next_wake(), None);
    let (_, out) = Engine::start(
        envelope_config(session_config()),
        Some(&stored),
        T0 + 16 * 60_000,
        [9; 16],
    );
    assert_ne!(started(&out).0, first_id);

    // Pending events are sent before the replay stops.
    let mut c = session_config();
    c.limits = Limits {
        flush_delay_ms: 3_600_000,
        flush_max_delay_ms: 3_600_000,
        ..Limits::default()
    };
    let (mut e2, _) = start(c, T0);
    e2.events(&batch(&[mutation(T0 + 1)]), T0 + 1);
    let out = e2.tick(T0 + 15 * 60_000);
    let segs = segments(&out);
    assert_eq!(segs.len(), 1);
    let stop_pos = out
        .iter()
        .position(|o| matches!(o, Output::Stopped(Stop::Idle)))
        .unwrap();
    let seg_pos = out
        .iter()
        .position(|o| matches!(o, Output::Segment(_)))
        .unwrap();
    assert!(seg_pos < stop_pos);
}

#[test]
fn expiry_after_60_minutes_total() {
    let (mut e, _) = start(session_config(), T0);
    let mut now = T0;
    let mut stopped_at = None;
    while now < T0 + 70 * 60_000 {
        now += 4 * 60_000;
        let mut out = e.events(&batch(&[click(now)]), now);
        out.extend(e.tick(now + 10_000));
        assert!(!has(&out, |o| matches!(o, Output::Pause)));
        if has(&out, |o| matches!(o, Output::Stopped(Stop::MaxDuration))) {
            stopped_at = Some(now);
            break;
        }
    }
    let at = stopped_at.expect("stopped");
    assert!(
        (T0 + 56 * 60_000..=T0 + 60 * 60_000).contains(&at),
        "{}",
        (at - T0) / 60_000
    );
    assert_eq!(e.ended(), Some(Stop::MaxDuration));
}

#[test]
fn segment_ids_are_u16_and_continue_from_the_stored_session() {
    let (mut e, out) = start(session_config(), T0);
    let (id, ..) = started(&out);
    let mut stored = String::new();
    for i in 0..3u64 {
        let t = T0 + 10_000 + i * 10_000;
        e.events(&batch(&[mutation(t)]), t);
        let out = e.flush(t + 1);
        assert_eq!(segments(&out)[0].segment_id as u64, i);
        stored = last_session(&out).unwrap();
    }
    // A reload continues the replay with the next segment id.
    let (mut e, out) = Engine::start(session_config(), Some(&stored), T0 + 50_000, [8; 16]);
    assert_eq!(started(&out), (id.clone(), Mode::Session, vec![], 3));
    e.events(&batch(&[mutation(T0 + 50_000)]), T0 + 50_000);
    let out = e.flush(T0 + 50_001);
    assert_eq!(
        (
            segments(&out)[0].segment_id,
            segments(&out)[0].replay_id.as_str()
        ),
        (3, id.as_str())
    );
    // Near the end of the u16 range: ids run to 65535, then the replay stops.
    let near = stored.replace("\"segmentId\":3", "\"segmentId\":65533");
    let (mut e, out) = Engine::start(session_config(), Some(&near), T0 + 50_000, [8; 16]);
    assert_eq!(started(&out).3, 65_533);
    let mut ids = Vec::new();
    for i in 0..4u64 {
        let t = T0 + 60_000 + i;
        e.events(&batch(&[mutation(t)]), t);
        let out = e.flush(t);
        ids.extend(segments(&out).iter().map(|s| s.segment_id));
        if i == 2 {
            assert!(has(&out, |o| matches!(
                o,
                Output::Stopped(Stop::SegmentLimit)
            )));
        }
    }
    assert_eq!(ids, vec![65_533, 65_534, 65_535]);
    // A stored state with no ids left starts a new replay.
    let done = stored.replace("\"segmentId\":3", "\"segmentId\":65536");
    let (_, out) = Engine::start(session_config(), Some(&done), T0 + 50_000, [8; 16]);
    assert_ne!(started(&out).0, id);
}

#[test]
fn persistence_round_trip_and_expiry_rules() {
    let (mut e, out) = start(session_config(), T0);
    let (id, ..) = started(&out);
    let stored = last_session(&out).unwrap();
    assert!(stored.starts_with("{\"v\":1,"));
    // Continues within the limits…
    for (now, same) in [(T0 + 14 * 60_000, true), (T0 + 15 * 60_000, false)] {
        let (_, out) = Engine::start(session_config(), Some(&stored), now, [1; 16]);
        assert_eq!(
            started(&out).0 == id,
            same,
            "at +{} min",
            (now - T0) / 60_000
        );
    }
    // …with activity the 60 min total still applies.
    let mut last = stored.clone();
    for i in 1..=6u64 {
        let t = T0 + i * 10 * 60_000;
        let out = e.events(&batch(&[click(t)]), t);
        if let Some(s) = last_session(&out) {
            last = s;
        }
    }
    assert!(
        last.contains(&format!("\"lastActivity\":{}", T0 + 50 * 60_000)) || e.ended().is_some()
    );
    let (_, out) = Engine::start(session_config(), Some(&last), T0 + 61 * 60_000, [1; 16]);
    assert_ne!(started(&out).0, id);
    // Garbage and other versions are ignored (a new replay, no rejection).
    for bad in [
        "",
        "null",
        "{\"v\":2}",
        "{\"v\":1,\"id\":\"x\"}",
        &stored.replace("\"v\":1", "\"v\":7"),
    ] {
        let (_, out) = Engine::start(session_config(), Some(bad), T0, [1; 16]);
        assert_eq!(out.len(), 2);
        assert_eq!(started(&out).0, "01".repeat(16));
    }
    // Through the driver: the stored string comes back verbatim.
    let mut d = Driver::default();
    let cfg = Value::obj(&[
        ("sessionSampleRate", Value::Number(1.0)),
        ("errorSampleRate", Value::Number(0.0)),
    ]);
    let out = d.handle(
        &Value::obj(&[
            ("rf", Value::Number(1.0)),
            ("op", Value::str("start")),
            ("config", cfg),
            ("session", Value::Str(stored.clone())),
        ]),
        T0 + 1_000,
        [2; 16],
    );
    assert_eq!(started(&out).0, id);
}

/// An event of `n` UTF-16 units made of `unit` (1 or 2 units per char).
fn big_event(ts: u64, chars: usize, unit: &str) -> String {
    let head = "{\"type\":3,\"data\":{\"source\":0,\"s\":\"";
    let tail = format!("\"}},\"timestamp\":{ts}}}");
    let mut s = String::with_capacity(head.len() + chars * unit.len() + tail.len());
    s.push_str(head);
    for _ in 0..chars {
        s.push_str(unit);
    }
    s.push_str(&tail);
    s
}

#[test]
fn segments_split_at_20_million_utf16_units() {
    // Four 6M-unit events (é: 2 UTF-8 bytes, 1 UTF-16 unit; 🎉: 4 bytes, 2 units).
    let evs = [
        big_event(T0, 6_000_000, "é"),
        big_event(T0 + 1, 3_000_000, "🎉"),
        big_event(T0 + 2, 6_000_000, "a"),
        big_event(T0 + 3, 6_000_000, "é"),
    ];
    let units: Vec<u64> = evs
        .iter()
        .map(|e| e.encode_utf16().count() as u64)
        .collect();
    assert!(units[..3].iter().sum::<u64>() <= 20_000_000 && units.iter().sum::<u64>() > 20_000_000);
    let (mut e, _) = start(session_config(), T0);
    let mut out = Vec::new();
    for (i, ev) in evs.iter().enumerate() {
        out.extend(e.events(&batch(std::slice::from_ref(ev)), T0 + 10 + i as u64));
    }
    out.extend(e.flush(T0 + 100));
    let segs = segments(&out);
    assert_eq!(
        segs.iter().map(|s| s.event_count).collect::<Vec<_>>(),
        vec![3, 1]
    );
    assert_eq!(recording(segs[0]), array_of(&evs[..3]));
    assert_eq!(recording(segs[1]), array_of(&evs[3..]));

    // With a smaller cap: an event bigger than the cap goes alone, never dropped.
    let mut c = session_config();
    c.limits.max_segment_utf16 = 1_000;
    let (mut e, _) = start(c, T0);
    let small = |t| big_event(t, 300, "x");
    let evs = vec![
        small(T0),
        small(T0 + 1),
        big_event(T0 + 2, 5_000, "é"),
        small(T0 + 3),
        small(T0 + 4),
        small(T0 + 5),
        small(T0 + 6),
    ];
    let out = e.events(&batch(&evs), T0 + 10);
    let mut segs: Vec<_> = segments(&out).into_iter().cloned().collect();
    segs.extend(segments(&e.flush(T0 + 20)).into_iter().cloned());
    assert_eq!(
        segs.iter().map(|s| s.event_count).collect::<Vec<_>>(),
        vec![2, 1, 2, 2]
    );
    let mut all = Vec::new();
    for s in &segs {
        all.extend(split_recording(&recording(s)));
    }
    assert_eq!(all, evs);
}

#[test]
fn segments_close_at_the_compressed_cap() {
    let mut c = session_config();
    c.limits.max_segment_bytes = 64 * 1024;
    let (mut e, _) = start(c, T0);
    let mut rng = Rng(42);
    // Random hex compresses to about half: ~4 KB of deflate per event.
    let evs: Vec<String> = (0..100)
        .map(|i| {
            format!(
                "{{\"type\":3,\"data\":{{\"source\":0,\"h\":\"{}\"}},\"timestamp\":{}}}",
                rng.hex(8_000),
                T0 + i
            )
        })
        .collect();
    let mut out = e.events(&batch(&evs), T0 + 10);
    out.extend(e.flush(T0 + 20));
    let segs = segments(&out);
    assert!(segs.len() >= 5, "{}", segs.len());
    let mut all = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        // Closed right after the event that reached the cap: within one event of it.
        // What the compressor still held (at most its 16K-symbol buffer) comes on top.
        assert!(
            s.body.len() < 64 * 1024 + 16 * 1024,
            "segment {i}: {} bytes",
            s.body.len()
        );
        if i + 1 < segs.len() {
            assert!(
                s.body.len() >= 64 * 1024 - 8 * 1024,
                "segment {i} closed early: {}",
                s.body.len()
            );
        }
        all.extend(split_recording(&recording(s)));
    }
    assert_eq!(all, evs);
}

/// Runs buffer mode with checkouts at `checkout_at` (ms offsets; the host also
/// answers `checkout` requests after `answer_delay`), events every 250 ms, and
/// an error at `error_at`. Checks the sent history.
fn buffer_case(buffer_ms: u64, checkout_at: &[u64], answer_delay: Option<u64>, error_at: u64) {
    let mut c = buffer_config();
    c.buffer_ms = buffer_ms;
    let (mut e, _) = start(c, T0);
    let mut all: Vec<String> = Vec::new();
    let mut pending_checkout: Option<u64> = None;
    let mut now = T0;
    while now < T0 + error_at {
        let off = now - T0;
        let is_checkout = checkout_at.contains(&off) || pending_checkout.is_some_and(|t| now >= t);
        if is_checkout {
            pending_checkout = None;
        }
        let ev = if is_checkout {
            ev(4, now, None)
        } else {
            mutation(now)
        };
        let mut out = e.events(&batch(std::slice::from_ref(&ev)), now);
        all.push(ev);
        out.extend(e.tick(now + 125));
        if has(&out, |o| matches!(o, Output::Checkout)) {
            if let Some(d) = answer_delay {
                pending_checkout = Some(now + d);
            }
        }
        assert!(segments(&out).is_empty());
        now += 250;
    }
    let out = e.error(None, true, now);
    let segs = segments(&out);
    assert_eq!(
        segs.len(),
        1,
        "case {buffer_ms} {checkout_at:?} {answer_delay:?} {error_at}"
    );
    let s = segs[0];
    assert_eq!((s.segment_id, s.replay_type), (0, ReplayType::Buffer));
    let got = split_recording(&recording(s));
    assert!(got[0].starts_with("{\"type\":4"), "starts at a checkout");
    assert_eq!(
        got,
        all[all.len() - got.len()..],
        "a contiguous suffix up to the error"
    );
    // At least bufferMs of history when that much exists, and not more than needed:
    // the next checkout after the first sent one is already inside the window.
    if error_at >= buffer_ms {
        assert!(
            s.start <= now - buffer_ms,
            "history {} ms < {buffer_ms}",
            now - s.start
        );
    } else {
        assert_eq!(s.start, T0, "all history kept");
    }
    let later_checkout = got.iter().skip(1).find(|t| t.starts_with("{\"type\":4"));
    if let Some(t) = later_checkout {
        let ts: u64 = t
            .rsplit("\"timestamp\":")
            .next()
            .unwrap()
            .trim_end_matches('}')
            .parse()
            .unwrap();
        assert!(
            ts > now - buffer_ms,
            "an older generation than needed was kept"
        );
    }
}

#[test]
fn buffer_keeps_at_least_buffer_ms_from_a_checkout() {
    // Only the worker's checkout requests, answered at once or late.
    buffer_case(10_000, &[], Some(0), 35_000);
    buffer_case(10_000, &[], Some(3_000), 35_000);
    buffer_case(10_000, &[], Some(3_000), 41_250);
    // Host-driven checkouts at irregular times, requests ignored.
    buffer_case(
        10_000,
        &[0, 2_000, 9_000, 21_000, 22_000, 30_000],
        None,
        33_000,
    );
    buffer_case(
        10_000,
        &[0, 2_000, 9_000, 21_000, 22_000, 30_000],
        None,
        31_000,
    );
    buffer_case(10_000, &[0, 7_000, 14_000], Some(500), 60_000);
    // Less history than the window: everything since the first event.
    buffer_case(60_000, &[0, 5_000], Some(0), 20_000);
    // Checkouts every 250 ms (every event).
    let every: Vec<u64> = (0..80).map(|i| i * 250).collect();
    buffer_case(5_000, &every, None, 20_000);
}

#[test]
fn buffer_memory_is_capped_without_dropping_the_newest() {
    let mut c = buffer_config();
    c.buffer_ms = 60_000;
    c.max_buffer_bytes = 40 * 1024;
    let (mut e, _) = start(c, T0);
    let mut rng = Rng(7);
    let mut all = Vec::new();
    for i in 0..40u64 {
        let t = T0 + i * 500;
        // A checkout every 5 events, ~4 KB compressed per event.
        let ev = if i % 5 == 0 {
            format!(
                "{{\"type\":4,\"data\":{{\"href\":\"h\",\"pad\":\"{}\"}},\"timestamp\":{t}}}",
                rng.hex(8_000)
            )
        } else {
            format!(
                "{{\"type\":3,\"data\":{{\"source\":0,\"h\":\"{}\"}},\"timestamp\":{t}}}",
                rng.hex(8_000)
            )
        };
        e.events(&batch(std::slice::from_ref(&ev)), t);
        all.push(ev);
        let st = e.stats();
        assert!(
            st.buffer_bytes <= 40 * 1024 + 5 * 5 * 1024,
            "{}",
            st.buffer_bytes
        );
    }
    let st = e.stats();
    assert!(st.dropped_generations >= 4, "{st:?}");
    assert!(st.dropped_bytes > 0);
    let out = e.flush(T0 + 20_000);
    let s = segments(&out)[0];
    let got = split_recording(&recording(s));
    assert!(got[0].starts_with("{\"type\":4"));
    assert_eq!(got, all[all.len() - got.len()..]);
    assert!(got.len() >= 5, "the newest generation is kept");

    // A single generation over the cap is kept (never the newest).
    let mut c = buffer_config();
    c.max_buffer_bytes = 1_000;
    let (mut e, _) = start(c, T0);
    let evs: Vec<String> = (0..5)
        .map(|i| {
            format!(
                "{{\"type\":3,\"data\":{{\"source\":0,\"h\":\"{}\"}},\"timestamp\":{}}}",
                rng.hex(4_000),
                T0 + i
            )
        })
        .collect();
    e.events(&batch(&evs), T0);
    let out = e.flush(T0 + 10);
    assert_eq!(split_recording(&recording(segments(&out)[0])), evs);
}

#[test]
fn each_event_is_compressed_exactly_once() {
    // Buffer mode with trims and a conversion, then session mode with partials and splits.
    let events = corpus("d3-css-shadow-iframe");
    let mut c = envelope_config(buffer_config());
    c.buffer_ms = 20_000;
    let (mut e, _) = start(c, T0);
    let mut now = T0;
    let mut sent = Vec::new();
    let half = events.len() / 2;
    for b in events[..half].chunks(10) {
        e.events(&batch(b), now);
        now += 400;
    }
    let out = e.error(Some("00000000000000000000000000000001"), true, now);
    for s in segments(&out) {
        sent.extend(split_recording(&recording(s)));
    }
    let kept_from = half - sent.len();
    assert_eq!(sent, events[kept_from..half]);
    for b in events[half..].chunks(10) {
        let mut out = e.events(&batch(b), now);
        out.extend(e.tick(now + 200));
        for s in segments(&out) {
            sent.extend(split_recording(&recording(s)));
        }
        now += 400;
    }
    for s in segments(&e.stop(now)) {
        sent.extend(split_recording(&recording(s)));
    }
    assert_eq!(sent, events[kept_from..]);
    let bytes: u64 = events.iter().map(|s| s.len() as u64).sum();
    let st = e.stats();
    assert_eq!(st.event_bytes, bytes);
    assert_eq!(
        st.compressed_input_bytes, bytes,
        "every event given to a compressor exactly once"
    );
}

#[test]
fn all_corpus_files_round_trip_through_buffer_and_session_mode() {
    for name in [
        "d1-pydocs-browse",
        "d2-spa-dashboard-masked",
        "d3-css-shadow-iframe",
        "d4-spa-live-unmasked",
    ] {
        let events = corpus(name);
        assert!(events.len() > 1_000, "{name}");
        let mut c = envelope_config(buffer_config());
        c.buffer_ms = 3_600_000;
        let (mut e, _) = start(c, T0);
        let mut now = T0;
        let third = events.len() / 3;
        for b in events[..third].chunks(25) {
            e.events(&batch(b), now);
            now += 500;
        }
        let mut sent = Vec::new();
        let mut out = e.error(None, true, now);
        for b in events[third..].chunks(25) {
            out.extend(e.events(&batch(b), now));
            now += 500;
        }
        out.extend(e.stop(now));
        let segs = segments(&out);
        for (i, s) in segs.iter().enumerate() {
            assert_eq!(s.segment_id as usize, i);
            assert_eq!(s.replay_type, ReplayType::Buffer);
            sent.extend(split_recording(&recording(s)));
        }
        assert!(
            sent == events,
            "{name}: {} of {} events",
            sent.len(),
            events.len()
        );
    }
}

#[test]
fn an_error_before_any_event_is_reported_with_the_first_segment() {
    let (mut e, _) = start(envelope_config(buffer_config()), T0);
    let out = e.error(Some("abcdefabcdefabcdefabcdefabcdef00"), true, T0 + 10);
    assert!(segments(&out).is_empty());
    assert!(has(&out, |o| matches!(o, Output::Checkout)));
    assert_eq!(e.mode(), Mode::Session);
    e.events(&batch(&[ev(4, T0 + 20, None)]), T0 + 20);
    let out = e.flush(T0 + 30);
    let env = parse_envelope(&segments(&out)[0].body);
    assert_eq!(env.event.get("replay_type").s(), "buffer");
    assert_eq!(
        env.event.get("error_ids").arr()[0].s(),
        "abcdefabcdefabcdefabcdefabcdef00"
    );
}

#[test]
fn off_mode_records_nothing_and_buffer_stop_sends_nothing() {
    let (mut e, out) = start(Config::new(0.0, 0.0), T0);
    assert_eq!(started(&out).1, Mode::Off);
    assert!(e.events(&batch(&[ev(4, T0, None)]), T0).is_empty());
    assert!(e.error(Some("x"), true, T0).is_empty());
    assert!(segments(&e.flush(T0 + 10_000)).is_empty());
    assert_eq!(e.stats().events, 0);
    assert_eq!(e.next_wake(), None);

    let (mut e, _) = start(buffer_config(), T0);
    e.events(&batch(&[ev(4, T0, None), click(T0 + 1)]), T0);
    assert!(
        segments(&e.hidden(true, T0 + 100)).is_empty(),
        "buffer mode ignores hidden"
    );
    let out = e.stop(T0 + 200);
    assert!(
        segments(&out).is_empty(),
        "an unsampled buffer is never sent"
    );
    assert!(has(&out, |o| matches!(o, Output::Stopped(Stop::Stop))));
    assert!(last_session(&out).unwrap().contains("\"ended\":1"));
    assert!(
        e.error(None, true, T0 + 300).is_empty(),
        "ignored after stop"
    );
}
