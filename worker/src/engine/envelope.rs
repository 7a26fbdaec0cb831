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
use super::json::{Obj, RawJson};
use super::ReplayType;
use crate::prelude::*;

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

/// The `replay_event` fields the worker knows.
fn replay_event_fields(o: &mut Obj, s: &SegmentInfo) {
    o.str("type", "replay_event")
        .str("replay_id", s.replay_id)
        .int("segment_id", u64::from(s.segment_id))
        .str("replay_type", s.replay_type.name())
        .secs("replay_start_timestamp", s.replay_start)
        .secs("timestamp", s.timestamp)
        .list("error_ids", s.error_ids)
        .list("trace_ids", s.trace_ids)
        .list("urls", s.urls);
}

/// The `replay_event` for a Sentry client that adds the SDK's own fields.
pub fn replay_event(s: &SegmentInfo) -> String {
    let mut o = Vec::with_capacity(256);
    let mut w = Obj::new(&mut o);
    replay_event_fields(&mut w, s);
    w.close();
    String::from_utf8(o).unwrap_or_default()
}

/// The `replay_recording` payload's header line: `{"segment_id":N}\n`.
pub fn payload_head(segment_id: u16) -> Vec<u8> {
    let mut o = Vec::with_capacity(24);
    let mut w = Obj::new(&mut o);
    w.int("segment_id", u64::from(segment_id));
    w.close();
    o.push(b'\n');
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
    let mut sdk = Vec::with_capacity(64);
    let mut w = Obj::new(&mut sdk);
    w.str("name", &cfg.sdk_name)
        .str("version", &cfg.sdk_version);
    w.close();
    let mut o = Vec::with_capacity(512);
    let mut w = Obj::new(&mut o);
    w.str("event_id", s.replay_id)
        .date("sent_at", now)
        .raw("sdk", &sdk);
    if let Some(dsn) = dsn {
        w.str("dsn", dsn);
    }
    w.close();
    o.push(b'\n');
    let mut w = Obj::new(&mut o);
    w.str("type", "replay_event");
    w.close();
    o.push(b'\n');
    let mut w = Obj::new(&mut o);
    replay_event_fields(&mut w, s);
    w.str("platform", "javascript")
        .str("event_id", s.replay_id)
        .str("environment", &cfg.environment);
    if let Some(r) = &cfg.release {
        w.str("release", r);
    }
    w.raw("sdk", &sdk);
    w.close();
    o.push(b'\n');
    let payload_head = payload_head(s.segment_id);
    let mut w = Obj::new(&mut o);
    w.str("type", "replay_recording")
        .int("length", (payload_head.len() + zlib_len) as u64);
    w.close();
    o.push(b'\n');
    o.extend_from_slice(&payload_head);
    o
}
