// Kernel drift repair: a daemon with a resync an hour away (only kernel
// events can bring anything back that soon) holds --repair-peers peers; a
// peer's route, neighbour or fdb entry, or the vxlan device, is deleted by
// hand, and the time from the kernel's deletion event to the object's
// re-addition event is measured by our own `ip monitor` / `bridge monitor`
// in the namespace (both seen by the same process, one clock).
import { execFile, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { clusterDoc, createNamespace, deleteNamespace, nodeSpec, onCleanup, percentile, stopDaemon, tempDir, writeAtomic } from './lib.mjs';
import { NODE, OVLNET, common, fmtMs, log, ovlnet } from './ovlnet.mjs';

/** Runs a tool without blocking the event loop (the monitors' lines are timed as they arrive). */
const sh = (cmd, args) => new Promise((res, rej) => execFile(cmd, args, (e) => (e ? rej(e) : res())));

/** Lines of a monitor with the time each arrived; waits for a matching one. */
function monitor(cmd, args) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const waiters = new Set();
  createInterface({ input: child.stdout }).on('line', (line) => {
    const t = process.hrtime.bigint();
    for (const w of waiters) if (w.test(line)) { waiters.delete(w); w.resolve(t); }
  });
  return {
    waitFor(test, timeoutMs) {
      return new Promise((res) => {
        const w = { test, resolve: (t) => { clearTimeout(w.timer); res(t); } };
        w.timer = setTimeout(() => { waiters.delete(w); res(undefined); }, timeoutMs);
        waiters.add(w);
      });
    },
    /** Resolves once `count` lines matched (the time of the last), or undefined after the timeout. */
    waitForCount(test, count, timeoutMs) {
      let seen = 0;
      return new Promise((res) => {
        const w = { test: (l) => test(l) && ++seen >= count, resolve: (t) => { clearTimeout(w.timer); res(t); } };
        w.timer = setTimeout(() => { waiters.delete(w); res(undefined); }, timeoutMs);
        waiters.add(w);
      });
    },
    stop() { child.kill('SIGTERM'); },
  };
}

async function converged(ns, file, deadlineMs) {
  const until = Date.now() + deadlineMs;
  for (;;) {
    if ((await ovlnet(['diff', ...common(file, ns)])).code === 0) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 500));
  }
}

const ms = (a, b) => Number(b - a) / 1e6;
const stats = (xs) => ({ n: xs.length, p50Ms: xs.length ? percentile(xs, 50) : NaN, p99Ms: xs.length ? percentile(xs, 99) : NaN, maxMs: xs.length ? Math.max(...xs) : NaN, samplesMs: xs.map((x) => Math.round(x * 100) / 100) });

/** Lines of `ip -o monitor link address` that say the device is up, and that it holds an address (not their deletions). */
const deviceUp = (dev) => (l) => !l.startsWith('Deleted') && l.includes(`: ${dev}: <`) && /[<,]UP[,>]/.test(l);
const deviceAddr = (dev) => (l) => !l.startsWith('Deleted') && new RegExp(`^\\d+: ${dev.replace('.', '\\.')}\\s+inet `).test(l);

/** Lines of a read, counted (the entries ovlnet wrote: routes of its protocol, permanent neighbours, fdb entries with a destination). */
function countLines(cmd, args, test) {
  return new Promise((res) => execFile(cmd, args, { maxBuffer: 1 << 28 }, (e, o) => res(e ? 0 : o.split('\n').filter(test).length)));
}

