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
// Click detector (replay-internal src/coreHandlers/handleClick.ts): a click is judged this long after it,
// slow when nothing changed on the page within SLOW_MS (or scrolled within SCROLL_MS).
const CLICK_TIMEOUT_MS = 7000;
const SLOW_MS = 3000;
const SCROLL_MS = 300;
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
  const b = Object.assign({ timestamp: now() / 1000, type: 'default' }, crumb);
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
        if (s && s.length > ARG_MAX) {
          cut = true;
          return JSON.stringify(n, null, 2).slice(0, ARG_MAX) + '…';
        }
        return n;
      }
      return a;
    });
    b.data = Object.assign({}, b.data, { arguments: out }, cut ? { _meta: { warnings: ['CONSOLE_ARG_TRUNCATED'] } } : {});
  }
  return b;
}

/** `resource.fetch` / `resource.xhr` span from the SDK's fetch / xhr breadcrumb and its hint (ms stamps). */
export function networkSpan(crumb, hint) {
  const d = crumb.data || {};
  const kind = crumb.category === 'xhr' ? 'xhr' : crumb.category === 'fetch' ? 'fetch' : null;
  if (!kind || !d.url || !hint) return null;
  const t = now();
  const skipped = (size) => ({ headers: {}, size, _meta: { warnings: ['URL_SKIPPED'] } });
  return {
    op: 'resource.' + kind,
    name: d.url,
    start: (hint.startTimestamp || t) / 1000,
    end: (hint.endTimestamp || t) / 1000,
    // Request and response details are not captured (Sentry's default without networkDetailAllowUrls).
    data: { method: d.method, statusCode: d.status_code || 0, request: skipped(d.request_body_size), response: skipped(d.response_body_size) },
  };
}

/** `navigation.push` span for a history change (the SDK's navigation breadcrumb: data.from / data.to). */
export function historySpan(crumb) {
  const t = (crumb.timestamp || now() / 1000);
  return { op: 'navigation.push', name: crumb.data.to, start: t, end: t, data: { previous: crumb.data.from } };
}

/** `memory` span (Chromium's performance.memory), or null. */
export function memorySpan() {
  const m = globalThis.performance && performance.memory;
  if (!m) return null;
  const t = now() / 1000;
  const { jsHeapSizeLimit, totalJSHeapSize, usedJSHeapSize } = m;
  return { op: 'memory', name: 'memory', start: t, end: t, data: { memory: { jsHeapSizeLimit, totalJSHeapSize, usedJSHeapSize } } };
}

// performance.now()-based times to seconds since the epoch.
const abs = (ms) => ((performance.timeOrigin || 0) + ms) / 1000;

function perfEntrySpan(e) {
  if (e.entryType === 'paint') {
    return { op: 'paint', name: e.name, start: abs(e.startTime), end: abs(e.startTime + e.duration), data: undefined };
  }
  if (e.entryType === 'navigation') {
    if (!e.duration) return null;
    const { decodedBodySize, encodedBodySize, duration, domInteractive, domContentLoadedEventStart, domContentLoadedEventEnd, loadEventStart, loadEventEnd, domComplete, redirectCount } = e;
    return {
      op: 'navigation.' + e.type,
      name: e.name,
      start: abs(e.startTime),
      end: abs(domComplete),
      data: { size: e.transferSize, decodedBodySize, encodedBodySize, duration, domInteractive, domContentLoadedEventStart, domContentLoadedEventEnd, loadEventStart, loadEventEnd, domComplete, redirectCount },
    };
  }
  if (e.entryType === 'resource') {
    // fetch and xhr come from the SDK's breadcrumbs, with method and status.
    if (e.initiatorType === 'fetch' || e.initiatorType === 'xmlhttprequest') return null;
    return {
      op: 'resource.' + e.initiatorType,
      name: e.name,
      start: abs(e.startTime),
      end: abs(e.responseEnd),
      data: { size: e.transferSize, statusCode: e.responseStatus, decodedBodySize: e.decodedBodySize, encodedBodySize: e.encodedBodySize },
    };
  }
  return null;
}

