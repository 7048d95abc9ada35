import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plan, resolveUnderlay } from '../../../src/backends/index.js';
import { planHostGw } from '../../../src/backends/host-gw/plan.js';
import { OFFLINE_UNDERLAY, overwriteLocalAddress } from '../../../src/backends/underlay.js';
import { planVxlan, VXLAN_OVERHEAD, vxlanDeviceMTU } from '../../../src/backends/vxlan/plan.js';
import { ConfigError, NodeError, UsageError } from '../../../src/errors.js';
import { OVLNET_ROUTE_PROTO } from '../../../src/model/keys.js';
import type { BackendConfig, HostLink } from '../../../src/model/types.js';
import { cluster, HOSTGW, hostLink, ip, mac, node, pfx, throwsLike, underlay, VXLAN } from '../support/build.js';

const N0 = node(0);
const N1 = node(1);
const N2 = node(2);

test('vxlan: exactly what flannel programs, link, addr, accept_ra off, then neighbors, fdb, routes', () => {
  const d = planVxlan({ cluster: cluster([N0, N1, N2], N0), underlay: underlay() });
  assert.is(d.backend, 'vxlan');
  assert.is(d.device, 'flannel.1');
  assert.equal(d.underlay, { dev: 'eth0', mtu: 1500, found: true });
  assert.is(d.local, N0);
  assert.equal(d.problems, []);
  assert.equal(d.peers, [{ node: N1, via: 'vxlan' }, { node: N2, via: 'vxlan' }]);
  assert.equal(d.entries, [
    { kind: 'link', name: 'flannel.1', vni: 1, local: ip('192.0.2.10'), underlay: 'eth0', port: 8472, learning: false, mtu: 1450, mac: mac('0e:00:00:00:00:00'), up: true },
    { kind: 'addr', dev: 'flannel.1', addr: pfx('198.18.0.0/32') },
    // flannel's fix for router advertisements over the overlay (issue 15.7).
    { kind: 'sysctl', dev: 'flannel.1', name: 'accept_ra', value: 0 },
    { kind: 'neigh', dev: 'flannel.1', ip: ip('198.18.1.0'), mac: mac('0e:00:00:00:00:01') },
    { kind: 'neigh', dev: 'flannel.1', ip: ip('198.18.2.0'), mac: mac('0e:00:00:00:00:02') },
    { kind: 'fdb', dev: 'flannel.1', mac: mac('0e:00:00:00:00:01'), dst: ip('192.0.2.11') },
    { kind: 'fdb', dev: 'flannel.1', mac: mac('0e:00:00:00:00:02'), dst: ip('192.0.2.12') },
    { kind: 'route', dst: pfx('198.18.1.0/24'), via: ip('198.18.1.0'), dev: 'flannel.1', onlink: true, proto: OVLNET_ROUTE_PROTO },
    { kind: 'route', dst: pfx('198.18.2.0/24'), via: ip('198.18.2.0'), dev: 'flannel.1', onlink: true, proto: OVLNET_ROUTE_PROTO },
  ]);
  assert.is(OVLNET_ROUTE_PROTO, 244);
});

test('vxlan: device name flannel.<VNI>, port, and MTU = (Backend.MTU, flannel\'s underlay MTU, or the underlay\'s) - 50, capped as the kernel caps it', () => {
  assert.is(VXLAN_OVERHEAD, 50);
  const rows: Array<[BackendConfig, number, string, number, number]> = [
    // backend, underlay MTU, device, port, device MTU
    [VXLAN, 1500, 'flannel.1', 8472, 1450],
    [VXLAN, 9000, 'flannel.1', 8472, 8950],
    [VXLAN, 118, 'flannel.1', 8472, 68],
    [{ type: 'vxlan', vni: 4096, port: 4789, directRouting: false }, 1500, 'flannel.4096', 4789, 1450],
    // Backend.MTU is the underlay MTU, as in flannel (issue 15.5): a path MTU below the NIC's.
    [{ type: 'vxlan', vni: 7, port: 8472, mtu: 1400, directRouting: false }, 9000, 'flannel.7', 8472, 1350],
    [{ type: 'vxlan', vni: 1, port: 8472, mtu: 1500, directRouting: false }, 1500, 'flannel.1', 8472, 1450],
  ];
  for (const [backend, umtu, dev, port, mtu] of rows) {
    const d = planVxlan({ cluster: cluster([N0, N1], N0, backend), underlay: underlay({ mtu: umtu }) });
    const link = d.entries[0];
    assert.is(d.device, dev);
    assert.equal(link.kind === 'link' && [link.name, link.port, link.mtu], [dev, port, mtu], JSON.stringify(backend));
    for (const e of d.entries.slice(1)) assert.is((e as { dev: string }).dev, dev);
  }
});

