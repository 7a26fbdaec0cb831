// The custom rrweb events (type 5) Sentry's replay UI reads, built in the shapes Sentry's own recorder
// writes them (getsentry/sentry-javascript packages/replay-internal: src/coreHandlers/handleBreadcrumbs.ts,
// handleDom.ts, handleKeyboardEvent.ts, handleClick.ts, handleNetworkBreadcrumbs.ts,
// src/util/createPerformanceEntries.ts, createPerformanceSpans.ts, addMemoryEntry.ts, getHandleRecordingEmit.ts).
//
// Units: breadcrumb payloads and performance-span start/end are in seconds, as Sentry writes them. The rrweb
// event `timestamp` is always in milliseconds here (Sentry's recorder puts seconds there for performance spans;
// the worker orders segments and computes replay_start_timestamp from event timestamps, so they stay in one unit).

// Console arguments longer than this are cut (replay-internal src/constants.ts CONSOLE_ARG_MAX_SIZE).
const ARG_MAX = 5000;
const RECORDED_ATTRS = ['id', 'class', 'aria-label', 'role', 'name', 'alt', 'title', 'data-test-id', 'data-testid', 'disabled', 'aria-disabled', 'data-sentry-component'];

/** Seconds since the epoch. */
export const sec = () => Date.now() / 1000;
/** A custom rrweb event (type 5) at `s` seconds. */
export const custom = (s, tag, payload) => ({ type: 5, timestamp: Math.round(s * 1000), data: { tag, payload } });

/** A `breadcrumb` custom event for a Sentry breadcrumb (timestamp in seconds). */
export const breadcrumbEvent = (crumb, normalize) => custom(crumb.timestamp || 0, 'breadcrumb', normalize(crumb, 10, 1000));

/** A `performanceSpan` custom event; `start`/`end` in seconds. */
export const span = (op, description, startTimestamp, endTimestamp = startTimestamp, data) =>
  custom(startTimestamp, 'performanceSpan', { op, description, startTimestamp, endTimestamp, data });

/**
 * Which SDK breadcrumbs are copied into the recording, as Sentry does: not the SDK's own event breadcrumbs, not
 * ui.* (recorded from the DOM here); fetch / xhr never come here (the integration makes them performance spans).
 * Console arguments are normalized and cut at 5,000 characters.
 */
export function copyBreadcrumb(crumb, normalize) {
  const c = crumb.category;
  if (!c || c === 'sentry.event' || c === 'sentry.transaction' || c.startsWith('ui.')) return;
  const b = { timestamp: sec(), type: 'default', ...crumb };
  const args = c === 'console' && b.data?.arguments;
  if (args?.length) {
    let cut;
    const out = args.map((a) => {
      const n = a && typeof a === 'object' ? normalize(a, 7) : a;
      const s = typeof n === 'string' ? n : JSON.stringify(n);
      return s?.length > ARG_MAX ? ((cut = 1), s.slice(0, ARG_MAX) + '…') : n;
    });
    b.data = { ...b.data, arguments: out, ...(cut && { _meta: { warnings: ['CONSOLE_ARG_TRUNCATED'] } }) };
  }
  return b;
}

/** `resource.fetch` / `resource.xhr` span from the SDK's fetch / xhr breadcrumb and its hint (ms stamps), or a falsy value. */
export function networkSpan(crumb, hint) {
  const d = crumb.data || {};
  const skipped = (size) => ({ headers: {}, size, _meta: { warnings: ['URL_SKIPPED'] } });
  const t = Date.now();
  return (
    d.url &&
    // Request and response details are not captured (Sentry's default without networkDetailAllowUrls).
    span('resource.' + crumb.category, d.url, (hint?.startTimestamp || t) / 1000, (hint?.endTimestamp || t) / 1000, {
      method: d.method,
      statusCode: d.status_code || 0,
      request: skipped(d.request_body_size),
      response: skipped(d.response_body_size),
    })
  );
}

/** `memory` span (Chromium's performance.memory), or undefined. */
export function memorySpan() {
  const m = performance.memory;
  return m && span('memory', 'memory', sec(), undefined, { memory: pick(m, 'jsHeapSizeLimit totalJSHeapSize usedJSHeapSize') });
}

// performance.now()-based times to seconds since the epoch.
const abs = (ms) => (performance.timeOrigin + ms) / 1000;

/** `o` with the space-separated `keys` of `from` added. */
const pick = (from, keys, o = {}) => {
  for (const k of keys.split(' ')) o[k] = from[k];
  return o;
};

