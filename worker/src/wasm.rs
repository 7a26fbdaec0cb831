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
