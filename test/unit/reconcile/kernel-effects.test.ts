// Kernel side effects the diff and the write order rely on (issue 16.1):
// renumbering adds the new address before the stale one goes, and a plan that
// removes a device's last IPv4 address writes again what the kernel flushes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plan } from '../../../src/backends/index.js';
import { entryKey } from '../../../src/kinds/index.js';
import type { Change, DesiredState, Entry } from '../../../src/model/types.js';
import { toBatches } from '../../../src/engine/batches.js';
import { diff } from '../../../src/reconcile/diff.js';
import { devicesLosingLastIPv4, flushedBy } from '../../../src/reconcile/kernel-effects.js';
import { orderChanges } from '../../../src/reconcile/order.js';
import { ownershipFor } from '../../../src/reconcile/ownership.js';
import { actualFrom, cluster, fdb, hostLink, ip, neigh, node, pfx, underlay } from '../support/build.js';

const N = [0, 1, 2].map((i) => node(i));
const POLICY = ownershipFor('flannel.1');

function vx(local = N[0], nodes = N): DesiredState {
  return plan({ cluster: cluster(nodes.map((n) => (n.name === local.name ? local : n)), local), underlay: underlay() });
}
const summary = (cs: Change[]) => cs.map((c) => `${c.action} ${c.key}${c.detail ? ` (${c.detail})` : ''}`);

test('renumbering: the new address goes in before the stale one goes, and no in-sync entry is rewritten', () => {
  const before = vx();
  const renumbered = node(0, { subnet: pfx('198.18.40.0/24') });
  const r = diff(vx(renumbered), actualFrom(before.entries), POLICY);
  assert.equal(summary(r.changes).sort(), ['add addr:flannel.1/198.18.40.0/32', 'delete addr:flannel.1/198.18.0.0/32']);
  const lines = toBatches(orderChanges(r.changes)).flatMap((b) => b.lines.map((l) => l.line));
  assert.equal(lines, ['addr replace 198.18.40.0/32 dev flannel.1', 'addr del 198.18.0.0/32 dev flannel.1']);
});

test('renumbering with peers changing too: the stale address goes after the new one and before any neighbour or route is written', () => {
  const before = vx();
  const renumbered = node(0, { subnet: pfx('198.18.40.0/24') });
  const moved = node(2, { subnet: pfx('198.18.42.0/24') });
  const r = diff(vx(renumbered, [N[0], N[1], moved]), actualFrom(before.entries), POLICY);
  const seq = orderChanges(r.changes).map((c) => `${c.action === 'delete' ? '-' : '+'}${c.kind}`);
  assert.equal(seq, ['-route', '-neigh', '+addr', '-addr', '+neigh', '+route']);
});

// Rows: the IPv4 addresses the plan keeps on flannel.1, the ones the host has, and which in-sync entries are rewritten.
const FLUSH = 'flushed by removing the last IPv4 address of flannel.1';
const rows: Array<{ name: string; desired: string[]; host: string[]; rewritten: string[] }> = [
  { name: 'kept address', desired: ['198.18.0.0/32'], host: ['198.18.0.0/32'], rewritten: [] },
  { name: 'renumbered', desired: ['198.18.40.0/32'], host: ['198.18.0.0/32'], rewritten: [] },
  { name: 'one of two kept', desired: ['198.18.0.0/32'], host: ['198.18.0.0/32', '198.18.9.0/32'], rewritten: [] },
  { name: 'no IPv4 address left', desired: [], host: ['198.18.0.0/32'], rewritten: ['neigh:flannel.1/198.18.1.0', 'neigh:flannel.1/198.18.2.0', 'route:198.18.1.0/24', 'route:198.18.2.0/24'] },
  { name: 'none now, none planned', desired: [], host: [], rewritten: [] },
];