// Web vitals thresholds (good, poor) as web.dev defines them and Sentry rates them.
const RATING = { 'largest-contentful-paint': [2500, 4000], 'cumulative-layout-shift': [0.1, 0.25], 'interaction-to-next-paint': [200, 500] };

function vitalSpan(name, value, at, nodeIds, attributions) {
  const [good, poor] = RATING[name];
  const end = abs(at);
  const rating = value <= good ? 'good' : value <= poor ? 'needs-improvement' : 'poor';
  return { op: 'web-vital', name, start: end, end, data: { value, size: value, rating, nodeIds, attributions } };
}

/**
 * Observes navigation, resource and paint timings and the LCP / CLS / INP web vitals, and hands each as a
 * span to `add`. `getId(node)` gives a node's rrweb id. Returns a function that stops observing.
 */
export function observePerformance(add, getId) {
  const observers = [];
  const observe = (type, fn, extra) => {
    try {
      const o = new PerformanceObserver((list) => {
        try {
          fn(list.getEntries());
        } catch {
          // A timing we could not read is left out.
        }
      });
      o.observe(Object.assign({ type, buffered: true }, extra));
      observers.push(o);
    } catch {
      // Entry type not supported by this browser.
    }
  };
  const each = (entries) => entries.forEach((e) => {
    const s = perfEntrySpan(e);
    if (s) add(s);
  });
  ['navigation', 'resource', 'paint'].forEach((t) => observe(t, each));
  const ids = (nodes) => {
    const out = nodes.map((n) => getId(n)).filter((id) => id > 0);
    return out.length ? out : undefined;
  };
  // LCP: every new candidate is reported (the last one is the page's LCP).
  observe('largest-contentful-paint', (entries) => {
    const e = entries[entries.length - 1];
    if (e) add(vitalSpan('largest-contentful-paint', e.startTime, e.startTime, e.element ? ids([e.element]) : undefined));
  });
  // CLS: the largest session window of layout shifts without recent input (gaps < 1 s, windows ≤ 5 s).
  let cls = 0;
  let win = 0;
  let winFirst = 0;
  let winLast = 0;
  let winShifts = [];
  observe('layout-shift', (entries) => {
    let changed = false;
    for (const e of entries) {
      if (e.hadRecentInput) continue;
      if (win && e.startTime - winLast < 1000 && e.startTime - winFirst < 5000) {
        win += e.value;
      } else {
        win = e.value;
        winFirst = e.startTime;
        winShifts = [];
      }
      winLast = e.startTime;
      winShifts.push({ value: e.value, nodeIds: ids((e.sources || []).map((s) => s.node).filter(Boolean)) });
      if (win > cls) {
        cls = win;
        changed = true;
      }
    }
    if (changed) add(vitalSpan('cumulative-layout-shift', cls, winLast, undefined, winShifts.slice()));
  });
  // INP: the slowest interaction so far (web-vitals takes the 98th percentile; below 50 interactions that
  // is the slowest one).
  let inp = 0;
  observe('event', (entries) => {
    for (const e of entries) {
      if (!e.interactionId || e.duration <= inp) continue;
      inp = e.duration;
      add(vitalSpan('interaction-to-next-paint', e.duration, e.startTime, e.target ? ids([e.target]) : undefined));
    }
  }, { durationThreshold: 40 });
  return () => observers.forEach((o) => o.disconnect());
}

// ---- DOM breadcrumbs: ui.click, ui.input, ui.keyDown, ui.multiClick, ui.slowClickDetected ----

