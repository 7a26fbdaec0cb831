// The demo's view of what the ingest endpoint received, with a player.
import { Replayer } from 'rrweb';

const tbody = document.getElementById('segments');
const summary = document.getElementById('summary');
let player = null;

const kb = (n) => (n / 1024).toFixed(1) + ' KB';

async function refresh() {
  const replays = await (await fetch('/api/segments')).json();
  let count = 0;
  let packed = 0;
  let raw = 0;
  tbody.textContent = '';
  for (const r of replays) {
    for (const s of r.segments) {
      count++;
      packed += s.compressedBytes;
      raw += s.jsonBytes;
      const tr = tbody.insertRow();
      const cells = [r.replayId.slice(0, 8) + '…', r.sdk, s.segmentId, s.replayType, s.events, kb(s.compressedBytes), kb(s.jsonBytes),
        (s.jsonBytes / s.compressedBytes).toFixed(1) + '×'];
      for (const c of cells) tr.insertCell().textContent = String(c);
      if (s.segmentId === r.segments[r.segments.length - 1].segmentId) {
        const b = document.createElement('button');
        b.textContent = 'play replay';
        b.onclick = () => play(r.replayId);
        tr.insertCell().appendChild(b);
      } else {
        tr.insertCell();
      }
    }
  }
  summary.textContent = count
    ? `${count} segments in ${replays.length} replays · ${kb(packed)} compressed for ${kb(raw)} of JSON · ratio ${(raw / packed).toFixed(1)}×`
    : 'waiting for the first segment… open the Sentry or engine page in another tab and click around.';
}

async function play(replayId) {
  const events = await (await fetch(`/api/replays/${replayId}/events`)).json();
  if (player) player.pause();
  document.getElementById('player').textContent = '';
  player = new Replayer(events, { root: document.getElementById('player'), mouseTail: false });
  player.play();
}

refresh();
setInterval(refresh, 2000);
