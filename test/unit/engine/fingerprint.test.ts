import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plan } from '../../../src/backends/index.js';
import { hostScope } from '../../../src/engine/cycle.js';
import { canonical, hostFingerprint, sourceFingerprint } from '../../../src/engine/fingerprint.js';
import type { ActualState, DesiredState } from '../../../src/model/types.js';
import { actualFrom, cluster, hostLink, ip, mac, node, pfx, route, underlay } from '../support/build.js';

const me = node(0);
const CL = cluster([me, node(1), node(2)], me);
const desired = (): DesiredState => plan({ cluster: CL, underlay: underlay() });

/** The kernel as the plan wants it, plus routes another program owns. */
function kernel(): ActualState {
  const a = actualFrom(desired().entries);
  a.routes.push(route('0.0.0.0/0', '192.0.2.1', 'eth0', false, 3));
  a.links.set('eth0', hostLink({ name: 'eth0', index: 2, addrs: [pfx('192.0.2.10/24')] }));
  return a;
}

function hostFp(a: ActualState, cl = CL): string {
  return hostFingerprint(a, hostScope({ cluster: cl, desired: plan({ cluster: cl, underlay: underlay() }) }));
}

function reversed(a: ActualState): ActualState {
  return { ...a, links: new Map([...a.links].reverse()), routes: [...a.routes].reverse(), neighbors: [...a.neighbors].reverse(), fdb: [...a.fdb].reverse() };
}

test('canonical: key order and list order do not matter; values and rule order do', () => {
  const rows: Array<[unknown, unknown, boolean]> = [
    [{ a: 1, b: 2 }, { b: 2, a: 1 }, true],
    [[1, 2, 3], [3, 1, 2], true],
    [{ x: ip('192.0.2.1') }, { x: '192.0.2.1' }, true],
    [new Map([['a', 1], ['b', 2]]), new Map([['b', 2], ['a', 1]]), true],
    [{ a: 1 }, { a: 2 }, false],
    [{ a: undefined, b: 1 }, { b: 1 }, true],
    [{ rules: [{ chain: 'A', spec: '1' }, { chain: 'A', spec: '2' }] }, { rules: [{ chain: 'A', spec: '2' }, { chain: 'A', spec: '1' }] }, false],
  ];
  for (const [a, b, same] of rows) assert.is(canonical(a) === canonical(b), same, `${canonical(a)} vs ${canonical(b)}`);
});

test('sourceFingerprint: the same nodes in another order, with another expiry or origin, are the same state', () => {
  const base = sourceFingerprint(CL);
  const rows: Array<[string, typeof CL, boolean]> = [
    ['reordered', { ...CL, nodes: [node(2), me, node(1)] }, true],
    ['lease renewed', { ...CL, nodes: [me, node(1, { expiresAt: new Date(1e12) }), node(2)] }, true],
    ['other origin', { ...CL, nodes: [me, node(1, { origin: 'nodes[7]' }), node(2)] }, true],
    ['a peer moved', { ...CL, nodes: [me, node(1, { publicIP: ip('192.0.2.99') }), node(2)] }, false],
    ['a peer renumbered', { ...CL, nodes: [me, node(1, { subnet: pfx('198.18.9.0/24') }), node(2)] }, false],
    ['a new VTEP MAC', { ...CL, nodes: [me, node(1, { vtepMAC: mac('0e:00:00:00:00:99') }), node(2)] }, false],
    ['a peer gone', { ...CL, nodes: [me, node(1)] }, false],
    ['another VNI', { ...CL, config: { ...CL.config, backend: { type: 'vxlan', vni: 2, port: 8472, directRouting: false } } }, false],
  ];
  for (const [name, c, same] of rows) assert.is(sourceFingerprint(c) === base, same, name);
});

test('hostFingerprint: the kernel dumped in another order is the same state; a moved entry of ovlnet is not', () => {
  const base = hostFp(kernel());
  assert.match(base, /^sha256:[0-9a-f]{64}$/);
  const rows: Array<[string, (a: ActualState) => ActualState, boolean]> = [
    ['same read again', (a) => a, true],
    ['dumped in reverse order', reversed, true],
    ['a foreign route elsewhere', (a) => ({ ...a, routes: [...a.routes, route('203.0.113.0/24', '192.0.2.1', 'eth0', false, 3)] }), true],
    ['the underlay device changes MTU', (a) => ({ ...a, links: new Map([...a.links].map(([k, l]) => [k, k === 'eth0' ? { ...l, mtu: 9000 } : l])) }), true],
    ['a peer route moved', (a) => ({ ...a, routes: a.routes.map((r) => (r.dst.text === '198.18.1.0/24' ? { ...r, via: ip('198.18.1.1') } : r)) }), false],
    ['a peer route gone', (a) => ({ ...a, routes: a.routes.filter((r) => r.dst.text !== '198.18.1.0/24') }), false],
    ['a foreign route on a planned destination', (a) => ({ ...a, routes: [...a.routes.filter((r) => r.dst.text !== '198.18.2.0/24'), route('198.18.2.0/24', '192.0.2.1', 'eth0', false, 3)] }), false],
    ['a foreign route in the pod network', (a) => ({ ...a, routes: [...a.routes, route('198.18.50.0/24', '192.0.2.1', 'eth0', false, 3)] }), false],
    ['a stale ovlnet route', (a) => ({ ...a, routes: [...a.routes, route('198.18.7.0/24', '198.18.7.0', 'flannel.1', true)] }), false],
    ['a neighbour with another MAC', (a) => ({ ...a, neighbors: a.neighbors.map((n, i) => (i === 0 ? { ...n, mac: mac('0e:00:00:00:00:77') } : n)) }), false],
    ['an fdb entry gone', (a) => ({ ...a, fdb: a.fdb.slice(1) }), false],
    ['the vxlan device recreated', (a) => ({ ...a, links: new Map([...a.links].map(([k, l]) => [k, k === 'flannel.1' ? { ...l, index: l.index + 40 } : l])) }), false],
  ];
  for (const [name, change, same] of rows) assert.is(hostFp(change(kernel())) === base, same, name);
});

test('hostFingerprint: the same host seen from a source whose nodes moved is the same host (the refusal then names the source only)', () => {
  const moved = { ...CL, nodes: [me, node(1), node(2, { subnet: pfx('198.18.9.0/24'), publicIP: ip('192.0.2.99') })] };
  assert.is(hostFp(kernel(), moved), hostFp(kernel()));
  // A foreign route where the moved node's subnet now is: in the way only of the new plan, but the same host.
  const withForeign = (): ActualState => ({ ...kernel(), routes: [...kernel().routes, route('198.18.9.0/24', '192.0.2.1', 'eth0', false, 3)] });
  assert.is(hostFp(withForeign(), moved), hostFp(withForeign()));
  assert.is.not(sourceFingerprint(moved), sourceFingerprint(CL));
});

test.run();
