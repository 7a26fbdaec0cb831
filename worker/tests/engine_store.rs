//! Persistence across page loads with a fake store (a map performing the
//! `StoreOp`s as the bootstrap does with IndexedDB): unsent segments and the
//! open segment handed over first on the next load, exactly once; the open
//! segment the host delivered on unload not handed over again; another live
//! page's records left alone; buffer-mode history restored for the continued
//! replay; the byte cap and the age limit; `forget`; memory only.

mod engine_util;

use engine_util::*;
use ringflate::engine::{Driver, Limits, Output, Segment, StoreOp, Value};
use std::collections::BTreeMap;

const R: [u8; 16] = [9; 16];

fn msg(op: &str, extra: &[(&str, Value)]) -> Value {
    let mut p = vec![("rf", Value::Number(1.0)), ("op", Value::str(op))];
    p.extend(extra.iter().cloned());
    Value::obj(&p)
}

/// The bootstrap's side: a key → bytes map performing the core's requests,
/// and the bytes written so far.
#[derive(Default, Clone)]
struct Fake(BTreeMap<String, Vec<u8>>, usize);

impl Fake {
    fn apply(&mut self, ops: Vec<StoreOp>) {
        for op in ops {
            match op {
                StoreOp::Put(k, v) => {
                    self.1 += v.len();
                    self.0.insert(k, v);
                }
                StoreOp::Delete(k) => {
                    self.0.remove(&k);
                }
                StoreOp::Clear => self.0.clear(),
            }
        }
    }
    fn bytes(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }
}

/// One page load: a driver that read `store` at start-up.
struct Page<'a> {
    d: Driver,
    store: &'a mut Fake,
    session: Option<String>,
    out: Vec<Output>,
    /// Random bytes for a new replay: one per page load.
    r: [u8; 16],
}

impl<'a> Page<'a> {
    fn load(
        store: &'a mut Fake,
        owner: &str,
        live: &[&str],
        session: Option<String>,
        now: u64,
    ) -> Page<'a> {
        let mut d = Driver::default();
        let live: Vec<String> = live.iter().map(|s| (*s).to_string()).collect();
        d.load(
            owner.into(),
            &live,
            store.0.clone().into_iter().collect(),
            now,
        );
        store.apply(d.take_store_ops());
        let seed = owner
            .bytes()
            .fold(7u8, |a, b| a.wrapping_mul(31).wrapping_add(b));
        Page {
            d,
            store,
            session,
            out: Vec::new(),
            r: [seed; 16],
        }
    }
    fn call(&mut self, m: Value, now: u64) -> Vec<Output> {
        let out = self.d.handle(&m, now, self.r);
        self.after(out)
    }
    fn tick(&mut self, now: u64) -> Vec<Output> {
        let out = self.d.tick(now);
        self.after(out)
    }
    fn after(&mut self, out: Vec<Output>) -> Vec<Output> {
        self.store.apply(self.d.take_store_ops());
        if let Some(s) = last_session(&out) {
            self.session = Some(s);
        }
        self.out.extend(out.clone());
        out
    }
    fn start(&mut self, cfg: Value, now: u64) -> Vec<Output> {
        let mut f = vec![("config", cfg)];
        if let Some(s) = &self.session {
            f.push(("session", Value::Str(s.clone())));
        }
        self.call(msg("start", &f), now)
    }
    fn events(&mut self, evs: &[String], now: u64) -> Vec<Output> {
        self.call(msg("events", &[("json", Value::Str(batch(evs)))]), now)
    }
    /// Starts a buffer-mode replay with `cfg` at `now`, records a checkout and a click (added to `all`), then a
    /// sampled error: the segments that sends.
    fn error_after_checkout(
        &mut self,
        cfg: Value,
        now: u64,
        all: &mut Vec<String>,
    ) -> Vec<Segment> {
        self.start(cfg, now);
        let evs = vec![ev(4, now, None), click(now + 1)];
        all.extend(evs.clone());
        self.events(&evs, now + 1);
        let err = msg(
            "error",
            &[
                ("sampled", Value::Bool(true)),
                ("eventId", Value::str("e1")),
            ],
        );
        owned(&self.call(err, now + 2))
    }
    fn sent(&mut self, s: &Segment, now: u64) {
        let out = self.call(
            msg(
                "sent",
                &[
                    ("replayId", Value::str(&s.replay_id)),
                    ("segmentId", Value::Number(f64::from(s.segment_id))),
                ],
            ),
            now,
        );
        assert!(out.is_empty(), "{out:?}");
    }
}

