//! The engine's hand-written readers against a real JSON parser (serde_json):
//! - the session value reader (`start.session`, PROTOCOL.md "Session state"):
//!   on random session values, valid and mutated, a text serde_json rejects,
//!   or one that is not the flat object of the format (string values without
//!   escapes, unsigned integers), never continues a replay; one that is
//!   continues it exactly when the format's fields are there with their types
//!   and it has not expired, with the values serde_json read (seen through
//!   `started` and the `session` value the engine writes back);
//! - the config reader (`start.config`, PROTOCOL.md's config table): a JSON
//!   config, valid or mutated, parsed by serde_json and handed over as the
//!   wasm layer hands over what `JSON.parse` gives, is read into the values
//!   the table says, or rejected exactly when the table says.
//!
//! The batch scanner's agreement with serde_json (random and mutated batches)
//! is in `json_agreement.rs` and, through the driver, `driver_props.rs`.
//!
//! Cases per run: 10,000 per property by default (under a second in `cargo
//! test --release`); more with proptest's `PROPTEST_CASES` (e.g.
//! `PROPTEST_CASES=1000000`) for a soak run.

mod engine_util;

use engine_util::{BAD_DSNS, T0};
use proptest::prelude::*;
use proptest::sample::Index;
use ringflate::engine::{envelope_url, Config, Engine, Mode, Output, Target, Value};
use serde_json::{json, Map, Value as J};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
}

