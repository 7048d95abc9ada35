// Kernel events queued while a cycle runs: the ones from before the
// cycle's kernel read are not followed (the read holds them), the ones
// after are; outside a cycle every event is followed at once. Lost events
// ask for a host read the same way: not when the running cycle reads the
// kernel after the loss. Events given unparsed are parsed only when followed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plan } from '../../../src/backends/index.js';
import { KernelWatch } from '../../../src/daemon/kernel-watch.js';
import { Logger } from '../../../src/daemon/logger.js';
import { DaemonMetrics } from '../../../src/daemon/metrics.js';
import { parseIpMonitorLine, type KernelEvent } from '../../../src/host/parse-monitor.js';
import type { HostLink, Node } from '../../../src/model/types.js';
import { cluster, node, underlay } from '../support/build.js';

const N: Node[] = Array.from({ length: 3 }, (_, i) => node(i));
const desired = plan({ cluster: cluster(N, N[0]), underlay: underlay() });
const ev = (i: number): KernelEvent => parseIpMonitorLine(`[ROUTE]198.51.100.${i} via 192.0.2.${i} dev eth0 proto static `)!;

type Step = 'start' | 'read' | 'end' | 'lost' | number;
const ROWS: Array<{ name: string; steps: Step[]; followed: number[]; rereads?: string[] }> = [
  { name: 'events before the cycle\'s kernel read are not followed, those after are', steps: ['start', 1, 2, 'read', 3, 'end'], followed: [3] },
  { name: 'two reads (snapshot, verify): only what came after the last', steps: ['start', 1, 'read', 2, 'read', 3, 4, 'end'], followed: [3, 4] },
  { name: 'a cycle without a kernel read (an event cycle): every event', steps: ['start', 1, 2, 'end'], followed: [1, 2] },
  { name: 'between cycles: followed at once, a read changes nothing', steps: [1, 'read', 2], followed: [1, 2] },
  { name: 'lost between cycles: a host read at once', steps: ['lost', 'start'], followed: [], rereads: ['lost'] },
  { name: 'lost during a cycle before its kernel read: no other read', steps: ['start', 'lost', 'read', 'end'], followed: [], rereads: [] },
  { name: 'lost during a cycle after its last kernel read: a host read once it ends', steps: ['start', 'read', 'lost', 'lost', 'end', 'start', 'end'], followed: [], rereads: ['end'] },
  { name: 'lost during an event cycle (no kernel read): a host read once it ends', steps: ['start', 'lost', 'end'], followed: [], rereads: ['end'] },
];

// Each row twice: events as parsed, and as the monitors give them (parsed when asked): then the
// events a kernel read supersedes are never parsed (the first cycle's write echoes ~15 000 lines).
for (const row of ROWS) for (const lazy of [false, true]) {
  test(`${row.name}${lazy ? ' (parsed when asked)' : ''}`, () => {
    const parsed: number[] = [];
    const followed: KernelEvent[] = [];
    const rereads: string[] = [];
    let at = '';
    const w = new KernelWatch({
      log: new Logger({ format: 'json', level: 'error', write: () => {} }),
      metrics: new DaemonMetrics(),
      now: () => 0,
      intervalMs: 10_000,
      follow: (events) => { followed.push(...(events as KernelEvent[])); return { repairs: [], check: [] }; },
      repair: () => {},
      reread: () => { rereads.push(at); },
    });
    w.planned(desired);
    for (const s of row.steps) {
      at = String(s);
      if (s === 'start') w.cycleStarted();
      else if (s === 'lost') w.lost();
      else if (s === 'read') w.hostRead();
      else if (s === 'end') w.cycleEnded(['watch']);
      else w.events(lazy ? () => { parsed.push(s); return [ev(s)]; } : [ev(s)]);
    }
    if (lazy) assert.equal(parsed, row.followed, 'parsed: exactly the events followed');
    assert.equal(followed.map((e) => (e.kind === 'route' ? e.route.dst.text : '?')), row.followed.map((i) => `198.51.100.${i}/32`));
    assert.equal(rereads, row.rereads ?? [], 'host reads asked for lost events, by the step that asked');
  });
}

