//! The thin wasm-bindgen layer between the worker bootstrap and the core.
//!
//! Sentry's protocol is the hot path (one message per event), so its binding
//! crosses the JS/wasm boundary as little as possible: the bootstrap reads the
//! message's fields and their `typeof` codes, makes ONE call with primitive
//! arguments, and builds and posts the reply itself (transferring result bytes).
//! Engine messages (below) are rarer and larger and are read field by field.

use crate::prelude::*;
use crate::sentry::{Field, Message, Outcome, Response, SentryWorker};
use core::cell::RefCell;
use wasm_bindgen::prelude::*;

// No panic hook, no panic runtime: no input reaches a panic, and were one to
// happen the module traps here, which the bootstrap catches and answers as
// "ringflate: internal error: …". (std's panic machinery, its formatting and the
// thread-locals were 1.8 KB gzipped; worker/build.mjs then
// turns the panic paths into bare traps.)
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// One value of the instance, made on first use. The module runs on one thread
/// (no `atomics`), so sharing it is sound; a re-entrant use traps (`RefCell`).
struct Global<T>(RefCell<Option<T>>);

// SAFETY: wasm32 without the `atomics` feature has exactly one thread.
unsafe impl<T> Sync for Global<T> {}

impl<T: Default> Global<T> {
    const fn new() -> Self {
        Global(RefCell::new(None))
    }

    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(self.0.borrow_mut().get_or_insert_with(T::default))
    }
}

// Talc instead of the default dlmalloc: 2.5 KB smaller gzipped, and no slower
// on the Sentry hot path (node A/B over d2/d4: 52.8 vs 52.1 and 58.4 vs 49.6 MB/s).
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

static SENTRY: Global<SentryWorker> = Global::new();
/// The bytes or text of the last Sentry call's answer, taken by the bootstrap.
static ANSWER: Global<(Vec<u8>, String)> = Global::new();

/// `typeof` names, indexed by the codes the bootstrap passes (`null` is its own code).
const TYPES: [&str; 9] = [
    "undefined",
    "number",
    "string",
    "boolean",
    "object",
    "null",
    "bigint",
    "symbol",
    "function",
];

fn field(code: u8, text: Option<String>) -> Field {
    match (code, text) {
        (0, _) => Field::Absent,
        (1, _) => Field::Number,
        (2, Some(t)) => Field::Str(t),
        (c, _) => Field::Other(
            TYPES
                .get(usize::from(c))
                .copied()
                .unwrap_or("unknown")
                .into(),
        ),
    }
}

/// Answer codes of [`sentry_call`].
const IGNORED: u8 = 0;
const OK_NOTHING: u8 = 1;
const OK_BYTES: u8 = 2;
const FAILED: u8 = 3;

/// Handles one message of Sentry's protocol. `*_type` are `typeof` codes (see
/// [`TYPES`]); `method` and `arg` are passed only when they are strings;
/// `is_object` is false for primitives and `null`. Returns an answer code:
/// 0 ignored (reason in `sentryText`), 1 success with no response, 2 success
/// with bytes (`sentryBytes`), 3 failure (reason in `sentryText`).
#[wasm_bindgen(js_name = sentryCall)]
pub fn sentry_call(
    is_object: bool,
    id_type: u8,
    method: Option<String>,
    method_type: u8,
    arg: Option<String>,
    arg_type: u8,
) -> u8 {
    let msg = if is_object {
        Message::Object {
            id: field(id_type, None),
            method: field(method_type, method),
            arg: field(arg_type, arg),
        }
    } else {
        Message::NotAnObject
    };
    let outcome = SENTRY.with(|s| s.handle(msg));
    ANSWER.with(|a| match outcome {
        Outcome::Ok(Response::Nothing) => OK_NOTHING,
        Outcome::Ok(Response::Bytes(bytes)) => {
            a.0 = bytes;
            OK_BYTES
        }
        Outcome::Err(text) => {
            a.1 = text;
            FAILED
        }
        Outcome::Ignore(why) => {
            a.1 = ["ringflate: ignored a message: ", why].concat();
            IGNORED
        }
    })
}

/// The bytes of the last answer (copied once into a fresh `Uint8Array`).
#[wasm_bindgen(js_name = sentryBytes)]
pub fn sentry_bytes() -> Vec<u8> {
    ANSWER.with(|a| core::mem::take(&mut a.0))
}

/// The text of the last answer.
#[wasm_bindgen(js_name = sentryText)]
pub fn sentry_text() -> String {
    ANSWER.with(|a| core::mem::take(&mut a.1))
}