/// One edit of a text at a char boundary.
#[derive(Debug, Clone)]
enum Edit {
    Delete(Index),
    Truncate(Index),
    Insert(Index, char),
    Replace(Index, char),
    Repeat(Index, usize),
    /// A `0` before the n-th number (a leading zero).
    ZeroPad(Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    let ch = prop_oneof![
        6 => prop::sample::select(
            "{}[],:\"\\ 0123456789-+.eEtfnul/xa\u{1}\u{e9}".chars().collect::<Vec<_>>()
        ),
        1 => any::<char>(),
    ];
    prop_oneof![
        any::<Index>().prop_map(Edit::Delete),
        any::<Index>().prop_map(Edit::Truncate),
        (any::<Index>(), ch.clone()).prop_map(|(i, c)| Edit::Insert(i, c)),
        (any::<Index>(), ch).prop_map(|(i, c)| Edit::Replace(i, c)),
        (any::<Index>(), 1usize..8).prop_map(|(i, n)| Edit::Repeat(i, n)),
        any::<Index>().prop_map(Edit::ZeroPad),
    ]
}

fn mutate(text: &str, edits: &[Edit]) -> String {
    let mut c: Vec<char> = text.chars().collect();
    for e in edits {
        if c.is_empty() {
            break;
        }
        match e {
            Edit::Delete(i) => {
                c.remove(i.index(c.len()));
            }
            Edit::Truncate(i) => c.truncate(i.index(c.len())),
            Edit::Insert(i, ch) => c.insert(i.index(c.len()), *ch),
            Edit::Replace(i, ch) => {
                let i = i.index(c.len());
                c[i] = *ch;
            }
            Edit::Repeat(i, n) => {
                let s = i.index(c.len());
                let piece: Vec<char> = c[s..(s + n).min(c.len())].to_vec();
                c.splice(s..s, piece);
            }
            Edit::ZeroPad(i) => {
                let starts: Vec<usize> = (0..c.len())
                    .filter(|&k| {
                        c[k].is_ascii_digit() && (k == 0 || !c[k - 1].is_ascii_alphanumeric())
                    })
                    .collect();
                if !starts.is_empty() {
                    c.insert(starts[i.index(starts.len())], '0');
                }
            }
        }
    }
    c.into_iter().collect()
}

// ---- the session value ----

/// The id a new replay gets from the random bytes below.
const NEW: [u8; 16] = [0xff; 16];
const NEW_ID: &str = "ffffffffffffffffffffffffffffffff";

/// A clock time (`small`: a count) or, sometimes, anything else.
fn int_ish_of(small: bool) -> impl Strategy<Value = J> {
    prop_oneof![
        20 => (0u64..1_200_000).prop_map(move |d| if small { json!(d / 16) } else { json!(T0 - 1_000_000 + d) }),
        2 => (0u64..70_000).prop_map(|n| json!(n)),
        1 => any::<u64>().prop_map(|n| json!(n)),
        2 => prop::sample::select(vec![
            json!(-1), json!(1.5), json!(1.0), json!("12"), json!(null), json!(true), json!([1]),
            json!({"a": 1}), json!(1e30), json!(u64::MAX), json!(4_294_967_296u64), json!(65_535), json!(65_536),
        ]),
    ]
}

fn int_ish() -> impl Strategy<Value = J> {
    int_ish_of(false)
}

/// A session value as the worker writes it (field order and whitespace
/// varying, values sometimes of another type), as text.
fn session_text() -> impl Strategy<Value = String> {
    let id = prop_oneof![
        20 => "[0-9a-f]{32}".prop_filter("not the new id", |s| s != NEW_ID).prop_map(J::String),
        1 => prop_oneof!["[0-9a-fA-F]{30,33}", "[a-z\"\\\\é]{0,8}"].prop_map(J::String),
        1 => int_ish(),
    ];
    let word = |w: &'static [&'static str]| {
        prop_oneof![
            20 => prop::sample::select(w).prop_map(|s| json!(s)),
            1 => prop::sample::select(vec![json!("Session"), json!(""), json!("sess\"ion"), json!(1), json!(null)]),
        ]
    };
    let fields = (
        prop_oneof![20 => Just(json!(1)), 1 => int_ish()],
        id,
        (int_ish(), int_ish(), int_ish_of(true), int_ish_of(true)),
        word(&["session", "buffer", "off"]),
        word(&["session", "buffer"]),
        prop_oneof![12 => Just(json!(0)), 1 => Just(json!(1)), 1 => int_ish()],
        prop::option::weighted(0.2, int_ish()),
    );
    (
        fields,
        prop::collection::vec(any::<Index>(), 0..3),
        prop::collection::vec(
            (
                "[a-zA-Z]{1,6}",
                prop_oneof![3 => "[a-z]{0,4}".prop_map(J::String), 1 => int_ish()],
            ),
            0..2,
        ),
        0u8..4,
    )
        .prop_map(
            |((v, id, (started, last, seg, draw), sampled, rt, ended, unload), drop, extra, ws)| {
                let mut f: Vec<(String, J)> = vec![
                    ("v".into(), v),
                    ("id".into(), id),
                    ("started".into(), started),
                    ("lastActivity".into(), last),
                    ("segmentId".into(), seg),
                    ("sampled".into(), sampled),
                    ("replayType".into(), rt),
                    ("draw".into(), draw),
                    ("ended".into(), ended),
                ];
                if let Some(u) = unload {
                    f.push(("unload".into(), u));
                }
                for d in &drop {
                    // Most often nothing is dropped: a dropped index past the end is kept.
                    let i = d.index(f.len() * 8);
                    if i < f.len() {
                        f.remove(i);
                    }
                }
                f.extend(extra);
                let (sep, colon) =
                    [(",", ":"), (", ", " : "), (",\n", ":\t"), (" ,\r\n", ":")][usize::from(ws)];
                let body: Vec<String> = f
                    .iter()
                    .map(|(k, v)| format!("{}{colon}{}", J::String(k.clone()), v))
                    .collect();
                format!("{{{}}}", body.join(sep))
            },
        )
}

/// What PROTOCOL.md's "Session state" says of a value, from serde_json's
/// reading: the replay it continues, if any, at `now`.
#[derive(Debug, PartialEq)]
struct Continues {
    id: String,
    started: u64,
    last_activity: u64,
    segment_id: u64,
    sampled: String,
    replay_type: String,
    draw: u64,
}

