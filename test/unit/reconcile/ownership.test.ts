// Routes flanneld left on a node ovlnet took over (issue 15, "Routes flannel
// left"): protocol boot, inside the pod network, through flannel's device or
// via a node's public IP. They are flannel's, hence ovlnet's: replaced when
// wrong, deleted when stale, adopted when identical. Every other foreign
// route keeps the rule: reported, left alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plan } from '../../../src/backends/index.js';
import { toBatches } from '../../../src/engine/batches.js';
import type { Change, DesiredState, HostRoute } from '../../../src/model/types.js';
import { applyToActual } from '../../../src/daemon/kernel-model.js';
import { policyFor } from '../../../src/engine/devices.js';
import { diff } from '../../../src/reconcile/diff.js';
import { orderChanges } from '../../../src/reconcile/order.js';
import { nodeAddresses, ownershipFor } from '../../../src/reconcile/ownership.js';
import { actualFrom, cluster, config, HOSTGW, node, pfx, route, underlay, VXLAN } from '../support/build.js';

const N = [0, 1, 2].map((i) => node(i));
const VX_POLICY = policyFor(config(VXLAN));
const HG_POLICY = policyFor(config(HOSTGW));

function vx(): DesiredState {
  return plan({ cluster: cluster(N, N[0]), underlay: underlay() });
}
function hg(): DesiredState {
  return plan({ cluster: cluster(N, N[0], HOSTGW), underlay: underlay() });
}
const summary = (cs: Change[]) => cs.map((c) => `${c.action} ${c.key}${c.detail ? ` (${c.detail})` : ''}`).sort();
/** The plan's entries without its route to `dst`, plus `routes` (as the host would have them). */
function hostWith(d: DesiredState, routes: HostRoute[], without: string[] = []) {
  return actualFrom(d.entries.filter((e) => !(e.kind === 'route' && without.includes(e.dst.text))), { routes });
}

const ROWS: Array<{ name: string; backend: 'vxlan' | 'host-gw'; routes: HostRoute[]; without: string[]; changes: string[]; conflicts: number; adopted: string[] }> = [
  { name: 'flannel\'s identical route: adopted, nothing written', backend: 'vxlan', without: ['198.18.1.0/24'],
    routes: [route('198.18.1.0/24', '198.18.1.0', 'flannel.1', true, 3)], changes: [], conflicts: 0, adopted: ['route:198.18.1.0/24'] },
  { name: 'flannel\'s wrong route through flannel.1: replaced', backend: 'vxlan', without: ['198.18.1.0/24'],
    routes: [route('198.18.1.0/24', '198.18.1.0', 'flannel.1', false, 3)], conflicts: 0, adopted: [],
    changes: ['change route:198.18.1.0/24 (left by flannel: via 198.18.1.0 dev flannel.1 -> via 198.18.1.0 dev flannel.1 onlink)'] },
  { name: 'flannel\'s stale route through flannel.1: deleted', backend: 'vxlan', without: [],
    routes: [route('198.18.9.0/24', '198.18.9.0', 'flannel.1', true, 3)], conflicts: 0, adopted: [],
    changes: ['delete route:198.18.9.0/24 (left by flannel, not in the plan)'] },
  { name: 'flannel\'s host-gw route via a node\'s public IP, wrong: replaced', backend: 'host-gw', without: ['198.18.1.0/24'],
    routes: [route('198.18.1.0/24', '192.0.2.12', 'eth0', false, 3)], conflicts: 0, adopted: [],
    changes: ['change route:198.18.1.0/24 (left by flannel: via 192.0.2.12 dev eth0 -> via 192.0.2.11 dev eth0)'] },
  { name: 'flannel\'s host-gw route via a node\'s public IP, stale: deleted', backend: 'host-gw', without: [],
    routes: [route('198.18.9.0/24', '192.0.2.11', 'eth0', false, 3)], conflicts: 0, adopted: [],
    changes: ['delete route:198.18.9.0/24 (left by flannel, not in the plan)'] },
  // Not flannel's: the old rule.
  { name: 'protocol boot via an address that is no node\'s: reported, left', backend: 'host-gw', without: ['198.18.1.0/24'],
    routes: [route('198.18.1.0/24', '192.0.2.99', 'eth0', false, 3), route('198.18.9.0/24', '192.0.2.99', 'eth0', false, 3)], conflicts: 1, adopted: [], changes: [] },
  { name: 'protocol static through flannel.1: reported, left', backend: 'vxlan', without: ['198.18.1.0/24'],
    routes: [route('198.18.1.0/24', '198.18.1.0', 'flannel.1', false, 4), route('198.18.9.0/24', '198.18.9.0', 'flannel.1', true, 4)], conflicts: 1, adopted: [], changes: [] },
  { name: 'protocol boot outside the pod network: left', backend: 'vxlan', without: [],
    routes: [route('203.0.113.0/24', '198.18.1.0', 'flannel.1', true, 3), route('0.0.0.0/0', '192.0.2.1', 'eth0', false, 3), route('198.0.0.0/8', '192.0.2.11', 'eth0', false, 3)],
    conflicts: 0, adopted: [], changes: [] },
  { name: 'protocol boot inside the pod network through another device: left', backend: 'vxlan', without: [],
    routes: [{ dst: pfx('198.18.0.0/24'), dev: 'cni0', onlink: false, proto: 3 }, route('198.18.9.0/24', '192.0.2.99', 'eth0', false, 3)], conflicts: 0, adopted: [], changes: [] },
  { name: 'a blackhole with protocol boot in the pod network: left', backend: 'vxlan', without: [],
    routes: [{ dst: pfx('198.18.9.0/24'), onlink: false, proto: 3, type: 'blackhole' }], conflicts: 0, adopted: [], changes: [] },
];

