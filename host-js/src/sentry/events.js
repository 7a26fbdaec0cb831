// The custom rrweb events (type 5) Sentry's replay UI reads, built in the shapes Sentry's own recorder
// writes them (getsentry/sentry-javascript packages/replay-internal: src/coreHandlers/handleBreadcrumbs.ts,
// handleDom.ts, handleKeyboardEvent.ts, handleClick.ts, handleNetworkBreadcrumbs.ts,
// src/util/createPerformanceEntries.ts, createPerformanceSpans.ts, addMemoryEntry.ts, getHandleRecordingEmit.ts).
//
// Units: breadcrumb payloads and performance-span start/end are in seconds, as Sentry writes them. The rrweb
// event `timestamp` is always in milliseconds here (Sentry's recorder puts seconds there for performance spans;
// the worker orders segments and computes replay_start_timestamp from event timestamps, so they stay in one unit).

const CUSTOM = 5;
// Console arguments longer than this are cut (replay-internal src/constants.ts CONSOLE_ARG_MAX_SIZE).
const ARG_MAX = 5000;
// Click detector (replay-internal src/coreHandlers/handleClick.ts): a click is judged this long after it;
// the page answered it when the DOM changed within SLOW_MS.
const CLICK_TIMEOUT_MS = 7000;
const SLOW_MS = 3000;
const RECORDED_ATTRS = ['id', 'class', 'aria-label', 'role', 'name', 'alt', 'title', 'data-test-id', 'data-testid', 'disabled', 'aria-disabled', 'data-sentry-component'];

const now = () => Date.now();
const custom = (timestamp, tag, payload) => ({ type: CUSTOM, timestamp, data: { tag, payload } });

/** A `breadcrumb` custom event for a Sentry breadcrumb (timestamp in seconds). */
export function breadcrumbEvent(crumb, normalize) {
  return custom(Math.round((crumb.timestamp || 0) * 1000), 'breadcrumb', normalize(crumb, 10, 1000));
}

/** A `performanceSpan` custom event; `start`/`end` in seconds. */
export function spanEvent({ op, name, start, end, data }) {
  return custom(Math.round(start * 1000), 'performanceSpan', { op, description: name, startTimestamp: start, endTimestamp: end, data });
}

/**
 * Which SDK breadcrumbs are copied into the recording, as Sentry does: not fetch / xhr (they become
 * performance spans), not the SDK's own event breadcrumbs, not ui.* (recorded from the DOM here).
 * Console arguments are normalized and cut at 5,000 characters.
 */
export function copyBreadcrumb(crumb, normalize) {
  const c = crumb && crumb.category;
  if (!c || ['fetch', 'xhr', 'sentry.event', 'sentry.transaction'].includes(c) || c.startsWith('ui.')) return null;
  const b = { timestamp: now() / 1000, type: 'default', ...crumb };
  const args = c === 'console' && b.data && b.data.arguments;
  if (Array.isArray(args) && args.length) {
    let cut = false;
    const out = args.map((a) => {
      if (typeof a === 'string' && a.length > ARG_MAX) {
        cut = true;
        return a.slice(0, ARG_MAX) + '…';
      }
      if (a && typeof a === 'object') {
        const n = normalize(a, 7);
        const s = JSON.stringify(n);
        return s && s.length > ARG_MAX ? ((cut = true), s.slice(0, ARG_MAX) + '…') : n;
      }
      return a;
    });
    b.data = { ...b.data, arguments: out, ...(cut && { _meta: { warnings: ['CONSOLE_ARG_TRUNCATED'] } }) };
  }
  return b;
}

/** `resource.fetch` / `resource.xhr` span from the SDK's fetch / xhr breadcrumb and its hint (ms stamps), or a falsy value. */
export function networkSpan(crumb, hint) {
  const d = crumb.data || {};
  const t = now();
  const skipped = (size) => ({ headers: {}, size, _meta: { warnings: ['URL_SKIPPED'] } });
  return (
    d.url && {
      op: 'resource.' + crumb.category,
      name: d.url,
      start: ((hint && hint.startTimestamp) || t) / 1000,
      end: ((hint && hint.endTimestamp) || t) / 1000,
      // Request and response details are not captured (Sentry's default without networkDetailAllowUrls).
      data: { method: d.method, statusCode: d.status_code || 0, request: skipped(d.request_body_size), response: skipped(d.response_body_size) },
    }
  );
}

