//! Native throughput over the rrweb corpus (`tests/corpus/*.ndjson.gz`).
//!
//! Per corpus file:
//! - `sentry_worker/<file>`: [`SentryWorker`] fed one `addEvent` message per
//!   event, `finish` whenever 5 s of event time (the events' `timestamp`) have
//!   passed since the segment's first event, and once at the end — the drop-in
//!   worker's job without the JS boundary;
//! - `zlib_writer_one_write/<file>`: ringflate's `ZlibWriter` given the whole
//!   stream text in one write (framing and backend without per-event streaming);
//! - `ceiling_zlib_rs/<file>` and `ceiling_miniz/<file>`: the whole stream text
//!   `'[' + events.join(',') + ']'` compressed to raw deflate in one call at the
//!   same level, with each backend called directly.
//!
//! Throughput is the byte length of that whole-stream text per iteration, so all
//! three rows of a file divide the same number. Every output is inflated and
//! compared with its input once before timing. The compressed sizes are printed
//! as `RINGFLATE_BENCH {json}` lines for `bench/run.mjs`.
//!
//! Environment: `RINGFLATE_CORPUS` (corpus folder), `RINGFLATE_BENCH_FILES`
//! (comma-separated name filter), `RINGFLATE_BENCH_QUICK=1` (short run).

use criterion::{criterion_group, Criterion, SamplingMode, Throughput};
use flate2::read::{DeflateDecoder, GzDecoder, ZlibDecoder};
use ringflate::deflate::{ZlibWriter, DEFAULT_LEVEL};
use ringflate::engine::{split_batch, Config, Engine, Output};
use ringflate::sentry::{Field, Message, Outcome, Response, SentryWorker};
use std::hint::black_box;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::time::Duration;

/// Sentry's host flushes at most every 5 s; the benchmark finishes a segment
/// every 5 s of event time.
const SEGMENT_MS: f64 = 5000.0;

struct Corpus {
    name: String,
    events: Vec<String>,
    /// Top-level `timestamp` of each event (ms).
    times: Vec<f64>,
}

impl Corpus {
    fn stream_text(&self) -> String {
        format!("[{}]", self.events.join(","))
    }

    /// Indices at which a new segment starts (always includes 0 when non-empty).
    fn segment_starts(&self) -> Vec<usize> {
        let mut starts = Vec::new();
        let mut seg_start = f64::NEG_INFINITY;
        for (i, &t) in self.times.iter().enumerate() {
            if i == 0 || t - seg_start >= SEGMENT_MS {
                starts.push(i);
                seg_start = t;
            }
        }
        starts
    }
}

fn corpus_dir() -> PathBuf {
    match std::env::var_os("RINGFLATE_CORPUS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus"),
    }
}

