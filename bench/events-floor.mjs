// The floor under the events scenario's change -> kernel latency, with no
// ovlnet in the loop: the same namespace state (the cluster applied once by
// `ovlnet apply`), the same monitors the daemon keeps listening (`ip -N
// monitor label link route neigh`, `bridge monitor fdb`: the kernel builds a
// notification for each), and the same single-peer VTEP-MAC changes, each
// written as the daemon's long-lived writers write it: one `ip -force
// -batch -` line (the neighbour) and two `bridge -force -batch -` lines (the
// old fdb entry deleted, the new one put), each batch followed by the
// writers' sentinel and its answer awaited. The clock starts when the lines
// are handed to the pipes and stops when the bench's own `ip monitor neigh`
// / `bridge monitor fdb` print both entries, exactly as in daemon-cpu.mjs.
// What is left of ovlnet's latency above this is ovlnet's; the floor itself
// is the kernel, iproute2 and the scheduling of the processes on this host.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { clusterDoc, createNamespace, deleteNamespace, nodeSpec, onCleanup, percentile, tempDir, writeAtomic } from './lib.mjs';
import { lineWatcher } from './daemon.mjs';
import { common, must, ovlnet } from './ovlnet.mjs';

const DEVICE = 'flannel.1';
const SENTINEL = { ip: 'link show dev ack/0', bridge: 'fdb show dev ack/0' };
const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

/** A long-lived `tool -force -batch -` in `ns`; write() resolves when the batch's sentinel is answered. */
function batchProcess(tool, ns) {
  const child = spawn(tool, ['-n', ns, '-force', '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let sent = 0;
  const acks = new Map();
  createInterface({ input: child.stderr }).on('line', (line) => {
    const m = /^Command failed -:(\d+)$/.exec(line.trim());
    const ack = m && acks.get(Number(m[1]));
    if (ack) { acks.delete(Number(m[1])); ack(); }
  });
  return {
    child,
    write(lines) {
      sent += lines.length + 1;
      const acked = new Promise((res) => acks.set(sent, res));
      child.stdin.write(lines.join('\n') + '\n' + SENTINEL[tool] + '\n');
      return acked;
    },
    stop() { child.stdin.end(); child.kill('SIGTERM'); },
  };
}

/** `changes` single-peer changes at `peers` peers; the same peers and MAC salts as daemon-cpu.mjs. */
export async function floorRun(peers, changes) {
  const dir = join(tempDir(), `events-floor-${peers}`);
  const file = join(dir, 'cluster.json');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const salts = new Map();
  writeAtomic(file, JSON.stringify(clusterDoc(peers, salts)));
  const ns = createNamespace();
  const procs = [];
  try {
    must(await ovlnet(['apply', ...common(file, ns)]), 'apply (the floor\'s starting state)');
    // The daemon's own monitors, drained (their cost to the kernel is part of the floor).
    procs.push(lineWatcher('ip', ['-n', ns, '-N', 'monitor', 'label', 'link', 'route', 'neigh']), lineWatcher('bridge', ['-n', ns, 'monitor', 'fdb']));
    const neigh = lineWatcher('ip', ['-n', ns, 'monitor', 'neigh']);
    const fdb = lineWatcher('bridge', ['-n', ns, 'monitor', 'fdb']);
    const ip = batchProcess('ip', ns);
    const bridge = batchProcess('bridge', ns);
    procs.push(neigh, fdb, ip, bridge);
    onCleanup(() => { for (const p of procs) p.child.kill('SIGKILL'); });
    await sleep(1000);
    const lat = [];
    let timeouts = 0;
    for (let i = 0; i < changes; i++) {
      const k = 1 + ((i * 7919) % peers);
      const old = nodeSpec(k, salts.get(k) ?? 0);
      salts.set(k, 2 + i);
      const n = nodeSpec(k, 2 + i);
      const gw = n.subnet.split('/')[0];
      const pN = neigh.waitFor((l) => l.startsWith(`${gw} `) && l.includes(`lladdr ${n.vtepMAC}`) && !l.startsWith('Deleted'), 10000);
      const pF = fdb.waitFor((l) => l.startsWith(`${n.vtepMAC} `) && l.includes(`dst ${n.publicIP}`) && !l.startsWith('Deleted'), 10000);
      const start = process.hrtime.bigint();
      const acks = Promise.all([
        ip.write([`neigh replace ${gw} lladdr ${n.vtepMAC} dev ${DEVICE} nud permanent`]),
        bridge.write([`fdb del ${old.vtepMAC} dev ${DEVICE} dst ${old.publicIP} self`, `fdb replace ${n.vtepMAC} dev ${DEVICE} dst ${n.publicIP} self permanent`]),
      ]);
      const [tn, tf] = await Promise.all([pN, pF]);
      await acks;
      await sleep(200);
      if (tn === undefined || tf === undefined) timeouts++;
      else lat.push(Number((tn > tf ? tn : tf) - start) / 1e6);
    }
    return {
      source: 'floor', peers, changes, timeouts,
      p50Ms: lat.length ? percentile(lat, 50) : NaN,
      p99Ms: lat.length ? percentile(lat, 99) : NaN,
      latenciesMs: lat.map((x) => Math.round(x * 100) / 100),
    };
  } finally {
    for (const p of procs) p.stop();
    deleteNamespace(ns);
  }
}