for (const row of rows) {
  test(`diff, last IPv4 address: ${row.name}`, () => {
    const base = vx();
    const withAddrs = (entries: Entry[], addrs: string[]) => entries.filter((e) => e.kind !== 'addr').flatMap((e): Entry[] =>
      (e.kind === 'link' ? [e, ...addrs.map((a): Entry => ({ kind: 'addr', dev: 'flannel.1', addr: pfx(a) }))] : [e]));
    const desired = { ...base, entries: withAddrs(base.entries, row.desired) };
    const r = diff(desired, actualFrom(withAddrs(base.entries, row.host)), POLICY);
    const rewritten = r.changes.filter((c) => c.action === 'change').map((c) => c.key).sort();
    assert.equal(rewritten, row.rewritten);
    for (const c of r.changes.filter((x) => x.action === 'change')) {
      assert.is(c.detail, FLUSH);
      assert.equal(c.desired, desired.entries.find((e) => entryKey(e) === c.key), c.key);
    }
    // Every rewrite is ordered after the address is gone.
    const seq = orderChanges(r.changes).map((c) => `${c.action}:${c.kind}`);
    const addrGone = seq.lastIndexOf('delete:addr');
    for (const [i, s] of seq.entries()) if (s.startsWith('change:')) assert.ok(i > addrGone, seq.join(' '));
  });
}

test('flushedBy: IPv4 routes and neighbours on the device, never IPv6 ones, the fdb or another device', () => {
  const f = { macChanged: new Set<string>(), lastIPv4Removed: new Set(['flannel.1']) };
  const r = (dst: string, via: string, dev: string): Entry => ({ kind: 'route', dst: pfx(dst), via: ip(via), dev, onlink: true, proto: 244 });
  const table: Array<[Entry, boolean]> = [
    [r('198.18.1.0/24', '198.18.1.0', 'flannel.1'), true],
    [neigh('flannel.1', '198.18.1.0', '0e:00:00:00:00:01'), true],
    [r('2001:db8:100:1::/64', '2001:db8:100:1::', 'flannel.1'), false],
    [neigh('flannel.1', '2001:db8:100:1::', '0e:00:00:00:00:01'), false],
    [fdb('flannel.1', '0e:00:00:00:00:01', '192.0.2.11'), false],
    [r('198.18.1.0/24', '192.0.2.11', 'eth0'), false],
    [neigh('flannel-v6.1', '198.18.1.0', '0e:00:00:00:00:01'), false],
  ];
  for (const [i, [e, flushed]] of table.entries()) assert.is(flushedBy(e, f) !== undefined, flushed, `row ${i}`);
  const mac = { macChanged: new Set(['flannel.1']), lastIPv4Removed: new Set<string>() };
  assert.is(flushedBy(neigh('flannel.1', '2001:db8:100:1::', '0e:00:00:00:00:01'), mac), 'flushed by the device address change');
  assert.is(flushedBy(r('198.18.1.0/24', '198.18.1.0', 'flannel.1'), mac), undefined);
});

test('devicesLosingLastIPv4: only owned, not recreated devices that keep no IPv4 address', () => {
  const d = vx();
  const noAddr = { ...d, entries: d.entries.filter((e) => e.kind !== 'addr') };
  const a = actualFrom(d.entries);
  a.links.set('eth0', hostLink({ name: 'eth0', addrs: [pfx('192.0.2.10/24')] }));
  assert.equal([...devicesLosingLastIPv4(noAddr, a, POLICY, new Set())], ['flannel.1']);
  assert.equal([...devicesLosingLastIPv4(noAddr, a, POLICY, new Set(['flannel.1']))], []);
  assert.equal([...devicesLosingLastIPv4(d, a, POLICY, new Set())], []);
  assert.equal([...devicesLosingLastIPv4(noAddr, a, ownershipFor(undefined), new Set())], []);
  // An IPv6 address left is no IPv4 address.
  a.links.get('flannel.1')!.addrs = [pfx('198.18.0.0/32'), pfx('2001:db8:100::/128')];
  assert.equal([...devicesLosingLastIPv4(noAddr, a, POLICY, new Set())], ['flannel.1']);
});

test.run();
