// The offload feature and masquerade rules inside the main diff.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planMasq } from '../../src/backends/masq.js';
import { parseIP, parsePrefix } from '../../src/model/ip.js';
import { parseMAC } from '../../src/model/mac.js';
import type { ActualState, DesiredState, Entry, LinkEntry, OffloadEntry } from '../../src/model/types.js';
import { diff } from '../../src/reconcile/diff.js';
import { orderChanges } from '../../src/reconcile/order.js';
import { ownershipFor } from '../../src/reconcile/ownership.js';

const mac = parseMAC('0e:00:00:00:00:0a')!;
const link: LinkEntry = { kind: 'link', name: 'flannel.1', vni: 1, local: parseIP('192.0.2.10')!, underlay: 'eth0', port: 8472, learning: false, mtu: 1450, mac, up: true };
const offload = (enabled: boolean): OffloadEntry => ({ kind: 'offload', dev: 'flannel.1', feature: 'tx-checksum-ip-generic', enabled });
const masq = planMasq(parsePrefix('10.244.0.0/16')!, parsePrefix('10.244.1.0/24')!);

function desired(entries: Entry[]): DesiredState {
  const local = { name: 'a', publicIP: link.local, subnet: parsePrefix('10.244.1.0/24')!, vtepMAC: mac, origin: 'a' };
  return { backend: 'vxlan', device: 'flannel.1', underlay: { dev: 'eth0', mtu: 1500, found: true }, local, peers: [], entries: [link, ...entries], problems: [] };
}

function actual(withDevice: boolean, extra: Partial<ActualState> = {}): ActualState {
  const links = new Map();
  if (withDevice) {
    links.set('flannel.1', { name: 'flannel.1', index: 5, mtu: 1450, mac, up: true, kind: 'vxlan', vxlan: { id: 1, local: link.local, link: 'eth0', port: 8472, learning: false }, addrs: [] });
  }
  return { links, routes: [], neighbors: [], fdb: [], ...extra };
}

const run = (d: DesiredState, a: ActualState) => orderChanges(diff(d, a, ownershipFor('flannel.1')).changes).map((c) => `${c.action} ${c.key}${c.detail ? ` (${c.detail})` : ''}`);

const cases: Array<[name: string, d: DesiredState, a: ActualState, expect: string[]]> = [
  ['feature already off: in sync', desired([offload(false)]), actual(true, { offload: [offload(false)] }), []],
  ['feature on: changed', desired([offload(false)]), actual(true, { offload: [offload(true)] }),
    ['change offload:flannel.1/tx-checksum-ip-generic (tx-checksum-ip-generic on -> off)']],
  ['new device: set after it is created', desired([offload(false)]), actual(false),
    ['add link:flannel.1', 'add offload:flannel.1/tx-checksum-ip-generic']],
  ['not pinned: a read feature is never "deleted"', desired([]), actual(true, { offload: [offload(true)] }), []],
  ['masquerade planned, nat empty: all added, after the kernel entries', desired([...masq]), actual(true, { netfilter: { '4/nat': { chains: [], rules: [] } } }),
    masq.map((e) => `add nat:${e.chain}/${e.spec}`)],
  ['masquerade not planned: the nat table is left alone', desired([]), actual(true, { netfilter: { '4/nat': { chains: ['FLANNEL-POSTRTG'], rules: [{ chain: 'FLANNEL-POSTRTG', spec: '-j RETURN' }] } } }), []],
];
for (const [name, d, a, expect] of cases) test(name, () => assert.equal(run(d, a), expect));

test.run();