/** `navigation.push` span for a history change (the SDK's navigation breadcrumb: data.from / data.to). */
export function historySpan(crumb) {
  const t = (crumb.timestamp || now() / 1000);
  return { op: 'navigation.push', name: crumb.data.to, start: t, end: t, data: { previous: crumb.data.from } };
}

/** `memory` span (Chromium's performance.memory), or null. */
export function memorySpan() {
  const m = performance.memory;
  if (!m) return null;
  const t = now() / 1000;
  const { jsHeapSizeLimit, totalJSHeapSize, usedJSHeapSize } = m;
  return { op: 'memory', name: 'memory', start: t, end: t, data: { memory: { jsHeapSizeLimit, totalJSHeapSize, usedJSHeapSize } } };
}

// performance.now()-based times to seconds since the epoch.
const abs = (ms) => ((performance.timeOrigin || 0) + ms) / 1000;

const pick = (e, keys) => {
  const o = {};
  for (const k of keys.split(' ')) o[k] = e[k];
  return o;
};
const SIZES = 'decodedBodySize encodedBodySize';

function perfEntrySpan(e) {
  const type = e.entryType;
  const start = abs(e.startTime);
  if (type === 'paint') return { op: type, name: e.name, start, end: abs(e.startTime + e.duration), data: undefined };
  if (type === 'navigation') {
    if (!e.duration) return null;
    const data = { size: e.transferSize, ...pick(e, SIZES + ' duration domInteractive domContentLoadedEventStart domContentLoadedEventEnd loadEventStart loadEventEnd domComplete redirectCount') };
    return { op: 'navigation.' + e.type, name: e.name, start, end: abs(e.domComplete), data };
  }
  // fetch and xhr come from the SDK's breadcrumbs, with method and status.
  if (type !== 'resource' || e.initiatorType === 'fetch' || e.initiatorType === 'xmlhttprequest') return null;
  return { op: 'resource.' + e.initiatorType, name: e.name, start, end: abs(e.responseEnd), data: { size: e.transferSize, statusCode: e.responseStatus, ...pick(e, SIZES) } };
}

// Web vitals: thresholds (good, poor) as web.dev defines them and Sentry rates them.
const VITALS = { LCP: ['largest-contentful-paint', 2500, 4000], CLS: ['cumulative-layout-shift', 0.1, 0.25], INP: ['interaction-to-next-paint', 200, 500] };

/**
 * Observes navigation, resource and paint timings and the LCP / CLS / INP web vitals, and hands each as a
 * span to `add`. `getId(node)` gives a node's rrweb id. Returns a function that stops observing.
 */
