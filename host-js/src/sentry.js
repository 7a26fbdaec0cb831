// ringflate/sentry: the Sentry integration (see sentry.d.ts and host-js/README.md).
export { ringflateReplay } from './sentry/integration.js';
