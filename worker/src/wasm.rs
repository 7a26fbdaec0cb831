//! The thin wasm-bindgen layer: reads a worker message into the core's
//! [`Message`], runs the core, and posts the reply (compressed bytes are
//! transferred, not copied).

use crate::sentry::{Field, Message, Method, Outcome, Response, SentryWorker};
use js_sys::{Array, Object, Reflect, Uint8Array};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use web_sys::DedicatedWorkerGlobalScope;

thread_local! {
    static SENTRY: RefCell<SentryWorker> = RefCell::new(SentryWorker::default());
}

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn field(v: &JsValue, want_string: bool) -> Field {
    if v.is_undefined() {
        Field::Absent
    } else if v.as_f64().is_some() {
        Field::Number
    } else if want_string && v.is_string() {
        Field::Str(v.as_string().unwrap_or_default())
    } else if v.is_string() {
        // Present but not needed as text: don't copy it into linear memory.
        Field::Other("string".into())
    } else {
        Field::Other(v.js_typeof().as_string().unwrap_or_default())
    }
}

/// Handles one message of Sentry's protocol. Returns a reason when the message
/// was ignored (no id to answer to), `undefined` when a reply was posted.
#[wasm_bindgen(js_name = onSentryMessage)]
pub fn on_sentry_message(data: &JsValue) -> Option<String> {
    if !data.is_object() {
        return Some(ignored(
            SENTRY.with(|s| s.borrow_mut().handle(Message::NotAnObject)),
        ));
    }
    let id = get(data, "id");
    let method = get(data, "method");
    let method_name = method.as_string();
    let wants_arg = method_name
        .as_deref()
        .and_then(Method::parse)
        .is_some_and(Method::takes_string);
    let msg = Message::Object {
        id: field(&id, false),
        method: match method_name {
            Some(name) => Field::Str(name),
            None => field(&method, false),
        },
        arg: field(&get(data, "arg"), wants_arg),
    };
    let outcome = SENTRY.with(|s| s.borrow_mut().handle(msg));
    if let Outcome::Ignore(_) = outcome {
        return Some(ignored(outcome));
    }
    post_reply(&id, &method, outcome);
    None
}

fn ignored(o: Outcome) -> String {
    match o {
        Outcome::Ignore(why) => format!("ringflate: ignored a message: {why}"),
        _ => String::new(),
    }
}

fn post_reply(id: &JsValue, method: &JsValue, outcome: Outcome) {
    let reply = Object::new();
    let set = |k: &str, v: &JsValue| {
        let _ = Reflect::set(&reply, &JsValue::from_str(k), v);
    };
    set("id", id);
    set("method", method);
    let transfer = Array::new();
    match outcome {
        Outcome::Ok(response) => {
            set("success", &JsValue::TRUE);
            match response {
                Response::Nothing => set("response", &JsValue::UNDEFINED),
                Response::Bytes(bytes) => {
                    let arr = Uint8Array::from(bytes.as_slice());
                    transfer.push(&arr.buffer());
                    set("response", &arr);
                }
            }
        }
        Outcome::Err(text) => {
            set("success", &JsValue::FALSE);
            set("response", &JsValue::from_str(&text));
        }
        Outcome::Ignore(_) => return,
    }
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let _ = scope.post_message_with_transfer(&reply, &transfer);
}

// ---- engine mode (messages with an `rf` property; see worker/PROTOCOL.md) ----

use crate::engine::{Driver, Kind, Output, Value};

thread_local! {
    static ENGINE: RefCell<Driver> = RefCell::new(Driver::default());
}

/// Reads a message into the core's [`Value`]: plain objects down to `depth`
/// levels, typed arrays and arrays by type name only.
fn to_value(v: &JsValue, depth: u32) -> Value {
    if v.is_undefined() {
        Value::Undefined
    } else if v.is_null() {
        Value::Null
    } else if let Some(b) = v.as_bool() {
        Value::Bool(b)
    } else if let Some(n) = v.as_f64() {
        Value::Number(n)
    } else if let Some(s) = v.as_string() {
        Value::Str(s)
    } else if Array::is_array(v) {
        Value::Other("array".into())
    } else if js_sys::ArrayBuffer::is_view(v) {
        Value::Other("typed array".into())
    } else if v.is_object() && !v.is_function() && depth > 0 {
        let entries = Object::entries(v.unchecked_ref());
        Value::Object(
            entries
                .iter()
                .map(|kv| {
                    let kv: Array = kv.unchecked_into();
                    (
                        kv.get(0).as_string().unwrap_or_default(),
                        to_value(&kv.get(1), depth - 1),
                    )
                })
                .collect(),
        )
    } else {
        Value::Other(v.js_typeof().as_string().unwrap_or_default())
    }
}