function perfEntrySpan(e) {
  const type = e.entryType;
  const start = abs(e.startTime);
  if (type === 'paint') return span(type, e.name, start, abs(e.startTime + e.duration));
  if (type === 'navigation')
    return e.duration && span('navigation.' + e.type, e.name, start, abs(e.domComplete), pick(e, 'decodedBodySize encodedBodySize duration domInteractive domContentLoadedEventStart domContentLoadedEventEnd loadEventStart loadEventEnd domComplete redirectCount', { size: e.transferSize }));
  // fetch and xhr come from the SDK's breadcrumbs, with method and status.
  const i = e.initiatorType;
  return type === 'resource' && i !== 'fetch' && i !== 'xmlhttprequest' && span('resource.' + i, e.name, start, abs(e.responseEnd), pick(e, 'decodedBodySize encodedBodySize', { statusCode: e.responseStatus, size: e.transferSize }));
}

/**
 * Observes navigation, resource and paint timings and the LCP / CLS / INP web vitals (thresholds as web.dev
 * defines them and Sentry rates them), and hands each as a span event to `add`. `getId(node)` gives a node's
 * rrweb id. Returns a function that stops observing.
 */
export function observePerformance(add, getId) {
  const observers = [];
  const vital = (name, value, good, poor, at, nodes) => {
    const nodeIds = nodes.filter(Boolean).map(getId).filter((id) => id > 0);
    add(span('web-vital', name, abs(at), undefined, { value, size: value, rating: value <= good ? 'good' : value <= poor ? 'needs-improvement' : 'poor', nodeIds: nodeIds.length ? nodeIds : undefined }));
  };
  const observe = (type, fn, extra) => {
    try {
      // A timing that cannot be read is left out.
      const o = new PerformanceObserver((list) => list.getEntries().forEach(guard(fn)));
      o.observe({ type, buffered: true, ...extra });
      observers.push(o);
    } catch {
      // Entry type not supported by this browser.
    }
  };
  for (const t of ['navigation', 'resource', 'paint']) observe(t, (e) => (e = perfEntrySpan(e)) && add(e));
  // LCP: every new candidate is reported (the last one is the page's LCP).
  observe('largest-contentful-paint', (e) => vital('largest-contentful-paint', e.startTime, 2500, 4000, e.startTime, [e.element]));
  // CLS: the largest session window of layout shifts without recent input (gaps < 1 s, windows ≤ 5 s).
  let cls = 0;
  let win = 0;
  let first = 0;
  let last = 0;
  let nodes;
  observe('layout-shift', (e) => {
    const t = e.startTime;
    if (e.hadRecentInput) return;
    if (!win || t - last >= 1000 || t - first >= 5000) {
      win = 0;
      first = t;
      nodes = [];
    }
    win += e.value;
    last = t;
    for (const x of e.sources || []) nodes.push(x.node);
    if (win > cls) vital('cumulative-layout-shift', (cls = win), 0.1, 0.25, t, nodes);
  });
  // INP: the slowest interaction so far (web-vitals takes the 98th percentile; below 50 interactions that
  // is the slowest one).
  let inp = 0;
  observe('event', (e) => e.interactionId && e.duration > inp && vital('interaction-to-next-paint', (inp = e.duration), 200, 500, e.startTime, [e.target]), { durationThreshold: 40 });
  return () => observers.forEach((o) => o.disconnect());
}

// ---- DOM breadcrumbs: ui.click, ui.input, ui.multiClick ----

/** Sentry's selector-like description of an element: `body > main > button#send.primary[type="button"]`. */
function describe(el, maskAttr) {
  const parts = [];
  for (let n = el; n?.tagName && n.tagName !== 'HTML' && parts.length < 5; n = n.parentNode) {
    let s = n.getAttribute('data-sentry-component');
    if (!s) {
      s = [n.tagName.toLowerCase() + (n.id ? '#' + n.id : ''), ...n.classList].join('.');
      for (const k of ['aria-label', 'type', 'name', 'title', 'alt']) if (n.hasAttribute(k)) s += `[${k}="${maskAttr(k, n.getAttribute(k), n)}"]`;
    }
    if (parts.length && (parts.join(' > ') + s).length > 197) break;
    parts.unshift(s);
  }
  return parts.join(' > ');
}

/** The clicked element Sentry names: the closest button or link, else the target. */
const clickTarget = (t) => {
  const el = t?.nodeType === 1 ? t : t?.parentElement;
  return el?.closest?.('button,a') || el;
};

