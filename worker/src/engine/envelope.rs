//! Sentry envelopes for replay segments (written by hand: no serde, no floats).
//!
//! ```text
//! {"event_id":"<replay id>","sent_at":"<ISO-8601>","sdk":{…}[,"dsn":"…"]}
//! {"type":"replay_event"}
//! {"type":"replay_event","replay_id":…,"segment_id":N,…}
//! {"type":"replay_recording","length":<payload bytes>}
//! {"segment_id":N}
//! <zlib bytes>
//! ```

use super::config::Config;
use super::json::{push_iso8601, push_raw_list, push_secs, push_str, push_u64, put, RawJson};
use super::ReplayType;

/// What the `replay_event` item says about a segment.
pub struct SegmentInfo<'a> {
    pub replay_id: &'a str,
    pub segment_id: u16,
    pub replay_type: ReplayType,
    /// Replay start and the segment's last event (ms).
    pub replay_start: u64,
    pub timestamp: u64,
    pub error_ids: &'a [RawJson],
    pub urls: &'a [RawJson],
}

/// The envelope up to and including the recording payload's header line; the
/// zlib stream of `zlib_len` bytes follows it.
pub fn head(
    cfg: &Config,
    dsn: Option<&str>,
    s: &SegmentInfo,
    zlib_len: usize,
    now: u64,
) -> Vec<u8> {
    let mut o = Vec::with_capacity(512);
    let sdk = |o: &mut Vec<u8>| {
        put(o, b"{\"name\":");
        push_str(o, &cfg.sdk_name);
        put(o, b",\"version\":");
        push_str(o, &cfg.sdk_version);
        o.push(b'}');
    };
    put(&mut o, b"{\"event_id\":\"");
    put(&mut o, s.replay_id.as_bytes());
    put(&mut o, b"\",\"sent_at\":\"");
    push_iso8601(&mut o, now);
    put(&mut o, b"\",\"sdk\":");
    sdk(&mut o);
    if let Some(dsn) = dsn {
        put(&mut o, b",\"dsn\":");
        push_str(&mut o, dsn);
    }
    put(
        &mut o,
        b"}\n{\"type\":\"replay_event\"}\n{\"type\":\"replay_event\",\"replay_id\":\"",
    );
    put(&mut o, s.replay_id.as_bytes());
    put(&mut o, b"\",\"segment_id\":");
    push_u64(&mut o, u64::from(s.segment_id));
    put(&mut o, b",\"replay_type\":\"");
    put(&mut o, s.replay_type.name().as_bytes());
    put(&mut o, b"\",\"replay_start_timestamp\":");
    push_secs(&mut o, s.replay_start);
    put(&mut o, b",\"timestamp\":");
    push_secs(&mut o, s.timestamp);
    put(&mut o, b",\"error_ids\":");
    push_raw_list(&mut o, &s.error_ids[..s.error_ids.len().min(100)]);
    put(&mut o, b",\"trace_ids\":[],\"urls\":");
    push_raw_list(&mut o, s.urls);
    put(&mut o, b",\"platform\":\"javascript\",\"event_id\":\"");
    put(&mut o, s.replay_id.as_bytes());
    put(&mut o, b"\",\"environment\":");
    push_str(&mut o, &cfg.environment);
    if let Some(r) = &cfg.release {
        put(&mut o, b",\"release\":");
        push_str(&mut o, r);
    }
    put(&mut o, b",\"sdk\":");
    sdk(&mut o);
    let mut payload_head = b"{\"segment_id\":".to_vec();
    push_u64(&mut payload_head, u64::from(s.segment_id));
    payload_head.extend_from_slice(b"}\n");
    put(&mut o, b"}\n{\"type\":\"replay_recording\",\"length\":");
    push_u64(&mut o, (payload_head.len() + zlib_len) as u64);
    put(&mut o, b"}\n");
    put(&mut o, &payload_head);
    o
}
