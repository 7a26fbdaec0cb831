// The demo's view of what the ingest endpoint received, with a player above the table (which grows with every
// segment).
import { Replayer } from 'rrweb';
import { playbackEvents } from './playback.js';

const tbody = document.getElementById('segments');
const summary = document.getElementById('summary');
const box = document.getElementById('player-box');
const title = document.getElementById('player-title');
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
        b.textContent = 'play';
        b.className = 'play';
        b.onclick = () => play(r);
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

function stop() {
  if (player) player.pause();
  player = null;
  document.getElementById('player').textContent = '';
}

async function play(r) {
  const received = await (await fetch(`/api/replays/${r.replayId}/events`)).json();
  stop();
  const events = playbackEvents(received);
  title.textContent = `replay ${r.replayId.slice(0, 8)}… (${r.sdk}, ${events.length} events)`;
  box.hidden = false;
  player = new Replayer(events, { root: document.getElementById('player'), mouseTail: false, showWarning: false });
  player.play();
  box.scrollIntoView({ block: 'nearest' });
}

document.getElementById('player-close').onclick = () => {
  stop();
  box.hidden = true;
};

refresh();
setInterval(refresh, 2000);
