//! The engine protocol's message shapes, both ways, from the Rust definitions:
//! every worker → host output variant is built (optional fields present) and
//! its wire form read back; the host → worker ops and `config` come from the
//! protocol module's tables. Written to `target/protocol-schema.json`:
//!
//! ```text
//! {"version":2,
//!  "worker":{"<op>":{"<field>":"<type>",…},…},
//!  "host":{"<op>":{"<field>":"<type>",…},…,"config":{"<field>":"<type>",…}}}
//! ```
//!
//! Types: string, number, boolean, bytes, string[], boolean[], string|null,
//! object. `rf` and `op` are listed for every op. A field listed may be
//! optional (worker/PROTOCOL.md says which).

use ringflate::engine::{
    Code, Kind, Mode, Output, ReplayType, Segment, Stats, Stop, Ty, CONFIG_FIELDS, HEADER,
    HOST_OPS, PROTOCOL_VERSION,
};
use serde_json::{json, Map, Value};

/// Every output variant, with every optional field present.
fn every_output() -> Vec<Output> {
    // No wildcard: a new variant does not compile until it is listed here.
    let all = vec![
        Output::Started {
            replay_id: "a".repeat(32),
            mode: Mode::Buffer,
            draws: vec![true, false],
            segment_id: 0,
        },
        Output::Draws(vec![false]),
        Output::Session("{}".into()),
        Output::Checkout,
        Output::Pause,
        Output::Stopped(Stop::Idle),
        Output::Partial {
            segment_id: 1,
            seq: 4,
            event_count: 2,
            adler: 5,
            chunk: vec![1],
            head: vec![2],
            tail: vec![3],
            session: "{}".into(),
            url: Some("https://x.test/".into()),
            replay_event: Some("{}".into()),
        },
        Output::Segment(Segment {
            replay_id: "a".repeat(32),
            segment_id: 1,
            replay_type: ReplayType::Session,
            start: 1,
            end: 2,
            event_count: 3,
            kind: Kind::Plain,
            url: Some("https://x.test/".into()),
            body: vec![4],
            replay_event: Some("{}".into()),
        }),
        Output::Rejected {
            of: None,
            code: Code::BadField,
            message: "ringflate: x".into(),
        },
        Output::Stats(Stats::default()),
        Output::Pong,
    ];
    for o in &all {
        match o {
            Output::Started { .. }
            | Output::Draws(_)
            | Output::Session(_)
            | Output::Checkout
            | Output::Pause
            | Output::Stopped(_)
            | Output::Partial { .. }
            | Output::Segment(_)
            | Output::Rejected { .. }
            | Output::Stats(_)
            | Output::Pong => {}
        }
    }
    all
}

fn fields(list: &[(&str, Ty)]) -> Value {
    let mut m = Map::new();
    for (k, t) in list {
        assert!(
            m.insert((*k).to_string(), json!(t.name())).is_none(),
            "{k} twice"
        );
    }
    Value::Object(m)
}

fn schema() -> Value {
    let mut worker = Map::new();
    for o in every_output() {
        let (op, f) = o.wire();
        let list: Vec<(&str, Ty)> = f.iter().map(|(k, v)| (*k, v.ty())).collect();
        assert_eq!(&list[..2], &[("rf", Ty::Num), ("op", Ty::Str)]);
        assert!(
            worker.insert(op.to_string(), fields(&list)).is_none(),
            "{op} twice"
        );
    }
    let mut host = Map::new();
    for (op, f) in HOST_OPS {
        let list: Vec<(&str, Ty)> = HEADER
            .iter()
            .chain(f.iter())
            .map(|f| (f.name, f.ty))
            .collect();
        assert!(
            host.insert((*op).to_string(), fields(&list)).is_none(),
            "{op} twice"
        );
    }
    let config: Vec<(&str, Ty)> = CONFIG_FIELDS.iter().map(|f| (f.name, f.ty)).collect();
    assert!(host.insert("config".into(), fields(&config)).is_none());
    json!({"version": PROTOCOL_VERSION, "worker": worker, "host": host})
}

#[test]
fn schema_dump() {
    let s = schema();
    // Spot checks that tie the dump to the protocol as documented.
    assert_eq!(s["version"], 2);
    assert_eq!(s["worker"]["rejected"]["of"], "string|null");
    assert_eq!(s["worker"]["rejected"]["code"], "string");
    assert_eq!(s["worker"]["partial"]["url"], "string");
    assert_eq!(s["worker"]["segment"]["body"], "bytes");
    assert_eq!(s["worker"]["started"]["draws"], "boolean[]");
    assert_eq!(s["host"]["start"]["session"], "string|null");
    assert_eq!(s["host"]["trace"]["traceId"], "string");
    assert_eq!(s["host"]["config"]["sentryClient"], "boolean");
    assert_eq!(s["host"]["config"]["maxReplayDurationMs"], "number");
    assert_eq!(s["host"]["events"]["seq"], "number");
    assert_eq!(s["host"]["sent"]["replayId"], "string");
    assert_eq!(s["host"]["sent"]["segmentId"], "number");
    assert_eq!(s["host"]["ping"], json!({"rf": "number", "op": "string"}));
    assert_eq!(s["host"]["forget"], json!({"rf": "number", "op": "string"}));
    assert_eq!(s["worker"]["pong"], json!({"rf": "number", "op": "string"}));
    for k in ["seq", "eventCount", "adler"] {
        assert_eq!(s["worker"]["partial"][k], "number", "{k}");
    }
    let names: Vec<&str> = Ty::ALL.iter().map(|t| t.name()).collect();
    for side in ["worker", "host"] {
        for (op, f) in s[side].as_object().unwrap() {
            for (k, t) in f.as_object().unwrap() {
                assert!(names.contains(&t.as_str().unwrap()), "{side}.{op}.{k}: {t}");
            }
        }
    }
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/protocol-schema.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, serde_json::to_string_pretty(&s).unwrap() + "\n").unwrap();
}