// ---- engine mode (messages with an `rf` property; see worker/PROTOCOL.md) ----

use crate::engine::{utf16_part, Driver, Long, Output, StoreOp, Text, Value, Wire, LONG_FIELD};
use alloc::borrow::Cow;
use alloc::rc::Rc;
use js_sys::{Array, JsString, Object, Reflect, Uint8Array};

#[wasm_bindgen]
extern "C" {
    /// The worker's global `postMessage`, looked up at each call (the bootstrap
    /// wraps it). Called directly rather than on `js_sys::global()`, whose
    /// lookup of the global object (four candidates, cached) is not needed.
    #[wasm_bindgen(catch, js_name = postMessage)]
    fn post_message(message: &JsValue, transfer: &JsValue) -> Result<(), JsValue>;
}

static ENGINE: Global<Driver> = Global::new();
/// The bootstrap's function that performs storage requests (none: memory only).
static STORE: Global<Option<js_sys::Function>> = Global::new();

/// The most UTF-16 units of an `events.json` that enter linear memory at once.
/// A longer batch stays a JS string and is read in parts of this size (twice:
/// to check it, then to compress it), so a large event costs at most a part's
/// UTF-8 (≤ 768 KiB; 256 KiB for ASCII) of input memory, not its whole text.
/// 256 Ki units: small next to the 1.1 MiB an instance starts with and to a
/// deflater's state (370 KiB), and large enough that the calls per part are
/// nothing next to compressing it (about 2 ms). What a long batch pays is its
/// second conversion to UTF-8 (bench/README.md). Batches up to this length
/// (nearly all: hundreds of bytes to a few KB) are copied whole, once.
const CHUNK: u32 = 262_144;

/// A long JS string read in parts of at most [`CHUNK`] units, each copied
/// into linear memory as UTF-8 when it is read. A cut never falls between
/// the two halves of a surrogate pair, so the parts join into the UTF-8 of
/// the whole string (lone surrogates become U+FFFD either way).
struct JsText(JsString);

impl Text for JsText {
    fn part(&self, i: usize) -> Option<Cow<'_, [u8]>> {
        let s = &self.0;
        let (a, b) = utf16_part(i, CHUNK, s.length(), |i| s.char_code_at(i) as u32)?;
        Some(Cow::Owned(
            s.slice(a, b).as_string().unwrap_or_default().into_bytes(),
        ))
    }
}

/// Reads a message into the core's [`Value`]: plain objects down to `depth`
/// levels, typed arrays and arrays by type name only; a top-level
/// [`LONG_FIELD`] string longer than [`CHUNK`] stays where it is ([`Value::Long`]).
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
                    let (k, v) = (kv.get(0).as_string().unwrap_or_default(), kv.get(1));
                    let long = depth == MESSAGE_DEPTH
                        && k == LONG_FIELD
                        && v.is_string()
                        && v.unchecked_ref::<JsString>().length() > CHUNK;
                    let v = if long {
                        Value::Long(Long(Rc::new(JsText(v.unchecked_into()))))
                    } else {
                        to_value(&v, depth - 1)
                    };
                    (k, v)
                })
                .collect(),
        )
    } else {
        Value::Other(v.js_typeof().as_string().unwrap_or_default())
    }
}

/// Posts one output as a plain object, generically from its wire form;
/// byte fields are transferred.
fn post_output(out: &Output) {
    let o = Object::new();
    let transfer = Array::new();
    for (k, v) in out.wire().1 {
        let js = match v {
            Wire::Str(s) => JsValue::from_str(s),
            Wire::Num(n) => JsValue::from_f64(n),
            Wire::Bool(b) => JsValue::from_bool(b),
            Wire::StrOrNull(s) => s.map_or(JsValue::NULL, JsValue::from_str),
            Wire::Bools(a) => a
                .iter()
                .map(|&d| JsValue::from_bool(d))
                .collect::<Array>()
                .into(),
            Wire::Bytes(b) => {
                let a = Uint8Array::from(b);
                transfer.push(&a.buffer());
                a.into()
            }
        };
        let _ = Reflect::set(&o, &JsValue::from_str(k), &js);
    }
    let _ = post_message(&o, &transfer);
}

