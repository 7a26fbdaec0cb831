//! Every deadline of a replay, each written once in [`Engine::due_at`]:
//! [`Engine::next_wake`] is the earliest of them and [`Engine::run_timers`]
//! fires, in [`ORDER`], every one that is due.

use super::output::{Output, Stop};
use super::phase::Phase;
use super::replay::Engine;
use crate::prelude::*;

/// What a deadline does when it is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Recording: the replay reached its maximum duration.
    MaxDuration,
    /// Recording: no user activity for the idle limit.
    Idle,
    /// Recording: no user activity for the pause limit.
    Pause,
    /// Recording: send the open segment.
    Flush,
    /// Recording: post a `partial` of the open segment.
    Partial,
    /// Buffering: ask for a checkout.
    Checkout,
}

/// The order in which due deadlines fire.
pub const ORDER: [Due; 6] = [
    Due::MaxDuration,
    Due::Idle,
    Due::Pause,
    Due::Flush,
    Due::Partial,
    Due::Checkout,
];

impl Engine {
    /// Never before the replay is `minReplayDurationMs` old.
    fn min_start(&self) -> u64 {
        self.started.saturating_add(self.cfg.min_replay_duration_ms)
    }

    /// When `d` is due, if it is pending in the current phase.
    pub(super) fn due_at(&self, d: Due) -> Option<u64> {
        let l = &self.cfg.limits;
        match (&self.phase, d) {
            (Phase::Recording(_), Due::MaxDuration) => {
                Some(self.started.saturating_add(l.max_replay_ms))
            }
            (Phase::Recording(_), Due::Idle) => {
                Some(self.last_activity.saturating_add(l.idle_expire_ms))
            }
            (Phase::Recording(r), Due::Pause) if !r.paused => {
                Some(self.last_activity.saturating_add(l.pause_after_ms))
            }
            (Phase::Recording(r), Due::Flush) => {
                let o = r.open.as_ref().filter(|o| o.meta().events > 0)?;
                let due = if r.flush_now {
                    0
                } else {
                    (o.last_at + l.flush_delay_ms).min(o.first_at + l.flush_max_delay_ms)
                };
                Some(due.max(self.min_start()))
            }
            (Phase::Recording(r), Due::Partial) => {
                let o = r
                    .open
                    .as_ref()
                    .filter(|o| o.meta().events > r.sent_events)?;
                let due = match r.partial_at {
                    Some(t) if !self.hidden => t + l.partial_interval_ms,
                    _ => 0,
                };
                Some(due.max(self.min_start()).max(o.first_at))
            }
            (Phase::Buffering(b), Due::Checkout) => b.checkout_at,
            _ => None,
        }
    }

    /// When `tick` should next be called, if ever.
    pub fn next_wake(&self) -> Option<u64> {
        ORDER.iter().filter_map(|&d| self.due_at(d)).min()
    }

    /// Fires every deadline due at `now`; `partial: false` holds partials
    /// back (before a batch, whose events the partial should include).
    pub(super) fn run_timers(&mut self, now: u64, out: &mut Vec<Output>, partial: bool) {
        if let Phase::Buffering(b) = &mut self.phase {
            b.trim(now);
        }
        for d in ORDER {
            if !self.live() {
                return;
            }
            if (partial || d != Due::Partial) && self.due_at(d).is_some_and(|at| now >= at) {
                self.fire(d, now, out);
            }
        }
    }

    fn fire(&mut self, d: Due, now: u64, out: &mut Vec<Output>) {
        match d {
            Due::MaxDuration => self.end(Stop::MaxDuration, now, out),
            Due::Idle => self.end(Stop::Idle, now, out),
            Due::Pause => {
                if let Phase::Recording(r) = &mut self.phase {
                    r.paused = true;
                    out.push(Output::Pause);
                }
            }
            Due::Flush => self.send_open(now, out),
            Due::Partial => self.emit_partial(now, out),
            Due::Checkout => {
                if let Phase::Buffering(b) = &mut self.phase {
                    b.checkout_at = None;
                    out.push(Output::Checkout);
                }
            }
        }
    }
}