#[inline(never)]
fn set(o: &Object, k: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(k), v);
}

#[inline(never)]
fn set_str(o: &Object, k: &str, v: &str) {
    set(o, k, &JsValue::from_str(v));
}

#[inline(never)]
fn set_num(o: &Object, k: &str, v: f64) {
    set(o, k, &JsValue::from_f64(v));
}

#[inline(never)]
fn set_bytes(o: &Object, k: &str, v: &[u8], transfer: &Array) {
    let a = Uint8Array::from(v);
    transfer.push(&a.buffer());
    set(o, k, &a);
}

fn set_draws(o: &Object, draws: &[bool]) {
    let a: Array = draws.iter().map(|&d| JsValue::from_bool(d)).collect();
    set(o, "draws", &a);
}

fn post_output(out: Output) {
    let o = Object::new();
    let transfer = Array::new();
    set_num(&o, "rf", 1.0);
    let op = match out {
        Output::Started {
            replay_id,
            mode,
            draws,
            segment_id,
        } => {
            set_str(&o, "replayId", &replay_id);
            set_str(&o, "mode", mode.name());
            set_draws(&o, &draws);
            set_num(&o, "segmentId", f64::from(segment_id));
            "started"
        }
        Output::Draws(draws) => {
            set_draws(&o, &draws);
            "draws"
        }
        Output::Session(v) => {
            set_str(&o, "value", &v);
            "session"
        }
        Output::Checkout => "checkout",
        Output::Pause => "pause",
        Output::Stopped(reason) => {
            set_str(&o, "reason", reason);
            "stopped"
        }
        Output::Partial {
            segment_id,
            chunk,
            head,
            tail,
            session,
        } => {
            set_num(&o, "segmentId", f64::from(segment_id));
            set_bytes(&o, "chunk", &chunk, &transfer);
            set_bytes(&o, "head", &head, &transfer);
            set_bytes(&o, "tail", &tail, &transfer);
            set_str(&o, "session", &session);
            "partial"
        }
        Output::Segment(s) => {
            set_str(&o, "replayId", &s.replay_id);
            set_num(&o, "segmentId", f64::from(s.segment_id));
            set_str(&o, "replayType", s.replay_type.name());
            set_num(&o, "start", s.start as f64);
            set_num(&o, "end", s.end as f64);
            set_num(&o, "eventCount", f64::from(s.event_count));
            set_str(
                &o,
                "kind",
                match s.kind {
                    Kind::Envelope => "envelope",
                    Kind::Plain => "plain",
                },
            );
            if let Some(url) = &s.url {
                set_str(&o, "url", url);
            }
            set_bytes(&o, "body", &s.body, &transfer);
            "segment"
        }
        Output::Rejected { of, message } => {
            match &of {
                Some(op) => set_str(&o, "of", op),
                None => set(&o, "of", &JsValue::NULL),
            }
            set_str(&o, "message", &message);
            "rejected"
        }
        Output::Stats(s) => {
            for (k, v) in [
                ("events", s.events),
                ("eventBytes", s.event_bytes),
                ("compressedInputBytes", s.compressed_input_bytes),
                ("segments", s.segments),
                ("segmentBytes", s.segment_bytes),
                ("bufferBytes", s.buffer_bytes),
                ("droppedGenerations", s.dropped_generations),
                ("droppedBytes", s.dropped_bytes),
            ] {
                set_num(&o, k, v as f64);
            }
            "stats"
        }
    };
    set_str(&o, "op", op);
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let _ = scope.post_message_with_transfer(&o, &transfer);
}

fn run_engine(f: impl FnOnce(&mut Driver) -> Vec<Output>) -> Option<f64> {
    let (outs, wake) = ENGINE.with(|d| {
        let mut d = d.borrow_mut();
        let outs = f(&mut d);
        (outs, d.next_wake())
    });
    for o in outs {
        post_output(o);
    }
    wake.map(|w| w as f64)
}

fn clock(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

/// Handles one engine message at `now` (ms since the epoch); `random` is 16
/// bytes from `crypto.getRandomValues`. Posts the outputs and returns when
/// `onEngineTick` should run next (ms since the epoch), or `undefined`.
#[wasm_bindgen(js_name = onEngineMessage)]
pub fn on_engine_message(data: &JsValue, now: f64, random: &[u8]) -> Option<f64> {
    let mut r = [0u8; 16];
    for (d, s) in r.iter_mut().zip(random) {
        *d = *s;
    }
    let msg = to_value(data, 3);
    run_engine(|d| d.handle(&msg, clock(now), r))
}

/// Runs the engine's timers; returns the next wake time like `onEngineMessage`.
#[wasm_bindgen(js_name = onEngineTick)]
pub fn on_engine_tick(now: f64) -> Option<f64> {
    run_engine(|d| d.tick(clock(now)))
}