fn session_cfg() -> Value {
    Value::obj(&[
        ("sessionSampleRate", Value::Number(1.0)),
        ("errorSampleRate", Value::Number(0.0)),
        ("minReplayDurationMs", Value::Number(0.0)),
        ("endpoint", Value::str("https://ingest.test/r")),
    ])
}

fn buffer_cfg(buffer_ms: f64) -> Value {
    Value::obj(&[
        ("sessionSampleRate", Value::Number(0.0)),
        ("errorSampleRate", Value::Number(1.0)),
        ("bufferMs", Value::Number(buffer_ms)),
    ])
}

fn owned(out: &[Output]) -> Vec<Segment> {
    segments(out).into_iter().cloned().collect()
}

/// The outputs before `started`.
fn before_started(out: &[Output]) -> &[Output] {
    let i = out
        .iter()
        .position(|o| matches!(o, Output::Started { .. }))
        .expect("started");
    &out[..i]
}

fn started_segment_id(out: &[Output]) -> u16 {
    out.iter()
        .find_map(|o| match o {
            Output::Started { segment_id, .. } => Some(*segment_id),
            _ => None,
        })
        .expect("started")
}

#[test]
fn unsent_segments_and_the_open_one_arrive_first_on_the_next_load_exactly_once() {
    let mut store = Fake::default();
    let t = T0;
    let mut all = Vec::new();
    let (first, session) = {
        let mut p = Page::load(&mut store, "page-1", &[], None, t);
        p.start(session_cfg(), t);
        for i in 0..3u64 {
            let evs = vec![ev(4, t + i * 10_000, None), click(t + i * 10_000 + 1)];
            all.extend(evs.clone());
            p.events(&evs, t + i * 10_000);
            p.tick(t + i * 10_000 + 6_000);
        }
        // The open segment: partials only.
        let evs = vec![mutation(t + 40_000), click(t + 40_001)];
        all.extend(evs.clone());
        p.events(&evs, t + 40_000);
        let segs = owned(&p.out);
        assert_eq!(segs.len(), 3, "three finished segments");
        assert!(has(&p.out, |o| matches!(
            o,
            Output::Partial { segment_id: 3, .. }
        )));
        // The destination refused them all: no `sent`. The page goes away.
        (segs, p.session.clone())
    };
    assert!(store.bytes() > 0);
    // Next load of the same tab: the same replay continues.
    let mut p = Page::load(&mut store, "page-2", &[], session, t + 50_000);
    let out = p.start(session_cfg(), t + 50_000);
    let handed = owned(before_started(&out));
    assert_eq!(
        handed.iter().map(|s| s.segment_id).collect::<Vec<_>>(),
        vec![0, 1, 2, 3],
        "in segment order, the open one last"
    );
    for (a, b) in first.iter().zip(&handed) {
        assert_eq!(a, b, "byte for byte the segment handed over before");
    }
    let texts = recorded(&handed);
    assert_eq!(texts, all, "every event once, in order");
    assert_eq!(handed[3].event_count, 2);
    assert_eq!((handed[3].start, handed[3].end), (t + 40_000, t + 40_001));
    assert!(handed[3]
        .url
        .as_deref()
        .is_some_and(|u| u.contains("segmentId=3")));
    assert_eq!(
        started_segment_id(&out),
        4,
        "the replay goes on after the handed-over segment"
    );
    // Only 0 and 2 are acknowledged; the next load hands over 1 and 3 only.
    p.sent(&handed[0], t + 50_001);
    p.sent(&handed[2], t + 50_002);
    p.sent(&handed[2], t + 50_003);
    let session = p.session.clone();
    drop(p);
    let mut p = Page::load(&mut store, "page-3", &[], session, t + 60_000);
    let out = p.start(session_cfg(), t + 60_000);
    let again = owned(before_started(&out));
    assert_eq!(again, vec![handed[1].clone(), handed[3].clone()]);
    for s in &again {
        p.sent(s, t + 60_001);
    }
    let session = p.session.clone();
    drop(p);
    assert!(store.0.is_empty(), "nothing left: {:?}", store.0.keys());
    let mut p = Page::load(&mut store, "page-4", &[], session, t + 70_000);
    let out = p.start(session_cfg(), t + 70_000);
    assert!(
        owned(before_started(&out)).is_empty(),
        "a sent segment never comes back"
    );
    // A later start of the same page load hands nothing over either.
    p.call(msg("stop", &[]), t + 70_001);
    assert!(owned(before_started(&p.start(session_cfg(), t + 70_002))).is_empty());
}