fn session_model(text: &str, now: u64) -> Option<Continues> {
    let J::Object(o) = serde_json::from_str::<J>(text).ok()? else {
        return None;
    };
    // The format: a flat object of unsigned integers and strings without escapes.
    if text.contains('\\') || !o.values().all(|v| v.is_u64() || v.is_string()) {
        return None;
    }
    let int = |k: &str| o.get(k).and_then(J::as_u64);
    let text = |k: &str| o.get(k).and_then(J::as_str);
    if int("v")? != 1 {
        return None;
    }
    let id = text("id")?;
    if !(id.len() == 32 && id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))) {
        return None;
    }
    let c = Continues {
        id: id.into(),
        started: int("started")?,
        last_activity: int("lastActivity")?,
        segment_id: int("segmentId")?.min(u64::from(u32::MAX) + 1),
        sampled: text("sampled")
            .filter(|s| ["session", "buffer", "off"].contains(s))?
            .into(),
        replay_type: text("replayType")
            .filter(|s| ["session", "buffer"].contains(s))?
            .into(),
        draw: int("draw")?,
    };
    let ended = int("ended")? != 0;
    if c.segment_id > u64::from(u32::MAX) {
        return None;
    }
    // Expiry: ended, no segment id left, or (not buffering) 15 min idle or past maxReplayDurationMs.
    let expired = ended
        || c.segment_id > 65_535
        || (c.sampled != "buffer"
            && (u128::from(now) >= u128::from(c.last_activity) + 15 * 60_000
                || u128::from(now) >= u128::from(c.started) + 3_600_000));
    (!expired).then_some(c)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn the_session_reader_agrees_with_serde_json(
        text in session_text(),
        edits in prop_oneof![3 => Just(vec![]), 2 => prop::collection::vec(edit(), 1..3)],
        dt in 0u64..400_000,
    ) {
        let text = mutate(&text, &edits);
        let now = T0 + dt;
        let want = session_model(&text, now);
        let (_, out) = Engine::start(Config::new(1.0, 0.0), Some(&text), now, NEW);
        let (id, mode, segment_id) = match &out[0] {
            Output::Started { replay_id, mode, segment_id, .. } => (replay_id.clone(), *mode, *segment_id),
            o => panic!("{o:?}"),
        };
        let Output::Session(written) = &out[1] else { panic!("{out:?}") };
        let w: J = serde_json::from_str(written).expect("the written value is JSON");
        match want {
            None => {
                prop_assert_eq!(id.as_str(), NEW_ID, "continued from {}", text);
                prop_assert_eq!(mode, Mode::Session);
                prop_assert_eq!(segment_id, 0);
            }
            Some(c) => {
                prop_assert_eq!(&id, &c.id, "did not continue from {}", text);
                prop_assert_eq!(mode.name(), c.sampled.as_str());
                prop_assert_eq!(u64::from(segment_id), c.segment_id);
                let got = Continues {
                    id: w["id"].as_str().unwrap().into(),
                    started: w["started"].as_u64().unwrap(),
                    last_activity: w["lastActivity"].as_u64().unwrap(),
                    segment_id: w["segmentId"].as_u64().unwrap(),
                    sampled: w["sampled"].as_str().unwrap().into(),
                    replay_type: w["replayType"].as_str().unwrap().into(),
                    draw: w["draw"].as_u64().unwrap(),
                };
                prop_assert_eq!(got, c, "read from {}", text);
                prop_assert_eq!(w["ended"].as_u64(), Some(0));
            }
        }
    }
}

/// Leading zeros are not JSON (`01`): such a value is unreadable.
#[test]
fn a_session_value_with_a_leading_zero_is_unreadable() {
    let id = "0123456789abcdef0123456789abcdef";
    let good = format!(
        "{{\"v\":1,\"id\":\"{id}\",\"started\":{T0},\"lastActivity\":{T0},\"segmentId\":3,\"sampled\":\"session\",\"replayType\":\"session\",\"draw\":0,\"ended\":0}}"
    );
    let started = |v: &str| match &Engine::start(Config::new(1.0, 0.0), Some(v), T0 + 1, NEW).1[0] {
        Output::Started { replay_id, .. } => replay_id.clone(),
        o => panic!("{o:?}"),
    };
    assert_eq!(started(&good), id);
    for bad in [
        good.replace("\"segmentId\":3", "\"segmentId\":03"),
        good.replace("\"v\":1", "\"v\":01"),
        good.replace("\"ended\":0", "\"ended\":00"),
    ] {
        assert!(serde_json::from_str::<J>(&bad).is_err());
        assert_eq!(started(&bad), NEW_ID, "{bad}");
    }
}