/** Sentry's selector-like description of an element: `body > main > button#send.primary[type="button"]`. */
export function describe(el, maskAttr) {
  const parts = [];
  let len = 0;
  for (let n = el, depth = 0; n && n.nodeType === 1 && depth < 5; n = n.parentNode, depth++) {
    const tag = n.tagName.toLowerCase();
    if (tag === 'html') break;
    let s = n.getAttribute('data-sentry-component') || n.getAttribute('data-sentry-element');
    if (!s) {
      s = tag + (n.id ? '#' + n.id : '');
      const cls = typeof n.className === 'string' ? n.className.trim() : '';
      if (cls) s += '.' + cls.split(/\s+/).join('.');
      for (const k of ['aria-label', 'type', 'name', 'title', 'alt']) {
        const v = n.getAttribute(k);
        if (v) s += `[${k}="${maskAttr(k, v, n)}"]`;
      }
    }
    if (depth > 0 && len + s.length + 3 > 200) break;
    parts.unshift(s);
    len += s.length + 3;
  }
  return parts.join(' > ');
}

/** The clicked element Sentry names: the closest button or link, else the target. */
export function clickTarget(t) {
  const el = t && t.nodeType === 1 ? t : t && t.parentElement;
  return (el && el.closest && el.closest('button,a')) || el;
}

/** `{message, data:{nodeId, node}}` for an element, from the recorder's mirror (its rrweb id and snapshot). */
export function domCrumb(category, el, mirror, maskAttr, extra) {
  let data = {};
  const id = el ? mirror.getId(el) : -1;
  const meta = id > 0 && mirror.getMeta && mirror.getMeta(el);
  if (meta && meta.type === 2) {
    const attributes = {};
    for (const k of RECORDED_ATTRS) {
      if (meta.attributes[k] === undefined) continue;
      attributes[k === 'data-testid' || k === 'data-test-id' ? 'testId' : k] = meta.attributes[k];
    }
    const textContent = (meta.childNodes || []).filter((c) => c.type === 3 && c.textContent).map((c) => c.textContent.trim()).join('');
    data = { nodeId: id, node: { id, tagName: meta.tagName, textContent, attributes } };
  }
  let message = '<unknown>';
  try {
    message = (el && describe(el, maskAttr)) || message;
  } catch {
    // keep <unknown>
  }
  return { timestamp: now() / 1000, type: 'default', category, message, data: Object.assign(data, extra) };
}

/**
 * Listens for clicks and typing on the page and hands `ui.*` breadcrumbs to `add`. `rrwebEvent(e)` must be
 * called for every recorded event (clicks are counted and mutations / scrolls seen from them). Returns
 * `{ rrwebEvent, stop }`.
 */