#[test]
fn the_open_segment_sent_on_unload_is_not_handed_over_and_other_replays_are() {
    let mut store = Fake::default();
    let t = T0;
    let partial_session = {
        let mut p = Page::load(&mut store, "a", &[], None, t);
        p.start(session_cfg(), t);
        let out = p.events(&[mutation(t), click(t + 1)], t);
        out.iter()
            .find_map(|o| match o {
                Output::Partial { session, .. } => Some(session.clone()),
                _ => None,
            })
            .expect("partial")
    };
    // The host sent the partial on pagehide and stored its session value.
    let mut p = Page::load(&mut store, "b", &[], Some(partial_session), t + 1_000);
    let out = p.start(session_cfg(), t + 1_000);
    assert!(owned(before_started(&out)).is_empty());
    assert_eq!(started_segment_id(&out), 1);
    p.events(&[click(t + 1_001)], t + 1_001);
    drop(p);
    // The page went hidden (the worker finished the segment) while the host delivered the partial of it on
    // unload: the finished copy is not handed over either.
    let (partial_session, finished) = {
        let mut p = Page::load(&mut store, "b2", &[], None, t + 1_500);
        p.start(session_cfg(), t + 1_500);
        let out = p.events(&[mutation(t + 1_500), click(t + 1_501)], t + 1_500);
        let s = out
            .iter()
            .find_map(|o| match o {
                Output::Partial { session, .. } => Some(session.clone()),
                _ => None,
            })
            .expect("partial");
        let out = p.call(msg("hidden", &[("hidden", Value::Bool(true))]), t + 1_600);
        (s, owned(&out))
    };
    assert_eq!(finished.len(), 1, "hidden: the open segment is finished");
    let mut p = Page::load(&mut store, "b3", &[], Some(partial_session), t + 1_700);
    let out = p.start(session_cfg(), t + 1_700);
    assert!(
        owned(before_started(&out))
            .iter()
            .all(|s| s.replay_id != finished[0].replay_id),
        "the segment delivered on unload is not handed over"
    );
    drop(p);
    // A new tab (no session value): the other replay's open segment is handed over.
    let mut p = Page::load(&mut store, "c", &[], None, t + 2_000);
    let out = p.start(session_cfg(), t + 2_000);
    let handed = owned(before_started(&out));
    assert_eq!(handed.len(), 1);
    assert_eq!(handed[0].segment_id, 1);
    assert_eq!(
        split_recording(&recording(&handed[0])),
        vec![click(t + 1_001)]
    );
    assert_eq!(started_segment_id(&out), 0, "a new replay");
}

