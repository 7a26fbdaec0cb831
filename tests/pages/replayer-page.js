// Plays received events in rrweb's Replayer and reports what the replayed page shows.
import { Replayer } from 'rrweb';

window.__replay = (events) => {
  const replayer = new Replayer(events, { root: document.getElementById('root'), mouseTail: false, showWarning: false });
  const span = events[events.length - 1].timestamp - events[0].timestamp;
  replayer.pause(span + 1); // rrweb applies at once only the events strictly before the pause time
  const doc = replayer.iframe.contentDocument;
  const input = doc.querySelector('input');
  return { text: doc.body ? doc.body.textContent : '', input: input ? input.value : null };
};