for (const r of ROWS) {
  test(`inherited routes: ${r.name}`, () => {
    const d = r.backend === 'vxlan' ? vx() : hg();
    const res = diff(d, hostWith(d, r.routes, r.without), r.backend === 'vxlan' ? VX_POLICY : HG_POLICY);
    assert.equal(summary(res.changes), r.changes);
    assert.is(res.conflicts.length, r.conflicts, JSON.stringify(res.conflicts));
    assert.equal(res.adopted, r.adopted);
  });
}

test('inherited routes: the replace and delete lines name flannel\'s protocol only where the kernel needs it', () => {
  const d = vx();
  const res = diff(d, hostWith(d, [route('198.18.1.0/24', '198.18.1.0', 'flannel.1', false, 3), route('198.18.9.0/24', '198.18.9.0', 'flannel.1', true, 3)], ['198.18.1.0/24']), VX_POLICY);
  const lines = toBatches(orderChanges(res.changes)).flatMap((b) => b.lines.map((l) => l.line));
  assert.equal(lines, ['route del 198.18.9.0/24 via 198.18.9.0 dev flannel.1 proto 3', 'route replace 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink proto 244']);
  // The daemon's kernel model follows both writes.
  const before = hostWith(d, [route('198.18.1.0/24', '198.18.1.0', 'flannel.1', false, 3), route('198.18.9.0/24', '198.18.9.0', 'flannel.1', true, 3)], ['198.18.1.0/24']);
  const after = applyToActual(before, res.changes)!;
  assert.ok(after, 'modelled');
  assert.equal(diff(d, after, VX_POLICY).changes, []);
});

test('ownershipFor without pod networks inherits nothing (cleanup and tests keep the old rule)', () => {
  const p = ownershipFor('flannel.1');
  assert.not.ok(p.inheritsRoute(route('198.18.9.0/24', '198.18.9.0', 'flannel.1', true, 3), new Set()));
  const d = vx();
  assert.ok(nodeAddresses(d).has('192.0.2.11') && nodeAddresses(d).has('192.0.2.10'));
});

test.run();
