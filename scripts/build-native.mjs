#!/usr/bin/env node
// npm "install" script: builds the optional TUN addon (native/tun.c) used by
// the udp backend's forwarder. It never fails the install: without a compiler
// or Node's headers, ovlnet works as before and the udp forwarder says why it
// cannot start. Node's own headers are used when installed beside node (Debian,
// nodesource, official tarballs), so the build needs no network.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

if (process.platform !== 'linux') process.exit(0);
const root = join(dirname(new URL(import.meta.url).pathname), '..');
const prefix = join(dirname(process.execPath), '..');
const args = ['rebuild'];
if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);

function nodeGyp() {
  // npm tells lifecycle scripts where its bundled node-gyp is.
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  for (const base of [join(prefix, 'lib', 'node_modules', 'npm'), join(prefix, 'node_modules', 'npm')]) {
    const p = join(base, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (existsSync(p)) return p;
  }
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return undefined;
  }
}

const gyp = nodeGyp();
const r = gyp ? spawnSync(process.execPath, [gyp, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' }) : undefined;
if (!r || r.status !== 0) {
  const why = !gyp ? 'node-gyp not found' : (r.stderr || r.stdout || '').trim().split('\n').slice(-3).join('\n');
  process.stderr.write(`ovlnet: the TUN addon was not built; the udp backend's forwarder will be unavailable (vxlan and host-gw are not affected).\n${why}\n`);
}
// Run by hand (npm run build:native), a failure is an error.
process.exit(process.env.npm_lifecycle_event === "install" || !r || r.status === 0 ? 0 : 1);
