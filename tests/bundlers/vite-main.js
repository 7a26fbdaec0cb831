// Vite: `?url` makes Vite emit the worker file as an asset (assets/ringflate-worker-<hash>.js) and give its URL.
import workerUrl from 'ringflate/worker?url';
import { start } from './app.js';

start(workerUrl);