/** A `ui.*` breadcrumb for an element, with its rrweb id and snapshot from the recorder's mirror. */
function domCrumb(category, el, mirror, maskAttr) {
  let data = {};
  const id = mirror.getId(el);
  const meta = id > 0 && mirror.getMeta(el);
  if (meta?.type === 2) {
    const attributes = {};
    for (const k of RECORDED_ATTRS) {
      const v = meta.attributes[k];
      if (v !== undefined) attributes[k.includes('test') ? 'testId' : k] = v;
    }
    const textContent = (meta.childNodes || []).map((c) => (c.type === 3 && c.textContent?.trim()) || '').join('');
    data = { nodeId: id, node: { id, tagName: meta.tagName, textContent, attributes } };
  }
  return { timestamp: sec(), type: 'default', category, message: guard(describe)(el, maskAttr) || '<unknown>', data };
}

/**
 * Listens for clicks and typing and hands `ui.click`, `ui.input` and `ui.multiClick` breadcrumbs to `add`.
 * `_rrweb(e)` must see every recorded event: the click detector counts clicks and notes DOM changes from
 * them. Returns `{ _rrweb, _stop }`.
 */
export function watchDom(add, mirror, maskAttr) {
  let clicks = [];
  let typing;
  let typingTimer;
  let lastClick;
  let lastClickAt = 0;

  const onClick = (e) => {
    const el = clickTarget(e.target);
    if (!el) return;
    // Repeated clicks on one element, each within 1 s of the last, make one breadcrumb (as the SDK's DOM
    // instrumentation does); the detector counts them from the recording.
    const t = Date.now();
    const again = el === lastClick && t - lastClickAt < 1000;
    lastClick = el;
    lastClickAt = t;
    if (again) return;
    const crumb = domCrumb('ui.click', el, mirror, maskAttr);
    add(crumb);
    // Only buttons, links that stay on the page and submit/button inputs are judged (handleClick.ts), 7 s after
    // the click: repeated clicks on a page that answered (its first DOM change after the click came within 3 s)
    // are a ui.multiClick. (Sentry calls the unanswered ones slow clicks; that breadcrumb is not made here.)
    if (e.altKey || e.metaKey || e.ctrlKey || e.shiftKey || !crumb.data.nodeId) return;
    if (!el.matches('button,a:not([download]):not([target]),a[target=_self]:not([download]),input[type=submit],input[type=button]')) return;
    const c = { _node: el, _at: t, _count: 0 };
    clicks.push(c);
    setTimeout(() => {
      clicks = clicks.filter((x) => x !== c);
      if (c._count > 1 && c._changed <= 3000) add({ ...crumb, category: 'ui.multiClick', data: { ...crumb.data, url: location.href, clickCount: c._count, metric: true } });
    }, 7000);
  };

  // One ui.input per element and burst of typing (the SDK's DOM instrumentation debounces keypresses by 1 s).
  const onKeypress = (e) => {
    const el = e.target;
    if (typing !== el) add(domCrumb('ui.input', el, mirror, maskAttr));
    typing = el;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => (typing = 0), 1000);
  };

  const offs = [listen(document, 'click', onClick), listen(document, 'keypress', onKeypress)];
  return {
    _rrweb(ev) {
      const d = ev.data;
      // Only clicks still being judged need the recording.
      if (ev.type !== 3 || !clicks.length) return;
      // Mutation, MediaInteraction, StyleSheetRule, CanvasMutation, StyleDeclaration, Selection, AdoptedStyleSheet
      // (sources 0, 7, 8, 9, 13, 14, 15).
      if ((0xe381 >> d.source) & 1) {
        for (const c of clicks) c._changed ??= ev.timestamp - c._at;
      } else if (d.source === 2 && d.type === 2) {
        const node = clickTarget(mirror.getNode(d.id));
        for (const c of clicks) if (c._node === node) c._count++;
      }
    },
    _stop() {
      offs.forEach((off) => off());
      clicks = [];
    },
  };
}

/** `fn` that never throws into the page (returns undefined instead). */
export const guard = (fn) => (...a) => {
  try {
    return fn(...a);
  } catch {
    // never into the app
  }
};

/** Adds a capturing, passive listener that never throws into the page; returns the function that removes it. */
export function listen(target, type, fn) {
  const h = guard(fn);
  const opts = { capture: true, passive: true };
  target.addEventListener(type, h, opts);
  return () => target.removeEventListener(type, h, opts);
}
