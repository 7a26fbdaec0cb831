//! Segments: how each target frames one, sending the open segment, the
//! `partial` of it, and the history when buffering switches to recording.

use super::config::Target;
use super::envelope;
use super::json::{push_u64, RawJson};
use super::output::{Kind, Mode, Output, Segment, Stop};
use super::phase::Phase;
use super::record::{Meta, OPEN};
use super::replay::Engine;
use crate::prelude::*;

/// Appends `k=v` query parameters (values need no escaping: hex, digits, words).
fn plain_url(endpoint: &str, params: &[(&str, &str)]) -> String {
    let mut u = String::with_capacity(endpoint.len() + 120);
    u.push_str(endpoint);
    let mut sep = if endpoint.contains('?') { '&' } else { '?' };
    for (k, v) in params {
        u.push(sep);
        u.push_str(k);
        u.push('=');
        u.push_str(v);
        sep = '&';
    }
    u
}

fn decimal(n: u64) -> String {
    let mut o = Vec::new();
    push_u64(&mut o, n);
    String::from_utf8(o).unwrap_or_default()
}

fn ids_since(list: &[(u64, RawJson)], since: u64) -> Vec<RawJson> {
    list.iter()
        .filter(|(t, _)| *t >= since)
        .map(|(_, id)| id.clone())
        .collect()
}

/// How a segment (or the open one, for `partial`) is sent: everything before
/// the zlib stream, and where to.
struct Framing {
    kind: Kind,
    url: Option<String>,
    head: Vec<u8>,
    replay_event: Option<String>,
}

/// What a segment reports besides its events.
struct Report<'a> {
    replay_start: u64,
    urls: &'a [RawJson],
    error_ids: &'a [RawJson],
    trace_ids: &'a [RawJson],
}

impl Engine {
    fn next_segment_id(&self) -> u16 {
        self.segment_id.min(u32::from(u16::MAX)) as u16
    }

    /// The framing of the next segment holding `meta` (a zlib stream of
    /// `zlib_len` bytes), as the configured target wants it.
    fn framing(&self, meta: &Meta, r: &Report, zlib_len: usize, now: u64) -> Framing {
        let segment_id = self.next_segment_id();
        let info = envelope::SegmentInfo {
            replay_id: &self.id,
            segment_id,
            replay_type: self.replay_type,
            replay_start: r.replay_start,
            timestamp: meta.last_ts,
            error_ids: r.error_ids,
            trace_ids: r.trace_ids,
            urls: r.urls,
        };
        match &self.cfg.target {
            Target::Envelope { url, dsn } => Framing {
                kind: Kind::Envelope,
                url: Some(url.clone()),
                head: envelope::head(&self.cfg, dsn.as_deref(), &info, zlib_len, now),
                replay_event: None,
            },
            Target::Plain { url } => Framing {
                kind: Kind::Plain,
                url: url.as_deref().map(|ep| {
                    plain_url(
                        ep,
                        &[
                            ("replayId", &self.id),
                            ("segmentId", &decimal(u64::from(segment_id))),
                            ("replayType", self.replay_type.name()),
                            ("start", &decimal(meta.first_ts)),
                            ("end", &decimal(meta.last_ts)),
                            ("eventCount", &decimal(u64::from(meta.events))),
                        ],
                    )
                }),
                head: Vec::new(),
                replay_event: None,
            },
            Target::Recording => Framing {
                kind: Kind::Recording,
                url: None,
                head: envelope::payload_head(segment_id),
                replay_event: Some(envelope::replay_event(&info)),
            },
        }
    }

    /// The start URL (first segment) and the Meta events' URLs.
    fn segment_urls(&self, meta: &Meta) -> Vec<RawJson> {
        let mut urls = Vec::new();
        for u in self.start_urls.iter().chain(&meta.urls) {
            self.cfg.limits.push_url(&mut urls, u);
        }
        urls
    }

    /// Posts a segment from a complete zlib stream. `Err` when that was the
    /// last segment id.
    fn post_segment(
        &mut self,
        zlib: Vec<u8>,
        meta: &Meta,
        r: &Report,
        now: u64,
        out: &mut Vec<Output>,
    ) -> Result<(), Stop> {
        self.replay_start = self.replay_start.min(meta.first_ts);
        let r = Report {
            replay_start: self.replay_start,
            ..*r
        };
        let f = self.framing(meta, &r, zlib.len(), now);
        let body = if f.head.is_empty() {
            zlib
        } else {
            let mut body = f.head;
            body.extend_from_slice(&zlib);
            body
        };
        self.stats.segments += 1;
        self.stats.segment_bytes += body.len() as u64;
        out.push(Output::Segment(Segment {
            replay_id: self.id.clone(),
            segment_id: self.next_segment_id(),
            replay_type: self.replay_type,
            start: meta.first_ts,
            end: meta.last_ts,
            event_count: meta.events,
            kind: f.kind,
            url: f.url,
            body,
            replay_event: f.replay_event,
        }));
        self.segment_id += 1;
        self.start_urls.clear();
        if self.segment_id > u32::from(u16::MAX) {
            Err(Stop::SegmentLimit)
        } else {
            Ok(())
        }
    }

