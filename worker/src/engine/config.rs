//! Engine configuration, read from the `config` object of a `start` message,
//! and the host message values it is read from.

use super::json::{dec, RawJson};
use super::protocol::{check_fields, Value, CONFIG_FIELDS};
use crate::deflate::DEFAULT_LEVEL;
use crate::prelude::*;

/// The longest a replay runs (`maxReplayDurationMs`: its default and maximum).
pub const MAX_REPLAY_MS: u64 = 60 * 60_000;

/// Fixed limits of the segment rules. Public so that tests can shrink them; the
/// protocol does not expose them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Flush this long after the last event…
    pub flush_delay_ms: u64,
    /// …but at most this long after the first pending one.
    pub flush_max_delay_ms: u64,
    /// At most one `partial` per interval (unless hidden).
    pub partial_interval_ms: u64,
    /// Session mode pauses after this long without user activity.
    pub pause_after_ms: u64,
    /// A session expires after this long without user activity.
    pub idle_expire_ms: u64,
    /// …or this long after it started (`maxReplayDurationMs`).
    pub max_replay_ms: u64,
    /// UTF-16 units of events in one segment (the host's cap).
    pub max_segment_utf16: u64,
    /// Buffer mode: a generation is split (a full flush) before it takes more
    /// UTF-16 units than this, so that the history is sent in segments under the cap.
    pub split_utf16: u64,
    /// A segment is closed once its compressed bytes reach this.
    pub max_segment_bytes: usize,
    /// Error draws handed to the host at a time.
    pub draw_batch: u64,
    /// At most this many `urls`, `error_ids` and `trace_ids` per segment.
    pub max_ids: usize,
    /// Deflate level.
    pub level: u32,
    /// Bytes kept in persistent storage at most (the oldest units go first)…
    pub store_max_bytes: u64,
    /// …and for at most this long.
    pub store_max_age_ms: u64,
    /// Buffer-mode history is saved at most this often (at once while hidden).
    pub store_interval_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            flush_delay_ms: 5_000,
            flush_max_delay_ms: 5_500,
            partial_interval_ms: 250,
            pause_after_ms: 5 * 60_000,
            idle_expire_ms: 15 * 60_000,
            max_replay_ms: MAX_REPLAY_MS,
            max_segment_utf16: 20_000_000,
            split_utf16: 5_000_000,
            // Relay's limit is 10 MiB per recording item; the margin covers what
            // the compressor still holds, the envelope headers and the trailer.
            max_segment_bytes: 10 * 1024 * 1024 - 256 * 1024,
            draw_batch: 32,
            max_ids: 100,
            level: DEFAULT_LEVEL,
            store_max_bytes: 10 * 1024 * 1024,
            store_max_age_ms: 24 * 60 * 60_000,
            store_interval_ms: 1_000,
        }
    }
}

impl Limits {
    /// Adds a URL to a segment's `urls` unless it repeats the previous one;
    /// the first [`Limits::max_ids`] are kept. The same rule in both modes.
    pub fn push_url(&self, urls: &mut Vec<RawJson>, url: &RawJson) {
        if urls.last() != Some(url) && urls.len() < self.max_ids {
            urls.push(url.clone());
        }
    }

    /// Adds an error or trace id (with the clock time it arrived) for the next
    /// segment unless it is there already; the newest [`Limits::max_ids`] are
    /// kept. The same rule for both kinds and in both modes.
    pub fn push_id(&self, ids: &mut Vec<(u64, RawJson)>, at: u64, id: RawJson) {
        if ids.iter().any(|(_, x)| *x == id) {
            return;
        }
        if ids.len() >= self.max_ids {
            ids.remove(0);
        }
        ids.push((at, id));
    }
}

/// Where segments go and in which form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Sentry envelopes POSTed to `url`; `dsn` goes into the envelope header
    /// (set when sending through a tunnel).
    Envelope { url: String, dsn: Option<String> },
    /// The zlib recording alone, POSTed to `url` (the endpoint with the
    /// segment described in the query) if an endpoint is given.
    Plain { url: Option<String> },
    /// For a Sentry client that builds the envelope itself: the
    /// `replay_recording` payload and the `replay_event` as JSON.
    Recording,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub session_sample_rate: f64,
    pub error_sample_rate: f64,
    pub buffer_ms: u64,
    pub max_buffer_bytes: u64,
    pub min_replay_duration_ms: u64,
    pub target: Target,
    pub sdk_name: String,
    pub sdk_version: String,
    pub environment: String,
    pub release: Option<String>,
    /// The page URL at start, reported in the first segment's `urls`.
    pub url: Option<String>,
    pub limits: Limits,
}

impl Config {
    /// Defaults for the optional fields; a plain target without URL.
    pub fn new(session_sample_rate: f64, error_sample_rate: f64) -> Config {
        Config {
            session_sample_rate,
            error_sample_rate,
            buffer_ms: 60_000,
            max_buffer_bytes: 10 * 1024 * 1024,
            min_replay_duration_ms: 4_999,
            target: Target::Plain { url: None },
            sdk_name: "ringflate".into(),
            sdk_version: env!("CARGO_PKG_VERSION").into(),
            environment: "production".into(),
            release: None,
            url: None,
            limits: Limits::default(),
        }
    }