#[test]
fn a_live_page_keeps_its_records() {
    let mut store = Fake::default();
    let t = T0;
    {
        let mut p = Page::load(&mut store, "alive", &[], None, t);
        p.start(session_cfg(), t);
        p.events(&[ev(4, t, None)], t);
        p.call(msg("flush", &[]), t + 1);
    }
    let before = store.0.clone();
    let mut p = Page::load(&mut store, "other", &["alive"], None, t + 10);
    let out = p.start(session_cfg(), t + 10);
    assert!(owned(before_started(&out)).is_empty());
    assert!(
        before.iter().all(|(k, v)| p.store.0.get(k) == Some(v)),
        "untouched"
    );
    drop(p);
    // Once that page is gone, the next load takes its segment over, and rewrites it
    // as its own so that no third page takes it too.
    let mut p = Page::load(&mut store, "late", &[], None, t + 20);
    assert_eq!(
        owned(before_started(&p.start(session_cfg(), t + 20))).len(),
        1
    );
    drop(p);
    let mut p = Page::load(&mut store, "third", &["late"], None, t + 30);
    assert!(owned(before_started(&p.start(session_cfg(), t + 30))).is_empty());
}

#[test]
fn byte_cap_and_age_limit_drop_the_oldest_first_counted_in_stats() {
    let l = Limits::default();
    assert_eq!(
        (l.store_max_bytes, l.store_max_age_ms),
        (10 << 20, 86_400_000)
    );
    let mut store = Fake::default();
    let t = T0;
    let mut rng = Rng(11);
    let mut p = Page::load(&mut store, "a", &[], None, t);
    p.start(session_cfg(), t);
    // ~1.6 MB incompressible segments, twenty of them: over the cap.
    for i in 0..20u64 {
        let big = format!(
            "{{\"type\":3,\"data\":{{\"source\":0,\"s\":\"{}\"}},\"timestamp\":{}}}",
            rng.hex(1_600_000),
            t + i
        );
        p.events(&[big], t + i * 100);
        p.call(msg("flush", &[]), t + i * 100 + 1);
    }
    assert!(store_bytes(p.store) <= 10 << 20, "{}", store_bytes(p.store));
    let stats = p.out.iter().rev().find_map(|o| match o {
        Output::Stats(s) => Some(s.clone()),
        _ => None,
    });
    let stats = stats.expect("stats");
    assert!(stats.store_dropped >= 1, "{stats:?}");
    assert_eq!(stats.stored_bytes as usize, store_bytes(p.store));
    let segs = owned(&p.out);
    drop(p);
    // The newest ones are kept; the oldest went.
    let mut p = Page::load(&mut store, "b", &[], None, t + 10_000);
    let handed = owned(before_started(&p.start(session_cfg(), t + 10_000)));
    assert!(handed.len() < segs.len() && !handed.is_empty());
    assert_eq!(handed.last(), segs.last());
    let first = segs.len() - handed.len();
    assert_eq!(
        &handed[..],
        &segs[first..],
        "a suffix: the oldest dropped first"
    );
    drop(p);
    // A day later, nothing is handed over and the store is empty.
    let mut p = Page::load(&mut store, "c", &[], None, t + 86_400_000 + 10_000);
    let out = p.start(session_cfg(), t + 86_400_000 + 10_000);
    assert!(owned(before_started(&out)).is_empty());
    let out = p.call(msg("flush", &[]), t + 86_400_000 + 10_001);
    assert!(has(
        &out,
        |o| matches!(o, Output::Stats(s) if s.store_dropped >= 1)
    ));
    assert_eq!(store_bytes(p.store), 0);
}

fn store_bytes(f: &Fake) -> usize {
    f.bytes()
}

#[test]
fn buffer_history_of_three_page_loads_goes_into_segment_zero() {
    let mut store = Fake::default();
    let mut session = None;
    let mut all = Vec::new();
    let t = T0;
    for page in 0..3u64 {
        let at = t + page * 2_000;
        let mut p = Page::load(
            &mut store,
            &format!("page-{page}"),
            &[],
            session.clone(),
            at,
        );
        let out = p.start(buffer_cfg(6_000.0), at);
        assert!(
            owned(&out).is_empty(),
            "buffered history is not handed over"
        );
        // Each page starts with its own checkout.
        for k in 0..4u64 {
            let now = at + k * 300;
            let evs = if k == 0 {
                vec![ev(4, now, None), ev(2, now, None)]
            } else {
                vec![click(now)]
            };
            all.extend(evs.clone());
            p.events(&evs, now);
        }
        // The page goes hidden before it goes away.
        p.call(msg("hidden", &[("hidden", Value::Bool(true))]), at + 1_000);
        session = p.session.clone();
    }
    let at = t + 6_000;
    let mut p = Page::load(&mut store, "page-3", &[], session, at);
    let segs = p.error_after_checkout(buffer_cfg(6_000.0), at, &mut all);
    assert_eq!(segs[0].segment_id, 0);
    let texts = recorded(&segs);
    assert_eq!(
        texts, all,
        "history from all four loads, every event once, in order"
    );
    assert_eq!(
        segs[0].start, t,
        "segment 0 starts at the oldest kept checkout"
    );
    // The generations are no longer kept once sent as segments; the segments are, until sent.
    for s in &segs {
        p.sent(s, at + 3);
    }
    assert!(
        p.store.0.keys().all(|k| !k.contains("/g")),
        "{:?}",
        p.store.0.keys()
    );
}

