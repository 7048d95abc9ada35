// DirectRouting's on-link test and the vxlan planner's use of it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { onLinkDevice } from '../../../../src/backends/vxlan/onlink.js';
import { planVxlan } from '../../../../src/backends/vxlan/plan.js';
import { parseIP, parsePrefix } from '../../../../src/model/ip.js';
import { parseMAC } from '../../../../src/model/mac.js';
import type { HostRoute, Node } from '../../../../src/model/types.js';
import type { ValidatedCluster } from '../../../../src/validate/index.js';

const route = (dst: string, extra: Partial<HostRoute> = {}): HostRoute => ({ dst: parsePrefix(dst)!, onlink: false, proto: 2, ...extra });
const ip = (s: string) => parseIP(s)!;

const table: HostRoute[] = [
  route('0.0.0.0/0', { via: ip('192.0.2.1'), dev: 'eth0', proto: 3 }),
  route('192.0.2.0/24', { dev: 'eth0' }),
  route('192.0.2.128/25', { via: ip('192.0.2.1'), dev: 'eth0', proto: 4 }),
  route('10.1.0.0/16', { dev: 'eth1', proto: 4 }),
  route('10.9.0.0/16', { dev: 'eth1', proto: 4, type: 'blackhole' }),
  route('10.7.0.0/16', { proto: 4 }), // multipath: no single device
  route('10.8.0.0/16', { dev: 'eth0', proto: 244 }),
  route('10.5.0.0/16', { dev: 'flannel.1', proto: 4 }),
];

const cases: Array<[peer: string, dev: string | undefined, why: string]> = [
  ['192.0.2.11', 'eth0', 'connected prefix'],
  ['192.0.2.200', undefined, 'a more specific route through a gateway wins'],
  ['198.51.100.10', undefined, 'only the default route: behind the router'],
  ['10.1.2.3', 'eth1', 'static on-link route on another interface'],
  ['10.9.0.1', undefined, 'blackhole'],
  ['10.7.0.1', undefined, 'multipath'],
  ['10.8.0.1', undefined, "ovlnet's own routes are skipped (falls to the default)"],
  ['10.5.0.1', undefined, 'routes on the vxlan device are skipped'],
];
for (const [peer, dev, why] of cases) {
  test(`on-link ${peer}: ${dev ?? 'no'} (${why})`, () => {
    assert.is(onLinkDevice(table, ip(peer), ['flannel.1']), dev);
  });
}

function node(name: string, publicIP: string, subnet: string, mac: string): Node {
  return { name, publicIP: ip(publicIP), subnet: parsePrefix(subnet)!, vtepMAC: parseMAC(mac)!, origin: name };
}

const nodes = [
  node('a', '192.0.2.10', '198.18.0.0/24', '0e:00:00:00:00:0a'),
  node('b', '192.0.2.11', '198.18.1.0/24', '0e:00:00:00:00:0b'),
  node('c', '198.51.100.10', '198.18.2.0/24', '0e:00:00:00:00:0c'),
];
const cluster = (directRouting: boolean): ValidatedCluster => ({
  config: { network: parsePrefix('198.18.0.0/16')!, subnetLen: 24, backend: { type: 'vxlan', vni: 1, port: 8472, directRouting } },
  nodes, problems: [], local: nodes[0],
});
const underlay = { dev: 'eth0', mtu: 1500, connected: [parsePrefix('192.0.2.0/24')!], found: true };

test('planner: DirectRouting routes same-segment peers directly, with no neighbour or fdb entry', () => {
  const d = planVxlan({ cluster: cluster(true), underlay, routes: table });
  assert.equal(d.peers.map((p) => `${p.node.name}:${p.via}`), ['b:direct', 'c:vxlan']);
  const routes = d.entries.filter((e) => e.kind === 'route').map((e) => e.kind === 'route' && `${e.dst.text} via ${e.via?.text} dev ${e.dev}${e.onlink ? ' onlink' : ''}`);
  assert.equal(routes, ['198.18.1.0/24 via 192.0.2.11 dev eth0', '198.18.2.0/24 via 198.18.2.0 dev flannel.1 onlink']);
  assert.equal(d.entries.filter((e) => e.kind === 'neigh' || e.kind === 'fdb').length, 2, 'only for c');
});

test('planner: without a routing table the connected prefixes decide', () => {
  const d = planVxlan({ cluster: cluster(true), underlay });
  assert.equal(d.peers.map((p) => p.via), ['direct', 'vxlan']);
});

test('planner: DirectRouting off sends every peer through vxlan', () => {
  const d = planVxlan({ cluster: cluster(false), underlay, routes: table });
  assert.equal(d.peers.map((p) => p.via), ['vxlan', 'vxlan']);
});

test('planner: planned away from the node, DirectRouting warns and uses vxlan', () => {
  const d = planVxlan({ cluster: cluster(true), underlay: { ...underlay, found: false }, routes: table });
  assert.equal(d.peers.map((p) => p.via), ['vxlan', 'vxlan']);
  assert.is(d.problems.length, 1);
});

test('planner: --disable-tx-offload adds the pinned feature on the device', () => {
  const d = planVxlan({ cluster: cluster(false), underlay, host: { disableTxOffload: true } });
  assert.equal(d.entries.filter((e) => e.kind === 'offload'), [{ kind: 'offload', dev: 'flannel.1', feature: 'tx-checksum-ip-generic', enabled: false }]);
  assert.is(planVxlan({ cluster: cluster(false), underlay }).entries.some((e) => e.kind === 'offload'), false);
});

test.run();