// A device in doubt (kernel-events.ts `check`): its devices are read, and the
// repairs and host reads asked for meanwhile wait for that read, which is
// then followed like an event; a kernel read started since supersedes it.
const DEVICE_ROWS: Array<{ name: string; steps: Array<'event' | 'lost' | 'start' | 'read' | 'end' | 'answer' | 'fail'>; repairs: number; rereads: number; followedRead: boolean; followed?: number }> = [
  { name: 'repairs wait for the read of the devices; the read is followed, then the repair asked for', steps: ['event'], repairs: 0, rereads: 0, followedRead: false },
  { name: 'the read answered: followed, and the repair held meanwhile asked for once', steps: ['event', 'answer'], repairs: 1, rereads: 0, followedRead: true },
  { name: 'events lost meanwhile: the host read waits for the read of the devices too', steps: ['event', 'lost', 'answer'], repairs: 1, rereads: 1, followedRead: true },
  { name: 'a kernel read started after it (a cycle): the read of the devices is not followed', steps: ['event', 'start', 'read', 'end', 'answer'], repairs: 1, rereads: 0, followedRead: false },
  { name: 'the read of the devices fails: a host read', steps: ['event', 'fail'], repairs: 1, rereads: 1, followedRead: false },
  { name: 'an event during the read waits for it, then is followed', steps: ['event', 'event', 'answer'], repairs: 1, rereads: 0, followedRead: true, followed: 2 },
  { name: 'an event during the read, then a cycle\'s kernel read: that read holds it, it is not followed', steps: ['event', 'event', 'start', 'read', 'end', 'answer'], repairs: 1, rereads: 0, followedRead: false, followed: 1 },
];

for (const row of DEVICE_ROWS) {
  test(`device in doubt: ${row.name}`, async () => {
    let repairs = 0;
    let rereads = 0;
    let followedRead = false;
    let followed = 0;
    let answer!: (v: ReadonlyMap<string, HostLink>) => void;
    let fail!: (e: Error) => void;
    const w = new KernelWatch({
      log: new Logger({ format: 'json', level: 'error', write: () => {} }),
      metrics: new DaemonMetrics(),
      now: () => 0,
      intervalMs: 10_000,
      follow: (events) => {
        if (events.some((e) => e.kind === 'devices')) {
          followedRead = true;
          return { repairs: [], check: [] };
        }
        followed++;
        if (followed > 1) return { repairs: [], check: [] };
        return { repairs: [{ kind: 'fdb', object: 'fdb:flannel.1/x', what: 'deleted' }], check: ['flannel.1'] };
      },
      readDevices: () => new Promise((res, rej) => { answer = res; fail = rej; }),
      repair: () => { repairs++; },
      reread: () => { rereads++; },
    });
    w.planned(desired);
    for (const s of row.steps) {
      if (s === 'event') w.events([ev(1)]);
      else if (s === 'lost') w.lost();
      else if (s === 'start') w.cycleStarted();
      else if (s === 'read') w.hostRead();
      else if (s === 'end') w.cycleEnded(['kernel']);
      else if (s === 'answer') answer(new Map());
      else fail(new Error('ip failed'));
      await new Promise((r) => setImmediate(r));
    }
    assert.is(repairs, row.repairs, 'repair cycles asked for');
    assert.is(rereads, row.rereads, 'host reads asked for');
    assert.is(followedRead, row.followedRead, 'the read of the devices followed');
    if (row.followed !== undefined) assert.is(followed, row.followed, 'monitor events followed');
  });
}

// A device a cycle wrote and found changed again by its verify read (reconciler.ts): drift
// decided after the cycle, under the same limit as an event's repairs.
test('changed after a write: decided when the cycle ends, counted by the repair limit (1/1m: repaired once, then given up on)', () => {
  let repairs = 0;
  const warnings: string[] = [];
  const metrics = new DaemonMetrics();
  const w = new KernelWatch({
    log: new Logger({ format: 'json', level: 'warn', write: (l) => { warnings.push(JSON.parse(l).msg); } }),
    metrics,
    now: () => 0,
    intervalMs: 10_000,
    limit: { maxRepairs: 1, windowMs: 60_000 },
    follow: () => ({ repairs: [], check: [] }),
    repair: () => { repairs++; },
    reread: () => {},
  });
  w.planned(desired);
  const changed = [{ kind: 'link' as const, object: 'link:flannel.1', what: 'changed' as const }];
  w.cycleStarted();
  w.changedAfterWrite(changed);
  assert.is(repairs, 0, 'not while the cycle runs');
  w.cycleEnded(['kernel']);
  assert.is(repairs, 1, 'a repair once it ended');
  w.cycleStarted();
  w.changedAfterWrite(changed);
  w.cycleEnded(['kernel']);
  assert.is(repairs, 1, 'past the limit: no repair');
  assert.equal(warnings.filter((m) => m.startsWith('kernel drift: giving up repairing link:flannel.1: changed 2 times within 1m')).length, 1, warnings.join('\n'));
});

test.run();