#[test]
fn buffer_history_older_than_the_window_is_let_go() {
    let mut store = Fake::default();
    let t = T0;
    let session = {
        let mut p = Page::load(&mut store, "a", &[], None, t);
        p.start(buffer_cfg(6_000.0), t);
        p.events(&[ev(4, t, None), click(t + 1)], t);
        p.events(&[ev(4, t + 1_000, None), click(t + 1_001)], t + 1_000);
        p.call(msg("hidden", &[("hidden", Value::Bool(true))]), t + 1_010);
        assert!(p.store.0.keys().any(|k| k.contains(&format!("/g{t:013}"))));
        p.session.clone()
    };
    let at = t + 20_000;
    let mut p = Page::load(&mut store, "b", &[], session, at);
    p.start(buffer_cfg(6_000.0), at);
    let evs = vec![ev(4, at, None), click(at + 1)];
    p.events(&evs, at + 1);
    assert!(
        p.store
            .0
            .keys()
            .all(|k| !k.contains(&format!("/g{:013}", t))),
        "the old generation is dropped from storage when the ring drops it"
    );
    let out = p.call(msg("error", &[("sampled", Value::Bool(true))]), at + 2);
    let texts = recorded(&owned(&out));
    let mut kept = vec![ev(4, t + 1_000, None), click(t + 1_001)];
    kept.extend(evs);
    assert_eq!(
        texts, kept,
        "the newest generation at or before now - bufferMs, and after it"
    );
}

#[test]
fn forget_deletes_everything_persisted() {
    let mut store = Fake::default();
    let t = T0;
    {
        let mut p = Page::load(&mut store, "a", &[], None, t);
        p.start(session_cfg(), t);
        p.events(&[ev(4, t, None)], t);
        p.call(msg("flush", &[]), t + 1);
        p.events(&[click(t + 2)], t + 2);
    }
    assert!(!store.0.is_empty());
    let mut p = Page::load(&mut store, "b", &[], None, t + 10);
    assert!(p.call(msg("forget", &[]), t + 10).is_empty());
    assert!(p.store.0.is_empty());
    assert!(owned(before_started(&p.start(session_cfg(), t + 11))).is_empty());
}

#[test]
fn memory_only_without_storage_and_unreadable_records_are_dropped() {
    let mut d = Driver::default();
    d.handle(&msg("start", &[("config", session_cfg())]), T0, R);
    d.handle(
        &msg("events", &[("json", Value::Str(batch(&[ev(4, T0, None)])))]),
        T0,
        R,
    );
    d.handle(&msg("flush", &[]), T0 + 1, R);
    assert!(d.take_store_ops().is_empty(), "no storage, no requests");
    // Garbage in the store: deleted, nothing handed over, no panic.
    let mut store = Fake::default();
    for (k, v) in [
        ("x", vec![1u8]),
        ("r/s00000", vec![0xff, 0xff]),
        ("r/s00001", vec![]),
        ("r/s00002", vec![1, 1, b'o', 200]),
        ("r/g1", vec![3]),
        ("r/g2", vec![9, 0, 0]),
    ] {
        store.0.insert(k.into(), v);
    }
    let mut p = Page::load(&mut store, "a", &[], None, T0);
    let out = p.start(session_cfg(), T0);
    assert!(owned(before_started(&out)).is_empty());
    assert!(p.store.0.is_empty(), "{:?}", p.store.0.keys());
}

