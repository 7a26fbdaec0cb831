// webpack 5: `new URL(…, import.meta.url)` makes webpack emit the worker file as an asset and give its URL.
import { start } from './app.js';

start(new URL('ringflate/worker', import.meta.url));
