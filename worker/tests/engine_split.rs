//! Buffer mode splits history of any size: a generation is split (a full
//! flush) before it takes more than 5,000,000 UTF-16 units, so a buffer over
//! the 20 M segment cap is sent as several segments cut at those points, every
//! event once and in order, each under the caps; the kept history still starts
//! at a checkout when old generations are dropped.

mod engine_util;

use engine_util::*;
use ringflate::engine::{utf16_len, Limits, Output};

/// An event whose JSON text is about `units` UTF-16 units (some of them not ASCII).
fn big(ts: u64, units: usize, rng: &mut Rng) -> String {
    let mut s = String::with_capacity(units + 64);
    while s.len() < units {
        s.push_str(&rng.hex(40));
        s.push_str("é€");
    }
    format!("{{\"type\":3,\"data\":{{\"source\":0,\"text\":\"{s}\"}},\"timestamp\":{ts}}}")
}

#[test]
fn a_buffer_over_the_segment_cap_is_sent_in_segments_cut_at_split_points() {
    let l = Limits::default();
    assert_eq!(l.split_utf16, 5_000_000);
    let mut c = buffer_config();
    c.buffer_ms = 600_000;
    c.max_buffer_bytes = 1 << 30;
    let (mut e, _) = start(c, T0);
    let mut rng = Rng(5);
    let mut all = vec![ev(4, T0, None), ev(2, T0, None)];
    e.events(&batch(&all), T0);
    // 46 events of ~1.2 M units: ~56 M units in one generation (no checkout since the first).
    for i in 0..46u64 {
        let t = T0 + 1_000 + i * 1_000;
        let x = big(t, 1_300_000, &mut rng);
        all.push(x.clone());
        assert!(segments(&e.events(&batch(&[x]), t)).is_empty());
    }
    let total: u64 = all.iter().map(|x| utf16_len(x.as_bytes())).sum();
    assert!(total > 2 * l.max_segment_utf16, "{total}");
    let out = e.error(Some("e"), true, T0 + 60_000);
    let segs = segments(&out);
    assert!(segs.len() >= 3, "{} segments", segs.len());
    let mut got = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        assert_eq!(usize::from(s.segment_id), i);
        let texts = split_recording(&recording(s));
        let units: u64 = texts.iter().map(|x| utf16_len(x.as_bytes())).sum();
        assert!(units <= l.max_segment_utf16, "segment {i}: {units} units");
        assert!(
            s.body.len() < l.max_segment_bytes,
            "segment {i}: {} bytes",
            s.body.len()
        );
        assert_eq!(s.event_count as usize, texts.len());
        got.extend(texts);
    }
    assert_eq!(got.len(), all.len());
    assert!(got == all, "every event once, in order");
    assert!(has(&out, |o| matches!(o, Output::Checkout)));
}

#[test]
fn dropping_old_history_keeps_a_checkout_first_even_with_split_points() {
    let mut c = buffer_config();
    c.buffer_ms = 10_000;
    c.max_buffer_bytes = 1 << 30;
    c.limits.split_utf16 = 1_000;
    let (mut e, _) = start(c, T0);
    let mut rng = Rng(9);
    // Two checkouts, each followed by events that split its generation several times.
    for k in 0..2u64 {
        let t = T0 + k * 20_000;
        e.events(&batch(&[ev(4, t, None), ev(2, t, None)]), t);
        for i in 0..6u64 {
            e.events(
                &batch(&[big(t + 100 + i, 600, &mut rng)]),
                t + 100 + i * 100,
            );
        }
    }
    let out = e.error(None, true, T0 + 31_000);
    let segs = segments(&out);
    let first = split_recording(&recording(segs[0]));
    assert!(
        first[0].starts_with("{\"type\":4"),
        "segment 0 starts at a checkout"
    );
    let texts = recorded(&segs);
    assert_eq!(
        texts.len(),
        2 + 6,
        "the first checkout's split generations went with it"
    );
    // The byte cap drops whole checkouts with their split generations too.
    let mut c = buffer_config();
    c.buffer_ms = 600_000;
    c.max_buffer_bytes = 3_000;
    c.limits.split_utf16 = 1_000;
    let (mut e, _) = start(c, T0);
    for k in 0..3u64 {
        let t = T0 + k * 1_000;
        e.events(&batch(&[ev(4, t, None)]), t);
        for i in 0..4u64 {
            e.events(&batch(&[big(t + 1 + i, 900, &mut rng)]), t + 1 + i);
        }
    }
    let out = e.error(None, true, T0 + 5_000);
    let texts = recorded(&segments(&out));
    assert!(
        texts[0].starts_with("{\"type\":4"),
        "what is kept starts at a checkout"
    );
    assert!(e.stats().dropped_generations >= 5);
}