export function observePerformance(add, getId) {
  const observers = [];
  const ids = (nodes) => {
    const out = nodes.filter(Boolean).map(getId).filter((id) => id > 0);
    return out.length ? out : undefined;
  };
  const vital = (key, value, at, nodes) => {
    const [name, good, poor] = VITALS[key];
    const t = abs(at);
    add({ op: 'web-vital', name, start: t, end: t, data: { value, size: value, rating: value <= good ? 'good' : value <= poor ? 'needs-improvement' : 'poor', nodeIds: ids(nodes) } });
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
  ['navigation', 'resource', 'paint'].forEach((t) => observe(t, (e) => {
    const sp = perfEntrySpan(e);
    if (sp) add(sp);
  }));
  // LCP: every new candidate is reported (the last one is the page's LCP).
  observe('largest-contentful-paint', (e) => vital('LCP', e.startTime, e.startTime, [e.element]));
  // CLS: the largest session window of layout shifts without recent input (gaps < 1 s, windows ≤ 5 s).
  let cls = 0;
  let win = 0;
  let first = 0;
  let last = 0;
  let nodes = [];
  observe('layout-shift', (e) => {
    if (e.hadRecentInput) return;
    const t = e.startTime;
    if (!win || t - last >= 1000 || t - first >= 5000) {
      win = 0;
      first = t;
      nodes = [];
    }
    win += e.value;
    last = t;
    nodes.push(...(e.sources || []).map((x) => x.node));
    if (win > cls) vital('CLS', (cls = win), t, nodes);
  });
  // INP: the slowest interaction so far (web-vitals takes the 98th percentile; below 50 interactions that
  // is the slowest one).
  let inp = 0;
  observe('event', (e) => {
    if (e.interactionId && e.duration > inp) vital('INP', (inp = e.duration), e.startTime, [e.target]);
  }, { durationThreshold: 40 });
  return () => observers.forEach((o) => o.disconnect());
}

// ---- DOM breadcrumbs: ui.click, ui.input, ui.multiClick ----

/** Sentry's selector-like description of an element: `body > main > button#send.primary[type="button"]`. */
export function describe(el, maskAttr) {
  const parts = [];
  for (let n = el; n && n.tagName && n.tagName !== 'HTML' && parts.length < 5; n = n.parentNode) {
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
export function clickTarget(t) {
  const el = t && t.nodeType === 1 ? t : t && t.parentElement;
  return (el && el.closest && el.closest('button,a')) || el;
}

/** A `ui.*` breadcrumb for an element, with its rrweb id and snapshot from the recorder's mirror. */
export function domCrumb(category, el, mirror, maskAttr) {
  let data = {};
  const id = el ? mirror.getId(el) : -1;
  const meta = id > 0 && mirror.getMeta(el);
  if (meta && meta.type === 2) {
    const attributes = {};
    for (const k of RECORDED_ATTRS) {
      const v = meta.attributes[k];
      if (v !== undefined) attributes[k.includes('test') ? 'testId' : k] = v;
    }
    const textContent = (meta.childNodes || []).filter((c) => c.type === 3 && c.textContent).map((c) => c.textContent.trim()).join('');
    data = { nodeId: id, node: { id, tagName: meta.tagName, textContent, attributes } };
  }
  const message = guard(describe)(el, maskAttr) || '<unknown>';
  return { timestamp: now() / 1000, type: 'default', category, message, data };
}

/**
 * Listens for clicks and typing and hands `ui.click`, `ui.input` and `ui.multiClick` breadcrumbs to `add`.
 * `rrwebEvent(e)` must see every recorded event: the click detector counts clicks and notes DOM changes from
 * them. Returns `{ rrwebEvent, stop }`.
 */
export function watchDom(add, mirror, maskAttr) {
  let clicks = [];
  let typing = null;
  let typingTimer = 0;
  let lastClick = null;
  let lastClickAt = 0;

  // Only buttons, links that stay on the page and submit/button inputs are judged (handleClick.ts).
  const JUDGED = 'button,a:not([download]):not([target]),a[target=_self]:not([download]),input[type=submit],input[type=button]';

  const onClick = (e) => {
    const el = clickTarget(e.target);
    if (!el) return;
    // Repeated clicks on one element, each within 1 s of the last, make one breadcrumb (as the SDK's DOM
    // instrumentation does); the detector counts them from the recording.
    const t = now();
    const again = el === lastClick && t - lastClickAt < 1000;
    lastClick = el;
    lastClickAt = t;
    if (again) return;
    const crumb = domCrumb('ui.click', el, mirror, maskAttr);
    add(crumb);
    if (e.altKey || e.metaKey || e.ctrlKey || e.shiftKey || !el.matches(JUDGED) || !crumb.data.nodeId) return;
    const c = { node: el, at: t, count: 0 };
    clicks.push(c);
    // Judged CLICK_TIMEOUT_MS later: repeated clicks on a page that answered (its first DOM change after the
    // click came within SLOW_MS) are
    // a ui.multiClick. (Sentry calls the unanswered ones slow clicks; that breadcrumb is not made here.)
    setTimeout(() => {
      clicks = clicks.filter((x) => x !== c);
      if (c.count > 1 && c.changed <= SLOW_MS) {
        add({ ...crumb, category: 'ui.multiClick', data: { ...crumb.data, url: location.href, clickCount: c.count, metric: true } });
      }
    }, CLICK_TIMEOUT_MS);
  };

  // One ui.input per element and burst of typing (the SDK's DOM instrumentation debounces keypresses by 1 s).
  const onKeypress = (e) => {
    const el = e.target;
    if (typing !== el) add(domCrumb('ui.input', el, mirror, maskAttr));
    typing = el;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => (typing = null), 1000);
  };

  const offs = [listen(document, 'click', onClick), listen(document, 'keypress', onKeypress)];
  return {
    rrwebEvent(ev) {
      const d = ev.data;
      if (ev.type !== 3) return;
      // Mutation, MediaInteraction, StyleSheetRule, CanvasMutation, StyleDeclaration, Selection, AdoptedStyleSheet.
      if ([0, 7, 8, 9, 13, 14, 15].includes(d.source)) {
        for (const c of clicks) if (c.changed === undefined) c.changed = ev.timestamp - c.at;
      } else if (d.source === 2 && d.type === 2) {
        const node = clickTarget(mirror.getNode(d.id));
        for (const c of clicks) if (c.node === node) c.count++;
      }
    },
    stop() {
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