#[test]
fn buffer_events_after_a_throttled_save_are_saved_within_the_interval_without_another_message() {
    let mut store = Fake::default();
    let t = T0;
    let mut p = Page::load(&mut store, "a", &[], None, t);
    p.start(buffer_cfg(60_000.0), t);
    let saved = |p: &Page| store_bytes(p.store);
    let mut at = t;
    for (k, evs) in [
        vec![ev(4, t + 10, None), ev(2, t + 10, None)],
        vec![click(t + 1_300)],
    ]
    .into_iter()
    .enumerate()
    {
        let now = if k == 0 { t + 10 } else { at + 300 };
        let before = saved(&p);
        // Within the interval since the last save: throttled, and the engine asks to be woken for it.
        p.events(&evs, now);
        assert_eq!(saved(&p), before, "batch {k}: throttled");
        let wake = p.d.next_wake().expect("a wake-up for the unsaved events");
        assert!(
            wake > now && wake <= now + 1_000,
            "batch {k}: due within the interval: {wake} (batch at {now})"
        );
        // No message comes; the wake-up alone saves them.
        p.tick(wake);
        assert!(saved(&p) > before, "batch {k}: saved at the wake-up");
        at = wake;
    }
    // Nothing new since: no early wake-up for the store.
    assert!(
        p.d.next_wake().map_or(true, |w| w >= at + 10_000),
        "{:?}",
        p.d.next_wake()
    );
}

/// A DOM mutation carrying `n` characters of text that compresses little (so a segment grows by about that much).
fn noisy(ts: u64, n: usize, seed: u64) -> String {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let text: String = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize])
        })
        .collect();
    format!("{{\"type\":3,\"data\":{{\"source\":0,\"text\":\"{text}\"}},\"timestamp\":{ts}}}")
}

/// The stored records of `unit` (its head record and its parts): count and bytes.
fn records_of(store: &Fake, unit: &str) -> (usize, usize) {
    let of: Vec<_> = store
        .0
        .iter()
        .filter(|(k, _)| *k == unit || k.starts_with(&format!("{unit}/p")))
        .collect();
    (of.len(), of.iter().map(|(_, v)| v.len()).sum())
}

#[test]
fn a_growing_open_segment_is_written_once_in_parts_and_handed_over_whole() {
    let mut store = Fake::default();
    let t = T0;
    let mut all = Vec::new();
    let (key, session) = {
        let mut p = Page::load(&mut store, "page-1", &[], None, t);
        p.start(session_cfg(), t);
        // The checkout goes out as segment 0 (a Meta event ends the open segment); segment 1 stays open.
        let evs = vec![ev(4, t, None), ev(2, t, None)];
        all.extend(evs.clone());
        p.events(&evs, t);
        // 4.5 s of events, 250 ms apart: one segment, a partial after each batch.
        for k in 1..=18u64 {
            let now = t + k * 250;
            let evs = vec![noisy(now, 4_000, k), click(now + 1)];
            all.extend(evs.clone());
            p.events(&evs, now);
            p.tick(now + 1);
        }
        let partials = p
            .out
            .iter()
            .filter(|o| matches!(o, Output::Partial { segment_id: 1, .. }))
            .count();
        assert!(partials >= 15, "{partials} partials");
        assert_eq!(segments(&p.out).len(), 1, "segment 1 is still open");
        let key = p
            .store
            .0
            .keys()
            .find(|k| k.ends_with("/s00001"))
            .cloned()
            .expect("the open segment is kept");
        let (records, bytes) = records_of(p.store, &key);
        assert!(
            records > 15,
            "one part per partial that added bytes, and the head: {records}"
        );
        assert!(bytes > 18 * 2_000, "the body is kept: {bytes} B");
        // Written whole after each partial, the segment would have cost about `partials / 2` times its size.
        let others: usize = p
            .store
            .0
            .iter()
            .filter(|(k, _)| !k.starts_with(&key))
            .map(|(_, v)| v.len())
            .sum();
        assert!(
            p.store.1 - others < 2 * bytes,
            "{} B written for a segment kept in {bytes} B",
            p.store.1 - others
        );
        (key, p.session.clone())
    };
    // The page went away without sending them: the next load hands both over, the open one read whole from its parts.
    let mut p = Page::load(&mut store, "page-2", &[], session, t + 20_000);
    let out = p.start(session_cfg(), t + 20_000);
    let handed = owned(before_started(&out));
    assert_eq!(
        handed.iter().map(|s| s.segment_id).collect::<Vec<_>>(),
        vec![0, 1]
    );
    let texts = recorded(&handed);
    assert_eq!(texts, all, "every event once, in order");
    // Taken over: one record again (this load's); sent: nothing left.
    assert_eq!(records_of(p.store, &key).0, 1);
    for s in &handed {
        p.sent(s, t + 20_001);
    }
    assert!(p.store.0.is_empty(), "{:?}", p.store.0.keys());
}