test('vxlan: an underlay MTU too small for the overhead is a config error, not a bad device', () => {
  throwsLike(() => planVxlan({ cluster: cluster([N0], N0), underlay: underlay({ mtu: 117 }) }), ConfigError,
    /^vxlan MTU 67 \(underlay eth0 MTU 117 - 50\) is below 68$/);
  throwsLike(() => planVxlan({ cluster: cluster([N0], N0, { type: 'vxlan', vni: 1, port: 8472, mtu: 100, directRouting: false }), underlay: underlay() }), ConfigError,
    /^vxlan MTU 50 \(Backend\.MTU 100 - 50\) is below 68$/);
});

test('vxlan: Backend.MTU warnings: larger than the underlay, or equal to underlay - 50 (a device MTU by its look); none offline or otherwise', () => {
  const rows: Array<[number | undefined, number, boolean, RegExp | undefined]> = [
    [undefined, 1500, true, undefined],
    [1500, 1500, true, undefined],
    [1400, 1500, true, undefined],
    [1450, 1500, true, /^Backend\.MTU: 1450 is the underlay MTU, as in flannel: the vxlan device gets 1400\. If 1450 was meant as the device's MTU, set 1500 \(or leave MTU unset\)$/],
    [8950, 9000, true, /1450|8950 is the underlay MTU.*gets 8900.*set 9000/],
    [1450, 1500, false, undefined],
  ];
  for (const [mtu, umtu, found, want] of rows) {
    const d = planVxlan({ cluster: cluster([N0], N0, { type: 'vxlan', vni: 1, port: 8472, mtu, directRouting: false }), underlay: underlay({ mtu: umtu, found }) });
    const msgs = d.problems.filter((p) => p.subject === 'Backend.MTU').map((p) => `${p.subject}: ${p.message}`);
    if (want) {
      assert.is(msgs.length, 1, `${mtu}/${umtu}: ${msgs.join('; ')}`);
      assert.match(msgs[0], want);
    } else assert.equal(msgs, [], `${mtu}/${umtu}/${found}`);
  }
});

test('vxlanDeviceMTU: IPv6 devices are capped at underlay - 70 by the kernel, whatever Backend.MTU asks', () => {
  const u = (mtu: number, found = true) => ({ dev: 'eth0', mtu, found });
  const rows: Array<[number | undefined, number, boolean, number, number]> = [
    // Backend.MTU, underlay MTU, found, IPv4 device, IPv6 device
    [undefined, 1500, true, 1450, 1430],
    [1500, 1500, true, 1450, 1430],
    [1400, 1500, true, 1350, 1350],
    [1500, 9000, true, 1450, 1450],
    [9000, 1500, true, 1450, 1430],
    // Planned away from the node: the configured value, the assumed underlay says nothing.
    [9000, 1500, false, 8950, 8950],
    [undefined, 1500, false, 1450, 1430],
  ];
  for (const [mtu, umtu, found, v4, v6] of rows) {
    assert.equal([vxlanDeviceMTU(mtu, u(umtu, found), false).mtu, vxlanDeviceMTU(mtu, u(umtu, found), true).mtu], [v4, v6], `${mtu}/${umtu}/${found}`);
  }
});

// Backend.MTU (the underlay MTU, as in flannel) larger than the underlay: the
// kernel refuses the device MTU (EINVAL) on every cycle, so fail at once,
// naming the field and the limit.
const tooLarge: Array<[number, number, boolean, RegExp | number]> = [
  // Backend.MTU, underlay MTU, underlay found, error or device MTU
  [9000, 1500, true, /^Backend\.MTU 9000 is larger than underlay eth0 MTU 1500: flannel\.1 would need 8950, the underlay allows 1450$/],
  [1501, 1500, true, /allows 1450/],
  [1500, 1500, true, 1450],
  [9000, 9000, true, 8950],
  // No host read (plan without a host): nothing known to check against.
  [9000, 1500, false, 8950],
];
for (const [want, umtu, found, expect] of tooLarge) {
  test(`vxlan: backend.mtu ${want} on an underlay of ${umtu}${found ? '' : ' (not read)'}`, () => {
    const backend: BackendConfig = { type: 'vxlan', vni: 1, port: 8472, mtu: want, directRouting: false };
    const run = () => planVxlan({ cluster: cluster([N0, N1], N0, backend), underlay: underlay({ mtu: umtu, found }) });
    if (typeof expect === 'number') {
      const link = run().entries[0];
      assert.is(link.kind === 'link' && link.mtu, expect);
    } else {
      throwsLike(run, ConfigError, expect);
    }
  });
}

test("vxlan: the address is the own subnet's network address /32, whatever the subnet size", () => {
  const rows: Array<[string, string]> = [['198.18.0.0/24', '198.18.0.0/32'], ['198.18.0.128/25', '198.18.0.128/32'], ['198.18.4.0/22', '198.18.4.0/32']];
  for (const [subnet, addr] of rows) {
    const me = node(0, { subnet: pfx(subnet) });
    const d = planVxlan({ cluster: cluster([me, N1], me), underlay: underlay() });
    const a = d.entries.find((e) => e.kind === 'addr');
    assert.is(a?.kind === 'addr' && a.addr.text, addr);
  }
});

test('vxlan and host-gw: never a route (nor neighbor/fdb) for the own subnet; alone, no peer entries', () => {
  for (const backend of [VXLAN, HOSTGW]) {
    const d = plan({ cluster: cluster([N2, N0, N1], N0, backend), underlay: underlay() });
    const routes = d.entries.filter((e) => e.kind === 'route');
    assert.is(routes.length, 2);
    for (const r of routes) assert.is.not(r.kind === 'route' && r.dst.text, '198.18.0.0/24');
    assert.not.ok(d.peers.some((p) => p.node === N0));
    const alone = plan({ cluster: cluster([N0], N0, backend), underlay: underlay() });
    assert.equal(alone.entries.map((e) => e.kind), backend.type === 'vxlan' ? ['link', 'addr', 'sysctl'] : []);
    assert.equal(alone.peers, []);
  }
});

test('vxlan DirectRouting: on-link peers get a direct route via their public IP, the others go through vxlan', () => {
  const far = node(3, { publicIP: ip('203.0.113.13') });
  const backend: BackendConfig = { type: 'vxlan', vni: 1, port: 8472, directRouting: true };
  const d = planVxlan({ cluster: cluster([N0, N1, far], N0, backend), underlay: underlay() });
  assert.equal(d.peers.map((p) => [p.node.name, p.via]), [['node-1', 'direct'], ['node-3', 'vxlan']]);
  assert.equal(d.entries.slice(3), [
    { kind: 'neigh', dev: 'flannel.1', ip: ip('198.18.3.0'), mac: mac('0e:00:00:00:00:03') },
    { kind: 'fdb', dev: 'flannel.1', mac: mac('0e:00:00:00:00:03'), dst: ip('203.0.113.13') },
    { kind: 'route', dst: pfx('198.18.1.0/24'), via: ip('192.0.2.11'), dev: 'eth0', onlink: false, proto: 244 },
    { kind: 'route', dst: pfx('198.18.3.0/24'), via: ip('198.18.3.0'), dev: 'flannel.1', onlink: true, proto: 244 },
  ]);
  // Without DirectRouting the same on-link peer goes through vxlan.
  const plain = planVxlan({ cluster: cluster([N0, N1, far], N0), underlay: underlay() });
  assert.ok(plain.peers.every((p) => p.via === 'vxlan'));
});

test('host-gw: one route per peer via its public IP on the underlay; no device', () => {
  const d = planHostGw({ cluster: cluster([N0, N1, N2], N0, HOSTGW), underlay: underlay({ dev: 'enp1s0', mtu: 9000 }) });
  assert.is(d.backend, 'host-gw');
  assert.is(d.device, undefined);
  assert.equal(d.underlay, { dev: 'enp1s0', mtu: 9000, found: true });
  assert.equal(d.entries, [
    { kind: 'route', dst: pfx('198.18.1.0/24'), via: ip('192.0.2.11'), dev: 'enp1s0', onlink: false, proto: 244 },
    { kind: 'route', dst: pfx('198.18.2.0/24'), via: ip('192.0.2.12'), dev: 'enp1s0', onlink: false, proto: 244 },
  ]);
  assert.equal(d.peers.map((p) => p.via), ['direct', 'direct']);
  assert.equal(d.problems, []);
});

test('host-gw: an off-link peer is a problem for that peer, not a crash; the others are planned', () => {
  const far = node(3, { publicIP: ip('203.0.113.13') });
  const d = planHostGw({ cluster: cluster([N0, far, N1], N0, HOSTGW), underlay: underlay() });
  assert.equal(d.entries.map((e) => e.kind === 'route' && e.dst.text), ['198.18.1.0/24']);
  assert.equal(d.peers.map((p) => p.node.name), ['node-1']);
  assert.equal(d.problems, [{
    subject: 'node node-3',
    message: 'public IP 203.0.113.13 is not on-link from eth0; host-gw needs layer-2 adjacency (use vxlan, or vxlan with DirectRouting)',
  }]);
  // Offline plans (the local IP is not on this host) cannot know: on-link is assumed.
  const off = planHostGw({ cluster: cluster([N0, far], N0, HOSTGW), underlay: underlay({ found: false, connected: [] }) });
  assert.is(off.entries.length, 1);
  assert.equal(off.problems, []);
});

test('plan dispatches on the backend type', () => {
  assert.is(plan({ cluster: cluster([N0, N1], N0, VXLAN), underlay: underlay() }).backend, 'vxlan');
  assert.is(plan({ cluster: cluster([N0, N1], N0, HOSTGW), underlay: underlay() }).backend, 'host-gw');
  assert.throws(() => planVxlan({ cluster: cluster([N0], N0, HOSTGW), underlay: underlay() }), /planVxlan called for host-gw/);
});

// ---- underlay -------------------------------------------------------------------

const LINKS = new Map<string, HostLink>([
  ['lo', hostLink({ name: 'lo', mtu: 65536, addrs: [pfx('127.0.0.1/8')] })],
  ['eth0', hostLink({ name: 'eth0', mtu: 9000, addrs: [pfx('192.0.2.10/24'), pfx('192.0.2.200/25'), pfx('2001:db8::10/64')] })],
  ['eth1', hostLink({ name: 'eth1', mtu: 1500, addrs: [pfx('203.0.113.5/24')] })],
]);

test('underlay: the device holding the local public IP, its MTU and on-link networks (both families, for dual stack)', () => {
  assert.equal(resolveUnderlay(LINKS, ip('192.0.2.10'), undefined, false), {
    dev: 'eth0', mtu: 9000, connected: [pfx('192.0.2.0/24'), pfx('192.0.2.128/25'), pfx('2001:db8::/64')], found: true,
  });
  assert.equal(resolveUnderlay(LINKS, ip('203.0.113.5'), undefined, false), { dev: 'eth1', mtu: 1500, connected: [pfx('203.0.113.0/24')], found: true });
});

test('underlay: --iface overrides', () => {
  assert.equal(resolveUnderlay(LINKS, ip('192.0.2.10'), 'eth1', false), { dev: 'eth1', mtu: 1500, connected: [pfx('203.0.113.0/24')], found: true });
  const e = throwsLike(() => resolveUnderlay(LINKS, ip('192.0.2.10'), 'eth9', false), NodeError, /^--iface eth9: no such device on this host$/);
  assert.ok(e);
  assert.equal(resolveUnderlay(LINKS, ip('192.0.2.10'), 'eth9', true), { dev: 'eth9', mtu: 1500, connected: [], found: false });
});

test('underlay: a device name the renderer would refuse is a clear error here', () => {
  for (const iface of ['eth0 up', 'eth0\nlink del eth1', 'dev', 'a'.repeat(16)]) {
    throwsLike(() => resolveUnderlay(LINKS, ip('192.0.2.10'), iface, true), UsageError, /^--iface ".*": not a usable device name$/);
  }
  const odd = new Map<string, HostLink>([['br+lan', hostLink({ name: 'br+lan', addrs: [pfx('192.0.2.10/24')] })]]);
  throwsLike(() => resolveUnderlay(odd, ip('192.0.2.10'), undefined, false), NodeError, /^underlay device "br\+lan" has a name ovlnet does not use on command lines$/);
});

test('underlay: the public IP not on this host: an error, or the offline default for plan', () => {
  const e = throwsLike(() => resolveUnderlay(LINKS, ip('192.0.2.99'), undefined, false), NodeError,
    /^public IP 192\.0\.2\.99 of the local node is not an address of this host$/);
  assert.is((e as NodeError).hint, 'check --node/--public-ip and --netns, or name the underlay device with --iface');
  assert.equal(resolveUnderlay(LINKS, ip('192.0.2.99'), undefined, true), { dev: 'eth0', mtu: 1500, connected: [], found: false });
  assert.equal(OFFLINE_UNDERLAY, { dev: 'eth0', mtu: 1500 });
});

test('public-ip-overwrite: the vxlan device binds to the host address, peers still get the published one', () => {
  const local = ip('192.0.2.10');
  const d = planVxlan({ cluster: cluster([N0, N1], N0), underlay: underlay({ local: ip('192.0.2.99') }) });
  const link = d.entries.find((e) => e.kind === 'link') as { local: unknown };
  assert.equal(link.local, ip('192.0.2.99'));
  assert.equal(planVxlan({ cluster: cluster([N0, N1], N0), underlay: underlay() }).entries.find((e) => e.kind === 'link')!, { ...(link as object), local });
  const links = new Map([
    ['eth0', hostLink({ name: 'eth0', addrs: [pfx('192.0.2.10/24')] })],
    ['eth1', hostLink({ name: 'eth1', index: 2, addrs: [pfx('198.51.100.7/24')] })],
  ]);
  const dflt = [{ dst: pfx('0.0.0.0/0'), via: ip('198.51.100.1'), dev: 'eth1', onlink: false, proto: 3 }];
  const cases: Array<[string, string, string | undefined, string | undefined, string | undefined]> = [
    // [what, published, --iface, known (registration), expected]
    ['published address is on the host: nothing to substitute', '192.0.2.10', undefined, undefined, undefined],
    ['overwrite, --iface: that device\'s address', '203.0.113.40', 'eth0', undefined, '192.0.2.10'],
    ['overwrite, no --iface: the default route device\'s address', '203.0.113.40', undefined, undefined, '198.51.100.7'],
    ['overwrite, the registration knows the address: that one', '203.0.113.40', 'eth0', '198.51.100.7', '198.51.100.7'],
    ['registration address equals the published one', '192.0.2.10', undefined, '192.0.2.10', undefined],
  ];
  for (const [what, pub, iface, known, want] of cases) {
    assert.is(overwriteLocalAddress(links, dflt, ip(pub), iface, known ? ip(known) : undefined)?.text, want, what);
  }
  assert.is(overwriteLocalAddress(links, undefined, ip('203.0.113.40')), undefined, 'no default route known, no --iface');
});

test.run();
