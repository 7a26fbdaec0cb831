// Page behaviour shared by the demo pages: a small order form whose typing,
// clicks and DOM changes give rrweb something real to record.
export function wireDemo({ onFlush, onBoom }) {
  const rows = document.getElementById('rows');
  let n = 0;
  document.getElementById('order').addEventListener('submit', (e) => {
    e.preventDefault();
    const tr = document.createElement('tr');
    for (const v of [++n, value('name') || 'anonymous', value('plant'), value('qty')]) {
      const td = document.createElement('td');
      td.textContent = String(v);
      tr.appendChild(td);
    }
    rows.appendChild(tr);
  });
  document.getElementById('flush').addEventListener('click', () => onFlush());
  document.getElementById('boom').addEventListener('click', () => onBoom(new Error('Demo error: the greenhouse is out of basil')));
}

function value(id) {
  return document.getElementById(id).value;
}

export function status(text) {
  document.getElementById('status').textContent = text;
}

// The local ingest endpoint of the demo server stands in for Sentry.
export const dsn = `${location.protocol}//public@${location.host}/1`;