#[test]
fn a_long_buffer_generation_is_kept_in_at_most_64_parts_and_restored_whole() {
    let mut store = Fake::default();
    let t = T0;
    let mut all = Vec::new();
    let session = {
        let mut p = Page::load(&mut store, "page-1", &[], None, t);
        p.start(buffer_cfg(600_000.0), t);
        let evs = vec![ev(4, t, None), ev(2, t, None)];
        all.extend(evs.clone());
        p.events(&evs, t);
        // One checkout, then 80 s of events: one generation saved about once a second.
        for k in 1..=80u64 {
            let now = t + k * 1_000;
            let evs = vec![noisy(now, 500, k)];
            all.extend(evs.clone());
            p.events(&evs, now);
            p.tick(now + 1);
        }
        let gens: Vec<String> = p
            .store
            .0
            .keys()
            .filter(|k| k.contains("/g") && !k.contains("/p"))
            .cloned()
            .collect();
        assert_eq!(gens.len(), 1, "{gens:?}");
        let (records, bytes) = records_of(p.store, &gens[0]);
        assert!(
            (2..=65).contains(&records),
            "at most 64 parts and the head: {records}"
        );
        assert!(
            p.store.1 < 4 * bytes,
            "{} B written for a generation kept in {bytes} B",
            p.store.1
        );
        p.call(msg("hidden", &[("hidden", Value::Bool(true))]), t + 81_000);
        p.session.clone()
    };
    let at = t + 82_000;
    let mut p = Page::load(&mut store, "page-2", &[], session, at);
    let texts = recorded(&p.error_after_checkout(buffer_cfg(600_000.0), at, &mut all));
    assert_eq!(
        texts, all,
        "the generation read back from its parts, every event once, in order"
    );
}

#[test]
fn a_unit_with_a_missing_part_is_dropped_whole_and_stray_parts_go() {
    let mut store = Fake::default();
    let t = T0;
    {
        let mut p = Page::load(&mut store, "page-1", &[], None, t);
        p.start(session_cfg(), t);
        p.events(&[ev(4, t, None), ev(2, t, None)], t);
        for k in 1..=4u64 {
            let now = t + k * 250;
            p.events(&[noisy(now, 2_000, k)], now);
            p.tick(now + 1);
        }
    }
    let part = store
        .0
        .keys()
        .find(|k| k.ends_with("/p1"))
        .cloned()
        .expect("a second part");
    store.0.remove(&part);
    store.0.insert("0123/s00007/p0".into(), vec![1, 2, 3]);
    let mut p = Page::load(&mut store, "page-2", &[], None, t + 20_000);
    let out = p.start(session_cfg(), t + 20_000);
    assert_eq!(
        owned(before_started(&out))
            .iter()
            .map(|s| s.segment_id)
            .collect::<Vec<_>>(),
        vec![0],
        "the finished segment, and nothing half read"
    );
    assert!(
        p.store
            .0
            .keys()
            .all(|k| !k.contains("/s00001") && !k.starts_with("0123/")),
        "{:?}",
        p.store.0.keys()
    );
}
