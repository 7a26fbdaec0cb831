// Packs host-js the way a release does (`npm pack`, so `prepack` builds the worker and the host files) and installs
// the tarball into a new, empty app, from the tarball alone (`--offline`: the package has no dependencies to fetch).
//
//   const pkg = packAndInstall(tmpDir)   // { tgz, files, app, installed }
//     tgz:       path of ringflate-<version>.tgz
//     files:     the tarball's file list, relative to the package root, sorted
//     app:       the app directory (package.json + node_modules/ringflate)
//     installed: app/node_modules/ringflate
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './bundle.mjs';

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

export function npm(args, cwd) {
  try {
    return execFileSync(NPM, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
  } catch (e) {
    throw new Error(`npm ${args.join(' ')} (in ${cwd}) failed:\n${e.stdout}\n${e.stderr}`);
  }
}

export function packAndInstall(tmp, { appPackage = { name: 'app', version: '1.0.0', private: true } } = {}) {
  const out = path.join(tmp, 'pack');
  fs.mkdirSync(out, { recursive: true });
  npm(['pack', '--pack-destination', out, '--loglevel=error'], path.join(ROOT, 'host-js'));
  const tgzs = fs.readdirSync(out).filter((f) => f.endsWith('.tgz'));
  if (tgzs.length !== 1) throw new Error(`npm pack produced ${tgzs.length} tarballs: ${tgzs}`);
  const tgz = path.join(out, tgzs[0]);
  const files = execFileSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).split('\n').filter((l) => l && !l.endsWith('/'))
    .map((l) => l.replace(/^package\//, '')).sort();
  const app = path.join(tmp, 'app');
  fs.mkdirSync(app, { recursive: true });
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify(appPackage, null, 2));
  npm(['install', tgz, '--no-audit', '--no-fund', '--offline', '--loglevel=error'], app);
  return { tgz, files, app, installed: path.join(app, 'node_modules/ringflate') };
}