    /// Reads the `config` object of a `start` message: field types from
    /// [`CONFIG_FIELDS`], then ranges and combinations.
    pub fn from_value(v: &Value) -> Result<Config, String> {
        if !matches!(v, Value::Object(_)) {
            return Err(["config must be an object, got ", v.type_name()].concat());
        }
        check_fields(v, CONFIG_FIELDS, "config.")?;
        let num = |k: &str| match v.get(k) {
            Value::Number(x) => Some(*x),
            _ => None,
        };
        let text = |k: &str| match v.get(k) {
            Value::Str(s) => Some(s.clone()),
            _ => None,
        };
        let rate = |k: &str| match num(k) {
            Some(x) if (0.0..=1.0).contains(&x) => Ok(x),
            _ => Err([
                "config.",
                k,
                " must be a number from 0 to 1, got a number out of range",
            ]
            .concat()),
        };
        let mut c = Config::new(rate("sessionSampleRate")?, rate("errorSampleRate")?);
        let ms = |k: &str, max: f64| -> Result<Option<u64>, String> {
            match num(k) {
                None => Ok(None),
                Some(x) if (0.0..=max).contains(&x) => Ok(Some(x as u64)),
                Some(_) => Err([
                    "config.",
                    k,
                    " must be a number from 0 to ",
                    &dec(max as u64),
                    ", got a number out of range",
                ]
                .concat()),
            }
        };
        if let Some(x) = ms("bufferMs", 3_600_000.0)? {
            c.buffer_ms = x;
        }
        if let Some(x) = ms("maxBufferBytes", 1_073_741_824.0)? {
            c.max_buffer_bytes = x;
        }
        if let Some(x) = ms("minReplayDurationMs", 1e12)? {
            // Sentry caps minReplayDuration at 50 s.
            c.min_replay_duration_ms = x.min(50_000);
        }
        if let Some(x) = ms("maxReplayDurationMs", MAX_REPLAY_MS as f64)? {
            c.limits.max_replay_ms = x;
        }
        let dsn = text("dsn");
        let tunnel = text("tunnel");
        let endpoint = text("endpoint");
        let sentry_client = matches!(v.get("sentryClient"), Value::Bool(true));
        if sentry_client && (dsn.is_some() || tunnel.is_some() || endpoint.is_some()) {
            return Err("config: sentryClient (the Sentry client sends the envelope) goes without dsn, tunnel and endpoint".into());
        }
        c.target = match (dsn, tunnel, endpoint) {
            _ if sentry_client => Target::Recording,
            (_, Some(_), Some(_)) | (Some(_), _, Some(_)) => {
                return Err("config: give either dsn/tunnel (Sentry envelopes) or endpoint (plain segments), not both".into())
            }
            (Some(dsn), tunnel, None) => {
                let url = envelope_url(&dsn)?;
                match tunnel {
                    Some(t) => Target::Envelope {
                        url: t,
                        dsn: Some(dsn),
                    },
                    None => Target::Envelope { url, dsn: None },
                }
            }
            (None, Some(t), None) => Target::Envelope { url: t, dsn: None },
            (None, None, endpoint) => Target::Plain { url: endpoint },
        };
        let sdk = v.get("sdk");
        if let Value::Object(_) = sdk {
            match (sdk.get("name"), sdk.get("version")) {
                (Value::Str(n), Value::Str(ver)) => {
                    c.sdk_name = n.clone();
                    c.sdk_version = ver.clone();
                }
                _ => return Err("config.sdk must be {name: string, version: string}".into()),
            }
        }
        if let Some(e) = text("environment") {
            c.environment = e;
        }
        c.release = text("release");
        Ok(c)
    }
}

/// `{scheme}://{key}@{host}/{project}` → the envelope endpoint with the key as
/// a query parameter. A path before the project id is kept.
pub fn envelope_url(dsn: &str) -> Result<String, String> {
    let bad = || {
        [
            "config.dsn is not a DSN ({scheme}://{key}@{host}/{project}): ",
            dsn,
        ]
        .concat()
    };
    // A byte search rather than `split_once("://")`, which links a substring searcher.
    let sep = dsn
        .as_bytes()
        .windows(3)
        .position(|w| w == b"://")
        .ok_or_else(bad)?;
    let scheme = dsn.get(..sep).ok_or_else(bad)?;
    let rest = dsn.get(sep + 3..).ok_or_else(bad)?;
    let (userinfo, hostpath) = rest.split_once('@').ok_or_else(bad)?;
    let key = userinfo.split(':').next().unwrap_or_default();
    let (host, project) = hostpath
        .trim_end_matches('/')
        .rsplit_once('/')
        .ok_or_else(bad)?;
    let ok = |s: &str| !s.is_empty() && !s.contains(['/', '?', '#', '@', ' ']);
    if !matches!(scheme, "http" | "https") || !ok(key) || host.is_empty() || !ok(project) {
        return Err(bad());
    }
    Ok([
        scheme,
        "://",
        host,
        "/api/",
        project,
        "/envelope/?sentry_version=7&sentry_key=",
        key,
    ]
    .concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsn_to_url() {
        assert_eq!(
            envelope_url("https://abc@o1.ingest.sentry.io/42").unwrap(),
            "https://o1.ingest.sentry.io/api/42/envelope/?sentry_version=7&sentry_key=abc"
        );
        assert_eq!(
            envelope_url("http://k:secret@127.0.0.1:9000/sub/7").unwrap(),
            "http://127.0.0.1:9000/sub/api/7/envelope/?sentry_version=7&sentry_key=k"
        );
    }
}
