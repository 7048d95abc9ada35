#!/usr/bin/env node
// The test command (`npm test`). It:
//  1. makes sure what the end-to-end tests need is installed (the list in
//     ensureTools below, which README's Quick start repeats), installing it with apt-get when running as
//     root, and failing loudly otherwise: no test is ever skipped silently;
//  2. rebuilds the CLI bundle (scripts/bundle.mjs) that bin/ovlnet runs;
//  3. runs every compiled test file in its own process (a crash in one file
//     can not hide the others), unit tests first;
//  4. ends with the line `N passed, N failed`.
// Usage: node test/run.mjs [unit|e2e|FILTER...]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist', 'test');
const filters = process.argv.slice(2);
const FILE_TIMEOUT_MS = Number(process.env.OVLNET_TEST_FILE_TIMEOUT_MS ?? 300_000);

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function ensureTools() {
  const need = [
    ['ip', 'iproute2'], ['bridge', 'iproute2'], ['ping', 'iputils-ping'],
    ['etcd', 'etcd-server'], ['etcdctl', 'etcd-client'],
    ['ethtool', 'ethtool'], ['iptables', 'iptables'], ['iptables-save', 'iptables'], ['iptables-restore', 'iptables'],
    // the WireGuard backend: wg, and the userspace implementation (no kernel module here); captures
    ['wg', 'wireguard-tools'], ['wireguard-go', 'wireguard-go'], ['tcpdump', 'tcpdump'],
    // man page rendering and the completion scripts in real shells
    ['man', 'man-db'], ['groff', 'groff-base'], ['zsh', 'zsh'], ['fish', 'fish'], ['script', 'bsdutils'],
    // real tools judging our output: /metrics (promtool) and the bash completion (shellcheck)
    ['promtool', 'prometheus'], ['shellcheck', 'shellcheck'],
    // systemd-analyze verify for the systemd unit (it only loads unit files; nothing is enabled or started)
    ['systemd-analyze', 'systemd'],
  ];
  const missing = [...new Set(need.filter(([c]) => !have(c)).map(([, p]) => p))];
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(`test: missing packages ${missing.join(' ')}; run as root (the tests install them) or: sudo apt-get install ${missing.join(' ')}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  console.log(`test: installing ${missing.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const upd = spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const inst = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  const still = need.filter(([c]) => !have(c)).map(([c]) => c);
  if (upd.status !== 0 || inst.status !== 0 || still.length) {
    console.error(`test: installing ${missing.join(' ')} failed; still missing: ${still.join(' ') || '(none)'}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

function listTests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return listTests(p);
    return d.name.endsWith('.test.js') ? [p] : [];
  }).sort();
}

// Never touch the host: a test that leaves anything under the host's own
// flannel, WireGuard or ovlnet run directories fails, naming what it left
// (which is then removed, so the next file is judged on its own).
const HOST_DIRS = ['/run/flannel', '/run/wireguard', '/run/ovlnet'];

function hostEntries() {
  const seen = new Set();
  const walk = (p) => {
    let st;
    try { st = lstatSync(p); } catch { return; }
    seen.add(p);
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
  };
  for (const d of HOST_DIRS) walk(d);
  return seen;
}

function hostLeftovers(before) {
  const added = [...hostEntries()].filter((p) => !before.has(p)).sort();
  // Deepest first, so a directory is removed after what it holds.
  for (const p of [...added].reverse()) rmSync(p, { recursive: true, force: true });
  return added;
}

// Never leave a namespace: the tests name theirs after their own process
// (test/lib/netns.ts uniqueTag: `o` and the pid in base 36), so one that is
// still there when the file's process has exited is that file's leftover (a
// cleanup that did not know it had created it, say): it fails the file,
// named, and is deleted.
const NETNS_DIR = '/run/netns';

function namespaces() {
  try { return new Set(readdirSync(NETNS_DIR)); } catch { return new Set(); }
}

function namespaceLeftovers(pid, before) {
  const tag = `o${pid.toString(36)}`;
  const left = [...namespaces()].filter((n) => n.startsWith(tag) && !before.has(n)).sort();
  for (const n of left) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
  return left;
}

function runFile(file) {
  // ovlnet's writer locks go here, never to the host's /run/ovlnet (src/host/lock.ts).
  const runDir = mkdtempSync(join(tmpdir(), 'ovlnet-run-'));
  const hostBefore = hostEntries();
  const netnsBefore = namespaces();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', OVLNET_RUN_DIR: runDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => process.stderr.write(d));
    const timer = setTimeout(() => {
      console.error(`test: ${relative(root, file)} timed out after ${FILE_TIMEOUT_MS} ms; killed`);
      child.kill('SIGKILL');
    }, FILE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      rmSync(runDir, { recursive: true, force: true });
      const touched = hostLeftovers(hostBefore);
      if (touched.length) console.error(`test: ${relative(root, file)} touched the host, it left: ${touched.join(', ')}`);
      const left = child.pid === undefined ? [] : namespaceLeftovers(child.pid, netnsBefore);
      if (left.length) console.error(`test: ${relative(root, file)} left network namespaces behind (deleted now): ${left.join(', ')}`);
      const hostFail = touched.length || left.length ? 1 : 0;
      const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? NaN);
      const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? NaN);
      const skipped = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
      if (Number.isNaN(total) || Number.isNaN(passed)) {
        // The file crashed before uvu could count: one failure, never zero.
        resolve({ passed: 0, failed: 1 + hostFail, skipped: 0 });
      } else {
        const failed = total - passed - skipped + (code !== 0 && total === passed + skipped ? 1 : 0);
        resolve({ passed, failed: failed + hostFail, skipped });
      }
    });
  });
}

ensureTools();
// The CLI under test is bin/ovlnet, which runs the bundle: rebuild it from src/
// (under a second) so `npx tsc -p . && node test/run.mjs X` never tests a stale one.
const bundled = spawnSync(process.execPath, [join(root, 'scripts', 'bundle.mjs')], { cwd: root, stdio: 'inherit' });
if (bundled.status !== 0) {
  console.error('test: bundling the CLI failed (node scripts/bundle.mjs)');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
let files = [...listTests(join(dist, 'unit')), ...listTests(join(dist, 'e2e'))];
if (files.length === 0) {
  console.error('test: no compiled tests found; run "npm run build" first');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
if (filters.length) files = files.filter((f) => filters.some((x) => relative(dist, f).includes(x)));
const started = Date.now();
let passed = 0, failed = 0, skipped = 0;
const failedFiles = [];
for (const f of files) {
  console.log(`\n# ${relative(dist, f)}`);
  const r = await runFile(f);
  passed += r.passed; failed += r.failed; skipped += r.skipped;
  if (r.failed) failedFiles.push(relative(dist, f));
}
console.log(`\n${files.length} test files in ${((Date.now() - started) / 1000).toFixed(1)} s${failedFiles.length ? `; failures in: ${failedFiles.join(', ')}` : ''}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