/// Hands the storage requests to the bootstrap as one flat array of
/// `op, key, bytes` triples: 0 put, 1 delete, 2 clear (key and bytes unused
/// where the op needs none).
fn perform(ops: Vec<StoreOp>) {
    if ops.is_empty() {
        return;
    }
    let list = Array::new();
    for op in ops {
        let (code, key, bytes) = match op {
            StoreOp::Put(k, v) => (0.0, k, Some(v)),
            StoreOp::Delete(k) => (1.0, k, None),
            StoreOp::Clear => (2.0, String::new(), None),
        };
        list.push(&JsValue::from_f64(code));
        list.push(&JsValue::from_str(&key));
        list.push(&bytes.map_or(JsValue::NULL, |b| Uint8Array::from(&b[..]).into()));
    }
    STORE.with(|s| {
        if let Some(f) = s.as_ref() {
            let _ = f.call1(&JsValue::NULL, &list);
        }
    });
}

fn run_engine(f: impl FnOnce(&mut Driver) -> Vec<Output>) -> Option<f64> {
    let (outs, wake, ops) = ENGINE.with(|d| {
        let outs = f(d);
        (outs, d.next_wake(), d.take_store_ops())
    });
    perform(ops);
    for o in &outs {
        post_output(o);
    }
    wake.map(|w| w as f64)
}

/// How deep an engine message is read (`start.config.sdk` is the deepest
/// object the engine reads).
const MESSAGE_DEPTH: u32 = 3;

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
    // Only in a worker built with `--test-hooks` (never the shipped file):
    // `{rf: 1, op: 'debug', trap: true}` traps; any other `debug` answers with
    // the instance's memory and the part size [`CHUNK`]. Its fields are read
    // one by one, so that a large `json` is not copied here.
    #[cfg(feature = "test-hooks")]
    {
        let field = |k: &str| Reflect::get(data, &JsValue::from_str(k)).unwrap_or_default();
        if field("op").as_string().as_deref() == Some("debug") {
            if field("trap").as_bool() == Some(true) {
                core::arch::wasm32::unreachable();
            }
            let o = Object::new();
            let _ = Reflect::set(&o, &"rf".into(), &1.into());
            let _ = Reflect::set(&o, &"op".into(), &"debug".into());
            let _ = Reflect::set(&o, &"memory".into(), &engine_memory().into());
            let _ = Reflect::set(&o, &"chunk".into(), &CHUNK.into());
            let _ = post_message(&o, &JsValue::UNDEFINED);
            return None;
        }
    }
    let mut r = [0u8; 16];
    for (d, s) in r.iter_mut().zip(random) {
        *d = *s;
    }
    let msg = to_value(data, MESSAGE_DEPTH);
    run_engine(|d| d.handle(&msg, clock(now), r))
}

/// Runs the engine's timers; returns the next wake time like `onEngineMessage`.
#[wasm_bindgen(js_name = onEngineTick)]
pub fn on_engine_tick(now: f64) -> Option<f64> {
    run_engine(|d| d.tick(clock(now)))
}

/// Records read from storage, until `engineLoad`.
static RECORDS: Global<Vec<(String, Vec<u8>)>> = Global::new();

/// One record read from storage at start-up (before `engineLoad`).
#[wasm_bindgen(js_name = engineRecord)]
pub fn engine_record(key: String, value: Vec<u8>) {
    RECORDS.with(|r| r.push((key, value)));
}

/// Persistent storage is available and its records were passed with
/// `engineRecord`: `live` holds the owner ids of page loads still running (one
/// per line), `owner` is this one's; `store` performs the requests (see
/// `perform`). Called once, before the first engine message.
#[wasm_bindgen(js_name = engineLoad)]
pub fn engine_load(live: String, owner: String, now: f64, store: js_sys::Function) {
    let records = RECORDS.with(core::mem::take);
    let live: Vec<String> = live.split('\n').map(str::to_string).collect();
    STORE.with(|s| *s = Some(store));
    let ops = ENGINE.with(|d| {
        d.load(owner, &live, records, clock(now));
        d.take_store_ops()
    });
    perform(ops);
}

/// Bytes of WebAssembly memory this instance holds (it never shrinks; the
/// bootstrap makes a new instance to give it back).
#[wasm_bindgen(js_name = engineMemory)]
pub fn engine_memory() -> f64 {
    (core::arch::wasm32::memory_size(0) * 65_536) as f64
}

/// Whether the engine holds nothing that a new instance would lose (see
/// [`Driver::idle`]).
#[wasm_bindgen(js_name = engineIdle)]
pub fn engine_idle() -> bool {
    ENGINE.with(|d| d.idle())
}