async function repairRun(peers, reps, deviceReps, logFile, bin = OVLNET) {
  const dir = join(tempDir(), `repair-${peers}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'cluster.json');
  writeAtomic(file, JSON.stringify(clusterDoc(peers)));
  const ns = createNamespace();
  const d = spawn(NODE, [bin, 'daemon', ...common(file, ns), '--interval', '1h', '--subnet-file', '', '--log-level', logFile ? 'debug' : 'warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = [];
  const logOut = logFile ? createWriteStream(logFile) : undefined;
  d.stderr.on('data', (b) => (logOut ? logOut.write(b) : stderr.push(b)));
  let exited;
  const exitP = new Promise((res) => d.on('close', (code, sig) => { exited = { code, sig }; res(); }));
  onCleanup(() => { if (!exited) d.kill('SIGKILL'); });
  const ipMon = monitor('ip', ['-n', ns, 'monitor', 'route', 'neigh', 'link']);
  const fdbMon = monitor('bridge', ['-n', ns, 'monitor', 'fdb']);
  // Links and addresses only: the flush's burst of neighbours and routes is on other groups, so this one loses nothing.
  const linkMon = monitor('ip', ['-n', ns, '-o', 'monitor', 'link', 'address']);
  try {
    if (!(await converged(ns, file, 180_000)) || exited) {
      return { peers, notRun: `the daemon did not converge: ${Buffer.concat(stderr).toString().trim().split('\n').slice(-3).join(' | ')}` };
    }
    await new Promise((r) => setTimeout(r, 300));
    const out = { peers, timeouts: 0 };
    // Each repetition another peer: the rate limit (5 repairs of one object a minute) is not what is measured.
    const kinds = {
      route: (n) => ({
        del: () => sh('ip', ['-n', ns, 'route', 'del', n.subnet]),
        gone: (l) => l.startsWith(`Deleted ${n.subnet} via`), back: (l) => l.startsWith(`${n.subnet} via`), mon: ipMon,
      }),
      neigh: (n) => {
        const gw = n.subnet.split('/')[0];
        return {
          del: () => sh('ip', ['-n', ns, 'neigh', 'del', gw, 'dev', 'flannel.1']),
          gone: (l) => l.startsWith(`Deleted ${gw} dev flannel.1`), back: (l) => l.startsWith(`${gw} dev flannel.1 lladdr`) && l.includes('PERMANENT'), mon: ipMon,
        };
      },
      fdb: (n) => ({
        del: () => sh('bridge', ['-n', ns, 'fdb', 'del', n.vtepMAC, 'dev', 'flannel.1', 'dst', n.publicIP, 'self']),
        gone: (l) => l.startsWith(`Deleted ${n.vtepMAC} dev flannel.1 dst`), back: (l) => l.startsWith(`${n.vtepMAC} dev flannel.1 dst ${n.publicIP}`), mon: fdbMon,
      }),
    };
    for (const [kind, make] of Object.entries(kinds)) {
      const lat = [];
      for (let i = 0; i < reps; i++) {
        const o = make(nodeSpec(1 + ((i * 7919 + kind.length * 131) % peers)));
        const pGone = o.mon.waitFor(o.gone, 10_000);
        const pBack = o.mon.waitFor((l) => o.back(l), 10_000);
        const [t0, t1] = await Promise.all([pGone, pBack, o.del()]);
        if (t0 === undefined || t1 === undefined) out.timeouts++;
        else lat.push(ms(t0, t1));
        await new Promise((r) => setTimeout(r, 200));
      }
      out[kind] = stats(lat);
      log(`  ${kind}: back after p50 ${fmtMs(out[kind].p50Ms)} ms, p99 ${fmtMs(out[kind].p99Ms)} ms (${lat.length} deletions)`);
    }
    // The device: back (up, with its address), from the `ip link del`, seen
    // by the link and address monitor; then all its entries back (every
    // route, neighbour and fdb entry), counted with reads, polled: a burst
    // of 3 x peers events overflows a monitor's socket buffer (ENOBUFS), so
    // lines are lost there.
    const lat = [];
    const devLat = [];
    const routesBack = () => countLines('ip', ['-n', ns, 'route', 'show', 'proto', '244'], Boolean);
    const neighsBack = () => countLines('ip', ['-n', ns, 'neigh', 'show', 'dev', 'flannel.1', 'nud', 'permanent'], Boolean);
    const fdbBack = () => countLines('bridge', ['-n', ns, 'fdb', 'show', 'dev', 'flannel.1'], (l) => l.includes(' dst '));
    for (let i = 0; i < deviceReps; i++) {
      const pUp = linkMon.waitFor(deviceUp('flannel.1'), 60_000);
      const pAddr = linkMon.waitFor(deviceAddr('flannel.1'), 60_000);
      // From the command (its event can be among the lines a monitor loses in the flush's burst).
      const t0 = process.hrtime.bigint();
      await sh('ip', ['-n', ns, 'link', 'del', 'flannel.1']);
      let t1;
      // The routes are polled (the last of the three to be complete, or about); then the others are checked.
      for (const until = Date.now() + 60_000; Date.now() < until;) {
        if ((await routesBack()) >= peers && (await neighsBack()) >= peers && (await fdbBack()) >= peers) { t1 = process.hrtime.bigint(); break; }
        await new Promise((r) => setTimeout(r, 20));
      }
      const [up, addr] = await Promise.all([pUp, pAddr]);
      if (t1 === undefined) out.timeouts++;
      else lat.push(ms(t0, t1));
      if (up === undefined || addr === undefined) out.timeouts++;
      else devLat.push(ms(t0, up > addr ? up : addr));
      await new Promise((r) => setTimeout(r, 1000));
    }
    out.deviceBack = stats(devLat);
    out.device = stats(lat);
    log(`  device: back (up, its address) after p50 ${fmtMs(out.deviceBack.p50Ms)} ms; all its entries back after p50 ${fmtMs(out.device.p50Ms)} ms (${lat.length} deletions)`);
    out.inSyncAfter = await converged(ns, file, 30_000);
    return out;
  } finally {
    ipMon.stop();
    fdbMon.stop();
    linkMon.stop();
    if (!exited) await stopDaemon(d, exitP);
    deleteNamespace(ns);
  }
}

export default {
  name: 'repair',
  options: {
    'repair-peers': { type: 'string', default: '5000', quick: '1000', help: 'peers for the kernel drift repair latency; 0: not run' },
    'repair-deletions': { type: 'string', default: '30', quick: '5', help: 'deletions of each of route, neighbour, fdb entry' },
    'repair-device-deletions': { type: 'string', default: '3', quick: '1', help: 'deletions of the vxlan device' },
    'repair-ovlnet': { type: 'string', default: '', help: "another build's bin/ovlnet for the repair daemon (before/after figures)" },
    'repair-log': { type: 'string', help: "the repair daemon's log at --log-level debug goes to this file (cycle stages)" },
  },
  enabled: (opt) => Number(opt['repair-peers']) > 0,
  async run({ opt }) {
    const peers = Number(opt['repair-peers']);
    log(`\n== kernel drift repair, ${peers} peers, resync 1h`);
    try {
      return await repairRun(peers, Number(opt['repair-deletions']), Number(opt['repair-device-deletions']), opt['repair-log'], opt['repair-ovlnet'] || OVLNET);
    } catch (e) {
      return { peers, notRun: String(e?.message ?? e).split('\n')[0] };
    }
  },
  report(r) {
    if (r.notRun) return [`repair (${r.peers} peers): not run: ${r.notRun}`];
    const row = (k, what) => `repair (${r.peers} peers, resync 1h): ${what} p50 ${fmtMs(r[k].p50Ms)} ms, p99 ${fmtMs(r[k].p99Ms)} ms (${r[k].n} deletions)`;
    const event = "back after the kernel's deletion event";
    return [row('route', `hand-deleted route ${event}`), row('neigh', `neighbour ${event}`), row('fdb', `fdb entry ${event}`),
      ...(r.deviceBack ? [row('deviceBack', 'vxlan device: back (up, its address) after `ip link del`')] : []),
      row('device', 'vxlan device: all its routes, neighbours and fdb entries back after `ip link del`'),
      `repair (${r.peers} peers): ${r.timeouts} timeouts; in sync after: ${r.inSyncAfter}`];
  },
};