export function watchDom(add, mirror, maskAttr) {
  const clicks = [];
  let lastMutation = 0;
  let lastScroll = 0;
  let timer = 0;
  let typing = null;
  let typingTimer = 0;
  let lastClick = null;
  let lastClickAt = 0;

  const judge = () => {
    timer = 0;
    const t = now();
    for (let i = clicks.length - 1; i >= 0; i--) {
      const c = clicks[i];
      if (c.mutationAfter === undefined && lastMutation >= c.at) c.mutationAfter = lastMutation - c.at;
      if (c.scrollAfter === undefined && lastScroll >= c.at) c.scrollAfter = lastScroll - c.at;
      if (c.at + CLICK_TIMEOUT_MS > t) continue;
      clicks.splice(i, 1);
      const slow = !(c.scrollAfter !== undefined && c.scrollAfter <= SCROLL_MS) && !(c.mutationAfter !== undefined && c.mutationAfter <= SLOW_MS);
      const base = { type: 'default', message: c.crumb.message, timestamp: c.crumb.timestamp };
      const data = Object.assign({}, c.crumb.data, { url: location.href });
      if (slow) {
        const after = Math.min(c.mutationAfter === undefined ? CLICK_TIMEOUT_MS : c.mutationAfter, CLICK_TIMEOUT_MS);
        add(Object.assign(base, { category: 'ui.slowClickDetected', data: Object.assign(data, { timeAfterClickMs: after, endReason: after < CLICK_TIMEOUT_MS ? 'mutation' : 'timeout', clickCount: c.count || 1 }) }));
      } else if (c.count > 1) {
        add(Object.assign(base, { category: 'ui.multiClick', data: Object.assign(data, { clickCount: c.count, metric: true }) }));
      }
    }
    if (clicks.length && !timer) timer = setTimeout(judge, 1000);
  };

  // Only buttons, links that stay on the page and submit/button inputs are judged (handleClick.ts).
  const judged = (el) => {
    const tag = el.tagName;
    if (tag === 'BUTTON') return true;
    if (tag === 'INPUT') return ['submit', 'button'].includes(el.getAttribute('type') || '');
    if (tag === 'A') return !el.hasAttribute('download') && (!el.hasAttribute('target') || el.getAttribute('target') === '_self');
    return false;
  };

  const onClick = (e) => {
    try {
      const el = clickTarget(e.target);
      if (!el) return;
      // Repeated clicks on one element, each within 1 s of the last, make one breadcrumb (the SDK's DOM
      // instrumentation does the same); the detector below counts them from the recording.
      const t = now();
      const again = el === lastClick && t - lastClickAt < 1000;
      lastClick = el;
      lastClickAt = t;
      if (again) return;
      const crumb = domCrumb('ui.click', el, mirror, maskAttr);
      add(crumb);
      if (e.altKey || e.metaKey || e.ctrlKey || e.shiftKey || !judged(el) || typeof crumb.data.nodeId !== 'number') return;
      const at = crumb.timestamp * 1000;
      if (clicks.some((c) => c.node === el && Math.abs(c.at - at) < 1000)) return;
      clicks.push({ node: el, at, crumb, count: 0 });
      if (!timer) timer = setTimeout(judge, 1000);
    } catch {
      // never into the app
    }
  };

  // One ui.input per element and burst of typing (the SDK's DOM instrumentation debounces keypresses by 1 s).
  const onKeypress = (e) => {
    try {
      const el = e.target;
      if (!el || el.nodeType !== 1) return;
      if (typing !== el) add(domCrumb('ui.input', el, mirror, maskAttr));
      typing = el;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => (typing = null), 1000);
    } catch {
      // never into the app
    }
  };

  const onKeydown = (e) => {
    try {
      const { metaKey, shiftKey, ctrlKey, altKey, key, target } = e;
      if (!target || !key || target.isContentEditable || ['INPUT', 'TEXTAREA'].includes(target.tagName)) return;
      if (!(metaKey || ctrlKey || altKey) && key.length === 1) return;
      add(domCrumb('ui.keyDown', target, mirror, maskAttr, { metaKey, shiftKey, ctrlKey, altKey, key }));
    } catch {
      // never into the app
    }
  };

  const opts = { capture: true, passive: true };
  document.addEventListener('click', onClick, opts);
  document.addEventListener('keypress', onKeypress, opts);
  document.addEventListener('keydown', onKeydown, opts);
  return {
    rrwebEvent(ev) {
      if (ev.type !== 3 || !ev.data) return;
      const s = ev.data.source;
      // Mutation, MediaInteraction, StyleSheetRule, CanvasMutation, StyleDeclaration, Selection, AdoptedStyleSheet.
      if ([0, 7, 8, 9, 13, 14, 15].includes(s)) lastMutation = ev.timestamp;
      else if (s === 3) lastScroll = ev.timestamp;
      else if (s === 2 && ev.data.type === 2) {
        const node = clickTarget(mirror.getNode(ev.data.id));
        for (const c of clicks) if (c.node === node) c.count++;
      }
    },
    stop() {
      document.removeEventListener('click', onClick, opts);
      document.removeEventListener('keypress', onKeypress, opts);
      document.removeEventListener('keydown', onKeydown, opts);
      clearTimeout(timer);
      clearTimeout(typingTimer);
      clicks.length = 0;
    },
  };
}