// ---- the config ----

/// A DSN from its parts, and the envelope URL PROTOCOL.md says it names.
fn dsn() -> impl Strategy<Value = (String, Option<String>)> {
    let good = (
        prop::sample::select(vec!["http", "https"]),
        "[a-z0-9]{1,12}",
        prop::option::of("[a-z0-9]{1,8}"),
        prop::sample::select(vec!["o1.ingest.sentry.io", "127.0.0.1:9000", "h"]),
        prop::sample::select(vec!["", "/sub", "/a/b"]),
        "[0-9]{1,7}",
        any::<bool>(),
    )
        .prop_map(|(scheme, key, secret, host, path, project, slash)| {
            let secret = secret.map(|s| format!(":{s}")).unwrap_or_default();
            let tail = if slash { "/" } else { "" };
            (
                format!("{scheme}://{key}{secret}@{host}{path}/{project}{tail}"),
                Some(format!(
                    "{scheme}://{host}{path}/api/{project}/envelope/?sentry_version=7&sentry_key={key}"
                )),
            )
        });
    prop_oneof![
        4 => good,
        1 => prop::sample::select(BAD_DSNS).prop_map(|d| (d.to_string(), None)),
    ]
}

fn maybe_bad(good: J) -> impl Strategy<Value = Option<J>> {
    prop_oneof![
        4 => Just(None),
        4 => Just(Some(good)),
        1 => prop::sample::select(vec![
            json!(null), json!(-1), json!(2), json!(1.5), json!("0.5"), json!(true), json!([]), json!({}), json!(4e6),
            json!(2_000_000_000u64), json!("x"),
        ]).prop_map(Some),
    ]
}

fn text_value() -> impl Strategy<Value = J> {
    prop_oneof![any::<String>(), "[a\"\\\\/\\n\\u{1}é世🎉]{0,8}"].prop_map(J::String)
}

/// A config as JSON (a map: serde_json's object, keys unique).
fn config_json() -> impl Strategy<Value = J> {
    let rate = prop_oneof![
        3 => prop::sample::select(vec![0.0, 1.0]).prop_map(|x| json!(x)),
        3 => (0.0f64..=1.0).prop_map(|x| json!(x)),
        1 => prop::sample::select(vec![json!(-0.1), json!(1.0000001), json!("1"), json!(null), json!(true)]),
    ];
    let ms = |max: u64| (0..=max).prop_map(|x| json!(x));
    (
        (prop::option::weighted(0.95, rate.clone()), prop::option::weighted(0.95, rate)),
        (
            ms(3_600_000).prop_flat_map(maybe_bad),
            ms(1 << 30).prop_flat_map(maybe_bad),
            prop_oneof![ms(1_000_000), (0.0f64..1e9).prop_map(|x| json!(x))].prop_flat_map(maybe_bad),
            ms(3_600_000).prop_flat_map(maybe_bad),
        ),
        (
            prop::option::weighted(0.3, dsn()),
            prop::option::weighted(0.2, text_value()),
            prop::option::weighted(0.2, text_value()),
            prop::option::weighted(0.2, prop_oneof![4 => any::<bool>().prop_map(J::Bool), 1 => text_value()]),
        ),
        (
            prop::option::weighted(0.3, prop_oneof![
                4 => (text_value(), text_value()).prop_map(|(n, v)| json!({"name": n, "version": v})),
                1 => prop::sample::select(vec![json!({"name": "x"}), json!({"name": 1, "version": "1"}), json!({"name": {"a": 1}, "version": "1"}), json!("sdk"), json!([])]),
            ]),
            prop::option::weighted(0.3, prop_oneof![4 => text_value(), 1 => Just(json!(5))]),
            prop::option::weighted(0.3, prop_oneof![4 => text_value(), 1 => Just(json!(false))]),
            prop::collection::vec(("[a-zA-Z]{1,8}", text_value()), 0..2),
        ),
    )
        .prop_map(|((s, e), (buf, bytes, min, max), (dsn, tunnel, endpoint, client), (sdk, env, rel, extra))| {
            let mut m = Map::new();
            for (k, v) in extra {
                m.insert(k, v);
            }
            for (k, v) in [
                ("sessionSampleRate", s),
                ("errorSampleRate", e),
                ("bufferMs", buf),
                ("maxBufferBytes", bytes),
                ("minReplayDurationMs", min),
                ("maxReplayDurationMs", max),
                ("dsn", dsn.map(|d| J::String(d.0))),
                ("tunnel", tunnel),
                ("endpoint", endpoint),
                ("sentryClient", client),
                ("sdk", sdk),
                ("environment", env),
                ("release", rel),
            ] {
                if let Some(v) = v {
                    m.insert(k.into(), v);
                }
            }
            J::Object(m)
        })
}

