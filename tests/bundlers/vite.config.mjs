// Vite build of tests/bundlers/index.html. Sentry's own blob: worker is compiled out, as Sentry documents for
// apps that pass their own workerUrl, so compressed replays can only come from ringflate's worker.
export default {
  logLevel: 'warn',
  define: { __SENTRY_EXCLUDE_REPLAY_WORKER__: 'true' },
  build: { outDir: 'dist-vite', emptyOutDir: true, reportCompressedSize: false },
};
