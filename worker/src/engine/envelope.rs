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
    pub trace_ids: &'a [RawJson],
    pub urls: &'a [RawJson],
}

/// The `replay_event` fields the worker knows, without the closing brace:
/// `{"type":"replay_event","replay_id":…,…,"urls":[…]`.
fn replay_event_fields(o: &mut Vec<u8>, s: &SegmentInfo) {
    put(o, b"{\"type\":\"replay_event\",\"replay_id\":\"");
    put(o, s.replay_id.as_bytes());
    put(o, b"\",\"segment_id\":");
    push_u64(o, u64::from(s.segment_id));
    put(o, b",\"replay_type\":\"");
    put(o, s.replay_type.name().as_bytes());
    put(o, b"\",\"replay_start_timestamp\":");
    push_secs(o, s.replay_start);
    put(o, b",\"timestamp\":");
    push_secs(o, s.timestamp);
    put(o, b",\"error_ids\":");
    push_raw_list(o, s.error_ids);
    put(o, b",\"trace_ids\":");
    push_raw_list(o, s.trace_ids);
    put(o, b",\"urls\":");
    push_raw_list(o, s.urls);
}

/// The `replay_event` for a Sentry client that adds the SDK's own fields.
pub fn replay_event(s: &SegmentInfo) -> String {
    let mut o = Vec::with_capacity(256);
    replay_event_fields(&mut o, s);
    o.push(b'}');
    String::from_utf8(o).unwrap_or_default()
}

/// The `replay_recording` payload's header line: `{"segment_id":N}\n`.
pub fn payload_head(segment_id: u16) -> Vec<u8> {
    let mut o = b"{\"segment_id\":".to_vec();
    push_u64(&mut o, u64::from(segment_id));
    o.extend_from_slice(b"}\n");
    o
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
    put(&mut o, b"}\n{\"type\":\"replay_event\"}\n");
    replay_event_fields(&mut o, s);
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
    let payload_head = payload_head(s.segment_id);
    put(&mut o, b"}\n{\"type\":\"replay_recording\",\"length\":");
    push_u64(&mut o, (payload_head.len() + zlib_len) as u64);
    put(&mut o, b"}\n");
    put(&mut o, &payload_head);
    o
}