/// What the wasm layer hands over of a `JSON.parse` result, `depth` object
/// levels deep (the config is read two levels below the message).
fn to_value(v: &J, depth: u32) -> Value {
    match v {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        J::String(s) => Value::Str(s.clone()),
        J::Array(_) => Value::Other("array".into()),
        J::Object(_) if depth == 0 => Value::Other("object".into()),
        J::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), to_value(v, depth - 1)))
                .collect(),
        ),
    }
}

/// The config PROTOCOL.md's table reads from serde_json's value: `Err` when
/// it says the config is rejected. Fields: rates, bufferMs, maxBufferBytes,
/// minReplayDurationMs (capped), maxReplayDurationMs, target, sdk name and
/// version, environment, release.
type Want = (
    f64,
    f64,
    u64,
    u64,
    u64,
    u64,
    Target,
    String,
    String,
    String,
    Option<String>,
);

/// Why the table's reading of a config gives no config.
#[derive(Debug)]
enum No {
    Rejected,
    /// The DSN decides and the model has no verdict for it.
    Unknown,
}

fn config_model(c: &Map<String, J>, dsn_url: Option<Option<&str>>) -> Result<Want, No> {
    let get = |k: &str| c.get(k).filter(|v| !v.is_null());
    let num = |k: &str, max: f64| -> Result<Option<f64>, No> {
        match get(k) {
            None => Ok(None),
            Some(J::Number(n)) => {
                let x = n.as_f64().ok_or(No::Rejected)?;
                if (0.0..=max).contains(&x) {
                    Ok(Some(x))
                } else {
                    Err(No::Rejected)
                }
            }
            Some(_) => Err(No::Rejected),
        }
    };
    let text = |k: &str| -> Result<Option<String>, No> {
        match get(k) {
            None => Ok(None),
            Some(J::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(No::Rejected),
        }
    };
    let s = num("sessionSampleRate", 1.0)?.ok_or(No::Rejected)?;
    let e = num("errorSampleRate", 1.0)?.ok_or(No::Rejected)?;
    let buf = num("bufferMs", 3_600_000.0)?.map_or(60_000, |x| x as u64);
    let bytes = num("maxBufferBytes", 1_073_741_824.0)?.map_or(10_485_760, |x| x as u64);
    let min = num("minReplayDurationMs", 1e12)?.map_or(4_999, |x| (x as u64).min(50_000));
    let max = num("maxReplayDurationMs", 3_600_000.0)?.map_or(3_600_000, |x| x as u64);
    let (dsn, tunnel, endpoint) = (text("dsn")?, text("tunnel")?, text("endpoint")?);
    let client = match get("sentryClient") {
        None => false,
        Some(J::Bool(b)) => *b,
        Some(_) => return Err(No::Rejected),
    };
    let (sdk_name, sdk_version) = match get("sdk") {
        None => (
            "ringflate".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
        Some(J::Object(o)) => match (o.get("name"), o.get("version")) {
            (Some(J::String(n)), Some(J::String(v))) => (n.clone(), v.clone()),
            _ => return Err(No::Rejected),
        },
        Some(_) => return Err(No::Rejected),
    };
    let env = text("environment")?.unwrap_or_else(|| "production".into());
    let release = text("release")?;
    let target = if client {
        if dsn.is_some() || tunnel.is_some() || endpoint.is_some() {
            return Err(No::Rejected);
        }
        Target::Recording
    } else if endpoint.is_some() {
        if dsn.is_some() || tunnel.is_some() {
            return Err(No::Rejected);
        }
        Target::Plain { url: endpoint }
    } else if let Some(d) = dsn {
        let url = dsn_url.ok_or(No::Unknown)?.ok_or(No::Rejected)?.to_string();
        match tunnel {
            Some(t) => Target::Envelope {
                url: t,
                dsn: Some(d),
            },
            None => Target::Envelope { url, dsn: None },
        }
    } else if let Some(t) = tunnel {
        Target::Envelope { url: t, dsn: None }
    } else {
        Target::Plain { url: None }
    };
    Ok((
        s,
        e,
        buf,
        bytes,
        min,
        max,
        target,
        sdk_name,
        sdk_version,
        env,
        release,
    ))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn the_config_reader_agrees_with_serde_json(
        cfg in config_json(),
        edits in prop_oneof![3 => Just(vec![]), 1 => prop::collection::vec(edit(), 1..3)],
    ) {
        let text = mutate(&cfg.to_string(), &edits);
        // A text JSON.parse would refuse never reaches the worker.
        let Ok(parsed) = serde_json::from_str::<J>(&text) else { return Ok(()) };
        let value = to_value(&parsed, 2);
        let got = Config::from_value(&value);
        let J::Object(obj) = &parsed else {
            prop_assert!(got.is_err(), "read a config from {}", text);
            return Ok(());
        };
        let dsn_url = obj.get("dsn").and_then(J::as_str).and_then(dsn_url_of);
        match (got, config_model(obj, dsn_url.as_ref().map(Option::as_deref))) {
            // A DSN the model has no verdict for (an edit made it another one): not compared.
            (_, Err(No::Unknown)) => {}
            (Err(why), Err(No::Rejected)) => prop_assert!(!why.is_empty()),
            (Ok(c), Ok(w)) => {
                let got: Want = (
                    c.session_sample_rate, c.error_sample_rate, c.buffer_ms, c.max_buffer_bytes,
                    c.min_replay_duration_ms, c.limits.max_replay_ms, c.target, c.sdk_name, c.sdk_version,
                    c.environment, c.release,
                );
                prop_assert_eq!(got, w, "read from {}", text);
            }
            (got, want) => prop_assert!(false, "{:?} vs the table's {:?} for {}", got.map(|_| ()), want.map(|_| ()), text),
        }
    }
}

#[test]
fn no_listed_malformed_dsn_has_an_envelope_url() {
    for bad in BAD_DSNS {
        assert!(envelope_url(bad).is_err(), "{bad}");
    }
}

/// The envelope URL of a DSN the generator could have built (its grammar:
/// `{http|https}://{key}[:{secret}]@{host}[/{path}]/{project}[/]`, key,
/// secret and project alphanumeric, host one of the generator's), `Some(None)`
/// for one of its malformed DSNs, `None` for any other text.
fn dsn_url_of(d: &str) -> Option<Option<String>> {
    if BAD_DSNS.contains(&d) {
        return Some(None);
    }
    dsn_grammar(d).map(Some)
}

fn dsn_grammar(d: &str) -> Option<String> {
    let (scheme, rest) = d.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let (user, hostpath) = rest.split_once('@')?;
    let (key, secret) = user.split_once(':').unwrap_or((user, ""));
    let alnum = |s: &str| s.bytes().all(|c| c.is_ascii_alphanumeric());
    if key.is_empty() || !alnum(key) || !alnum(secret) {
        return None;
    }
    let hostpath = hostpath.strip_suffix('/').unwrap_or(hostpath);
    let (hp, project) = hostpath.rsplit_once('/')?;
    let host = ["o1.ingest.sentry.io", "127.0.0.1:9000", "h"]
        .into_iter()
        .find(|h| hp == *h || hp.starts_with(&format!("{h}/")))?;
    let path = &hp[host.len()..];
    if project.is_empty() || !alnum(project) || !matches!(path, "" | "/sub" | "/a/b") {
        return None;
    }
    Some(format!(
        "{scheme}://{host}{path}/api/{project}/envelope/?sentry_version=7&sentry_key={key}"
    ))
}