/// The value of the top-level key `timestamp` of one JSON object text, found
/// by scanning (nested objects may carry their own `timestamp`).
fn top_level_timestamp(event: &str) -> Option<f64> {
    let b = event.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if depth == 1
                    && &b[start..i.min(b.len())] == b"timestamp"
                    && b.get(i + 1) == Some(&b':')
                {
                    let rest = &event[i + 2..];
                    let end = rest
                        .find(|c: char| {
                            !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
                        })
                        .unwrap_or(rest.len());
                    return rest[..end].parse().ok();
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn load() -> Vec<Corpus> {
    let dir = corpus_dir();
    let filter: Vec<String> = std::env::var("RINGFLATE_BENCH_FILES")
        .map(|s| s.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus folder {}: {e}", dir.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".ndjson.gz"))
        .filter(|n| filter.is_empty() || filter.iter().any(|f| n.contains(f.as_str())))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no corpus files in {}", dir.display());
    names
        .into_iter()
        .map(|file| {
            let f = std::fs::File::open(dir.join(&file)).unwrap();
            let events: Vec<String> = BufReader::new(GzDecoder::new(f))
                .lines()
                .map(Result::unwrap)
                .filter(|l| !l.is_empty())
                .collect();
            let times = events
                .iter()
                .map(|e| {
                    top_level_timestamp(e)
                        .unwrap_or_else(|| panic!("{file}: event without timestamp"))
                })
                .collect();
            Corpus {
                name: file.trim_end_matches(".ndjson.gz").to_owned(),
                events,
                times,
            }
        })
        .collect()
}

fn add_event(event: &str) -> Message {
    Message::Object {
        id: Field::Number,
        method: Field::Str("addEvent".to_owned()),
        arg: Field::Str(event.to_owned()),
    }
}

fn finish() -> Message {
    Message::Object {
        id: Field::Number,
        method: Field::Str("finish".to_owned()),
        arg: Field::Absent,
    }
}

fn take_bytes(o: Outcome) -> Vec<u8> {
    match o {
        Outcome::Ok(Response::Bytes(b)) => b,
        other => panic!("finish failed: {other:?}"),
    }
}

/// Runs the corpus through a fresh worker; returns every `finish` output.
fn run_sentry(c: &Corpus, starts: &[usize]) -> Vec<Vec<u8>> {
    let mut w = SentryWorker::default();
    let mut outs = Vec::with_capacity(starts.len());
    let mut next = 1;
    for (i, e) in c.events.iter().enumerate() {
        if next < starts.len() && starts[next] == i {
            outs.push(take_bytes(w.handle(finish())));
            next += 1;
        }
        match w.handle(add_event(e)) {
            Outcome::Ok(Response::Nothing) => {}
            other => panic!("addEvent failed: {other:?}"),
        }
    }
    outs.push(take_bytes(w.handle(finish())));
    outs
}

/// ringflate's own zlib framing with the whole text in one write: separates the
/// cost of streaming event by event from the cost of the framing and backend.
fn one_write(text: &[u8]) -> Vec<u8> {
    let mut w = ZlibWriter::new(DEFAULT_LEVEL);
    w.write(text).unwrap();
    w.finish().unwrap()
}

fn ceiling_zlib_rs(text: &[u8], out: &mut Vec<u8>) -> usize {
    let config = zlib_rs::DeflateConfig {
        level: DEFAULT_LEVEL as i32,
        window_bits: -15,
        ..Default::default()
    };
    out.resize(zlib_rs::compress_bound(text.len()), 0);
    let (done, rc) = zlib_rs::compress_slice(out, text, config);
    assert_eq!(rc, zlib_rs::ReturnCode::Ok);
    done.len()
}

fn ceiling_miniz(text: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(text, DEFAULT_LEVEL as u8)
}

fn inflate_zlib(z: &[u8]) -> String {
    let mut s = String::new();
    ZlibDecoder::new(z).read_to_string(&mut s).unwrap();
    s
}

fn inflate_raw(z: &[u8]) -> String {
    let mut s = String::new();
    DeflateDecoder::new(z).read_to_string(&mut s).unwrap();
    s
}

/// Engine mode batches: one `JSON.stringify(batch)` per 250 ms of event time
/// (as the host posts a burst), with the clock at the batch's last event.
const BURST_MS: f64 = 250.0;

fn engine_batches(c: &Corpus) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=c.events.len() {
        if i == c.events.len() || c.times[i] - c.times[start] >= BURST_MS {
            out.push((
                format!("[{}]", c.events[start..i].join(",")),
                c.times[i - 1] as u64,
            ));
            start = i;
        }
    }
    out
}

/// Feeds the batches to an engine in session mode (segments by Sentry's rules,
/// timers run when due on the fake clock) or buffer mode (history kept in the
/// ring, sent by one sampled error at the end). Returns the segments produced.
fn run_engine(batches: &[(String, u64)], buffer: bool) -> Vec<ringflate::engine::Segment> {
    let cfg = if buffer {
        Config::new(0.0, 1.0)
    } else {
        Config::new(1.0, 0.0)
    };
    let t0 = batches.first().map_or(0, |b| b.1);
    let (mut e, _) = Engine::start(cfg, None, t0, [7; 16]);
    let mut segs = Vec::new();
    let mut keep = |outs: Vec<Output>| {
        for o in outs {
            if let Output::Segment(s) = o {
                segs.push(s);
            }
        }
    };
    for (json, now) in batches {
        for _ in 0..16 {
            match e.next_wake() {
                Some(w) if w <= *now => keep(e.tick(w)),
                _ => break,
            }
        }
        keep(e.events(json, *now));
    }
    let end = batches.last().map_or(0, |b| b.1);
    if buffer {
        keep(e.error(None, true, end));
    } else {
        keep(e.flush(end));
    }
    segs
}

fn report(file: &str, bench: &str, input: usize, compressed: usize, finishes: usize) {
    println!(
        "RINGFLATE_BENCH {{\"file\":\"{file}\",\"bench\":\"{bench}\",\"level\":{DEFAULT_LEVEL},\"input\":{input},\"compressed\":{compressed},\"finishes\":{finishes}}}"
    );
}

fn benches(crit: &mut Criterion) {
    let quick = std::env::var("RINGFLATE_BENCH_QUICK").is_ok_and(|v| v == "1");
    for c in load() {
        let text = c.stream_text();
        let starts = c.segment_starts();

        // Correctness first: every output inflates to exactly its input.
        let outs = run_sentry(&c, &starts);
        assert_eq!(outs.len(), starts.len());
        for (k, out) in outs.iter().enumerate() {
            let end = starts.get(k + 1).copied().unwrap_or(c.events.len());
            let want = format!("[{}]", c.events[starts[k]..end].join(","));
            assert_eq!(&out[..2], &[0x78, 0x9C], "{}: zlib header", c.name);
            assert!(inflate_zlib(out) == want, "{}: segment {k} differs", c.name);
        }
        report(
            &c.name,
            "sentry_worker",
            text.len(),
            outs.iter().map(Vec::len).sum(),
            outs.len(),
        );
        let whole = one_write(text.as_bytes());
        assert!(
            inflate_zlib(&whole) == text,
            "{}: one-write round trip",
            c.name
        );
        report(&c.name, "zlib_writer_one_write", text.len(), whole.len(), 1);
        let mut buf = Vec::new();
        let n = ceiling_zlib_rs(text.as_bytes(), &mut buf);
        assert!(
            inflate_raw(&buf[..n]) == text,
            "{}: zlib-rs round trip",
            c.name
        );
        report(&c.name, "ceiling_zlib_rs", text.len(), n, 1);
        let m = ceiling_miniz(text.as_bytes());
        assert!(inflate_raw(&m) == text, "{}: miniz round trip", c.name);
        report(&c.name, "ceiling_miniz", text.len(), m.len(), 1);

        // Engine mode, session vs buffer: the per-event cost of keeping history.
        let batches = engine_batches(&c);
        let session = run_engine(&batches, false);
        let total: u32 = session.iter().map(|s| s.event_count).sum();
        assert_eq!(
            total as usize,
            c.events.len(),
            "{}: session mode sends every event",
            c.name
        );
        report(
            &c.name,
            "engine_session",
            text.len(),
            session.iter().map(|s| s.body.len()).sum(),
            session.len(),
        );
        let buffered = run_engine(&batches, true);
        assert!(
            !buffered.is_empty(),
            "{}: the error sends the buffer",
            c.name
        );
        assert_eq!(&buffered[0].body[..2], &[0x78, 0x9C]);
        let first = buffered[0].body.clone();
        let inflated = inflate_zlib(&first);
        assert!(
            inflated.starts_with("[{") && inflated.ends_with("}]"),
            "{}: buffer segment inflates to events",
            c.name
        );
        report(
            &c.name,
            "engine_buffer",
            text.len(),
            buffered.iter().map(|s| s.body.len()).sum(),
            buffered.len(),
        );

        let mut g = crit.benchmark_group(c.name.clone());
        g.sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .warm_up_time(Duration::from_millis(if quick { 200 } else { 1000 }))
            .measurement_time(Duration::from_millis(if quick { 1000 } else { 4000 }))
            .throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function("sentry_worker", |b| {
            b.iter(|| black_box(run_sentry(&c, &starts)))
        });
        g.bench_function("zlib_writer_one_write", |b| {
            b.iter(|| black_box(one_write(black_box(text.as_bytes()))))
        });
        g.bench_function("ceiling_zlib_rs", |b| {
            b.iter(|| black_box(ceiling_zlib_rs(black_box(text.as_bytes()), &mut buf)))
        });
        g.bench_function("ceiling_miniz", |b| {
            b.iter(|| black_box(ceiling_miniz(black_box(text.as_bytes()))))
        });
        g.bench_function("engine_session", |b| {
            b.iter(|| black_box(run_engine(&batches, false)))
        });
        g.bench_function("engine_buffer", |b| {
            b.iter(|| black_box(run_engine(&batches, true)))
        });
        // The batch scanner alone, over the same batches (mostly small ones).
        g.bench_function("engine_scan", |b| {
            b.iter(|| {
                for (json, _) in &batches {
                    black_box(split_batch(black_box(json.as_str())).map(|v| v.len()).ok());
                }
            })
        });
        g.finish();
    }
}

criterion_group!(corpus, benches);

/// `RINGFLATE_BENCH_ONCE=N`: no criterion, just the `sentry_worker` feed N times per file (after
/// one check that it inflates), with the wall time of each pass. For instruction counts and
/// profiles (`valgrind --tool=callgrind`, `perf record`), compared with `bench/wasm-node.mjs`
/// running the same feed in WebAssembly.
fn once(reps: usize) {
    for c in load() {
        let starts = c.segment_starts();
        let outs = run_sentry(&c, &starts);
        for (k, out) in outs.iter().enumerate() {
            let end = starts.get(k + 1).copied().unwrap_or(c.events.len());
            let want = format!("[{}]", c.events[starts[k]..end].join(","));
            assert!(inflate_zlib(out) == want, "{}: segment {k} differs", c.name);
        }
        let input = c.stream_text().len();
        for _ in 0..reps {
            let t = std::time::Instant::now();
            black_box(run_sentry(&c, &starts));
            let s = t.elapsed().as_secs_f64();
            println!(
                "{}: {:.1} MB/s ({:.1} ms, {} B compressed)",
                c.name,
                input as f64 / 1e6 / s,
                s * 1e3,
                outs.iter().map(Vec::len).sum::<usize>()
            );
        }
    }
}

fn main() {
    if let Some(n) = std::env::var("RINGFLATE_BENCH_ONCE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        once(n);
        return;
    }
    corpus();
    Criterion::default().configure_from_args().final_summary();
}