    /// Sends the open segment, if it has events; `Err` when the replay must end.
    pub(super) fn emit_open(&mut self, now: u64, out: &mut Vec<Output>) -> Result<(), Stop> {
        let Phase::Recording(rec) = &mut self.phase else {
            return Ok(());
        };
        let Some(open) = rec.take_open().filter(|o| o.meta().events > 0) else {
            return Ok(());
        };
        let (zlib, meta) = open.finish().map_err(|_| Stop::InternalError)?;
        let urls = self.segment_urls(&meta);
        let errors = ids_since(&core::mem::take(&mut self.error_ids), 0);
        let traces = ids_since(&core::mem::take(&mut self.trace_ids), 0);
        let report = Report {
            replay_start: self.replay_start,
            urls: &urls,
            error_ids: &errors,
            trace_ids: &traces,
        };
        self.post_segment(zlib, &meta, &report, now, out)?;
        self.save(out);
        Ok(())
    }

    /// Sends the open segment; ends the replay if that was the last one.
    pub(super) fn send_open(&mut self, now: u64, out: &mut Vec<Output>) {
        if let Err(reason) = self.emit_open(now, out) {
            self.end(reason, now, out);
        }
    }

    /// Posts the open segment's new compressed bytes with the head and tail
    /// that make it a complete body as of now.
    pub(super) fn emit_partial(&mut self, now: u64, out: &mut Vec<Output>) {
        let Phase::Recording(rec) = &mut self.phase else {
            return;
        };
        let Some(open) = rec.open.as_mut() else {
            return;
        };
        if open.sync().is_err() {
            return self.fail(now, out);
        }
        let chunk = open.piece.bytes[rec.sent_len..].to_vec();
        rec.sent_len = open.piece.bytes.len();
        rec.sent_events = open.meta().events;
        rec.partial_at = Some(now);
        let (zlib_len, tail, meta) = (open.zlib_len(), open.tail(), open.meta().clone());
        let adler = open.adler();
        let urls = self.segment_urls(&meta);
        let report = Report {
            replay_start: self.replay_start.min(meta.first_ts),
            urls: &urls,
            error_ids: &ids_since(&self.error_ids, 0),
            trace_ids: &ids_since(&self.trace_ids, 0),
        };
        let f = self.framing(&meta, &report, zlib_len, now);
        let mut head = f.head;
        head.extend_from_slice(&OPEN);
        out.push(Output::Partial {
            segment_id: self.next_segment_id(),
            seq: self.seq,
            event_count: meta.events,
            adler,
            chunk,
            head,
            tail,
            session: self.persist(self.segment_id + 1, Some(self.segment_id)),
            url: f.url,
            replay_event: f.replay_event,
        });
    }

    /// Buffering → recording: the kept history is sent (segment 0 and on, with
    /// the ids reported within it), then a checkout is asked for.
    pub(super) fn convert(&mut self, now: u64, out: &mut Vec<Output>) {
        let Phase::Buffering(b) = core::mem::replace(&mut self.phase, Phase::Off) else {
            return;
        };
        let (rec, history) = match b.into_recording(now, &self.cfg.limits) {
            Ok(x) => x,
            Err(_) => {
                self.phase = Phase::Ended {
                    reason: Stop::InternalError,
                    mode: Mode::Buffer,
                };
                out.push(Output::Stopped(Stop::InternalError));
                return self.save(out);
            }
        };
        self.phase = Phase::Recording(rec);
        self.replay_type = super::output::ReplayType::Buffer;
        self.last_activity = now;
        self.stats.dropped_generations += history.dropped_generations;
        self.stats.dropped_bytes += history.dropped_bytes;
        if let Some(first_at) = history.start_at {
            self.started = first_at;
            self.replay_start = first_at;
            let errors = ids_since(&core::mem::take(&mut self.error_ids), first_at);
            let traces = ids_since(&core::mem::take(&mut self.trace_ids), first_at);
            for (i, (zlib, meta)) in history.segments.into_iter().enumerate() {
                // The history's own URLs; the start URL only if it has none.
                let urls = if meta.urls.is_empty() {
                    self.start_urls.clone()
                } else {
                    meta.urls.clone()
                };
                let report = Report {
                    replay_start: self.replay_start,
                    urls: &urls,
                    error_ids: if i == 0 { &errors } else { &[] },
                    trace_ids: if i == 0 { &traces } else { &[] },
                };
                if let Err(reason) = self.post_segment(zlib, &meta, &report, now, out) {
                    return self.end(reason, now, out);
                }
            }
        }
        // Ids not sent with the history (there was none) stay for the next segment.
        out.push(Output::Checkout);
        self.save(out);
    }
}
