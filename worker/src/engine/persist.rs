//! The session state the host stores verbatim (`session.value`) and passes
//! back in `start`; the format is in `worker/PROTOCOL.md`.

use super::config::Limits;
use super::json::{parse_flat, Flat, Obj};
use super::output::{Mode, ReplayType};
use super::sample;
use crate::prelude::*;

/// The persisted session state (format in PROTOCOL.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persisted {
    pub id: String,
    pub started: u64,
    pub last_activity: u64,
    pub segment_id: u32,
    pub mode: Mode,
    pub replay_type: ReplayType,
    pub draws_used: u64,
    pub ended: bool,
    /// In a partial's session value: the host stores it when it delivered
    /// that partial (this segment id) itself on unload.
    pub unload: Option<u32>,
}

impl Persisted {
    pub fn parse(s: &str) -> Option<Persisted> {
        let fields = parse_flat(s)?;
        let get = |k: &str| fields.iter().rev().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let int = |k: &str| match get(k) {
            Some(Flat::Int(n)) => Some(n),
            _ => None,
        };
        let text = |k: &str| match get(k) {
            Some(Flat::Str(v)) => Some(v),
            _ => None,
        };
        if int("v")? != 1 {
            return None;
        }
        let id = text("id")?;
        if !sample::is_replay_id(id) {
            return None;
        }
        Some(Persisted {
            id: id.to_string(),
            started: int("started")?,
            last_activity: int("lastActivity")?,
            segment_id: u32::try_from(int("segmentId")?).ok()?,
            mode: match text("sampled")? {
                "session" => Mode::Session,
                "buffer" => Mode::Buffer,
                "off" => Mode::Off,
                _ => return None,
            },
            replay_type: match text("replayType")? {
                "session" => ReplayType::Session,
                "buffer" => ReplayType::Buffer,
                _ => return None,
            },
            draws_used: int("draw")?,
            ended: int("ended")? != 0,
            unload: int("unload").and_then(|n| u32::try_from(n).ok()),
        })
    }

    pub fn write(&self) -> String {
        let mut o = Vec::with_capacity(200);
        let mut w = Obj::new(&mut o);
        w.int("v", 1)
            .str("id", &self.id)
            .int("started", self.started)
            .int("lastActivity", self.last_activity)
            .int("segmentId", u64::from(self.segment_id))
            .str("sampled", self.mode.name())
            .str("replayType", self.replay_type.name())
            .int("draw", self.draws_used)
            .int("ended", u64::from(self.ended));
        if let Some(n) = self.unload {
            w.int("unload", u64::from(n));
        }
        w.close();
        String::from_utf8(o).unwrap_or_default()
    }

    /// Whether a replay can no longer continue from this state. A buffering
    /// replay that has sent nothing never expires (as in Sentry's SDK).
    pub fn expired(&self, now: u64, l: &Limits) -> bool {
        self.ended
            || self.segment_id > u32::from(u16::MAX)
            || (self.mode != Mode::Buffer
                && (now >= self.last_activity.saturating_add(l.idle_expire_ms)
                    || now >= self.started.saturating_add(l.max_replay_ms)))
    }
}
