// webpack 5 production build of webpack-main.js (Terser included, as in a real app).
const path = require('node:path');
const webpack = require('webpack');

module.exports = {
  mode: 'production',
  context: __dirname,
  entry: './webpack-main.js',
  output: { path: path.join(__dirname, 'dist-webpack'), filename: 'main.js', clean: true },
  module: {
    rules: [
      // The worker file keeps "ringflate-worker" in its emitted name, so the server's CSP rule can find it
      // (webpack's default asset name is only a hash).
      { test: /ringflate-worker\.js$/, generator: { filename: 'assets/ringflate-worker.[contenthash:8].js' } },
    ],
  },
  plugins: [new webpack.DefinePlugin({ __SENTRY_EXCLUDE_REPLAY_WORKER__: 'true' })],
  performance: { hints: false },
  stats: 'errors-warnings',
};
