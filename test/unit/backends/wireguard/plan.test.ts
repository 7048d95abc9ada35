import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planWireguard, WG_OVERHEAD, WG_OVERHEAD_V6, wireguardAttrs, wireguardDevices } from '../../../../src/backends/wireguard/plan.js';
import { generatePrivateKey, publicKeyOf } from '../../../../src/backends/wireguard/keys.js';
import { Secret } from '../../../../src/backends/wireguard/keys.js';
import { backendOf } from '../../../../src/backends/registry.js';
import { ConfigError } from '../../../../src/errors.js';
import { OVLNET_ROUTE_PROTO } from '../../../../src/model/keys.js';
import type { Node, WgPeerEntry, WireguardConfig } from '../../../../src/model/types.js';
import type { ValidatedCluster } from '../../../../src/validate/index.js';
import { ip, node, pfx, underlay } from '../../support/build.js';

const KEYS = [0, 1, 2, 3].map(() => publicKeyOf(generatePrivateKey()));
const WG: WireguardConfig = { type: 'wireguard', listenPort: 51820, listenPortV6: 51821, keepalive: 0, mode: 'separate' };
const wgNode = (i: number, over: Partial<Node> = {}) => node(i, { backendData: { PublicKey: KEYS[i], Port: 51820 }, ...over });

function wgCluster(nodes: Node[], local: Node, backend: WireguardConfig = WG, ipv6 = false): ValidatedCluster {
  return {
    config: { network: pfx('198.18.0.0/16'), subnetLen: 24, backend, ...(ipv6 ? { ipv6: { network: pfx('2001:db8:100::/56'), subnetLen: 64 } } : {}) },
    nodes, problems: [], local,
  };
}

/** A dual-stack node: IPv6 half 2001:db8::<10+i>, subnet 2001:db8:100:<i>::/64. */
function dual(i: number, data6: unknown = { PublicKey: KEYS[i], Port: 51821 }): Node {
  return wgNode(i, { v6: { publicIP: ip(`2001:db8::${10 + i}`), subnet: pfx(`2001:db8:100:${i}::/64`), vtepMAC: node(i).vtepMAC, backendData: data6 } });
}

test('wireguard: flannel-wg, MTU underlay - 60, own .0/32, peers with their subnet and publicIP:port, one link-scope route for the network', () => {
  const [n0, n1, n2] = [wgNode(0), wgNode(1), wgNode(2)];
  const d = planWireguard({ cluster: wgCluster([n0, n1, n2], n0), underlay: underlay() });
  assert.is(d.backend, 'wireguard');
  assert.is(d.device, 'flannel-wg');
  assert.is(d.device6, undefined);
  assert.equal(d.problems, []);
  assert.equal(d.peers, [{ node: n1, via: 'wireguard' }, { node: n2, via: 'wireguard' }]);
  assert.equal(d.entries, [
    { kind: 'wg-device', name: 'flannel-wg', mtu: 1440, listenPort: 51820, publicKey: KEYS[0], up: true },
    { kind: 'addr', dev: 'flannel-wg', addr: pfx('198.18.0.0/32') },
    { kind: 'wg-peer', dev: 'flannel-wg', publicKey: KEYS[1], endpoint: '192.0.2.11:51820', allowedIPs: [pfx('198.18.1.0/24')], keepalive: 0 },
    { kind: 'wg-peer', dev: 'flannel-wg', publicKey: KEYS[2], endpoint: '192.0.2.12:51820', allowedIPs: [pfx('198.18.2.0/24')], keepalive: 0 },
    { kind: 'route', dst: pfx('198.18.0.0/16'), dev: 'flannel-wg', onlink: false, proto: OVLNET_ROUTE_PROTO },
  ]);
});

test('wireguard: MTU = (Backend.MTU, flannel\'s underlay MTU, or the underlay\'s) - 60 over IPv4, - 80 over IPv6; too small is a config error', () => {
  assert.is(WG_OVERHEAD, 60);
  assert.is(WG_OVERHEAD_V6, 80);
  const rows: Array<[Partial<WireguardConfig>, number, boolean, Record<string, number>]> = [
    // backend, underlay MTU, dual stack, device -> MTU
    [{}, 1500, false, { 'flannel-wg': 1440 }],
    [{}, 9000, false, { 'flannel-wg': 8940 }],
    [{ mtu: 1400 }, 9000, false, { 'flannel-wg': 1340 }],
    [{}, 1500, true, { 'flannel-wg': 1440, 'flannel-wg-v6': 1420 }],
    [{ mode: 'ipv4' }, 1500, true, { 'flannel-wg': 1440 }],
    [{ mode: 'ipv6' }, 1500, true, { 'flannel-wg': 1420 }],
    [{ mode: 'auto' }, 1500, true, { 'flannel-wg': 1420 }],
    [{ mode: 'auto' }, 1500, false, { 'flannel-wg': 1440 }],
  ];
  for (const [over, umtu, ds, want] of rows) {
    const n0 = ds ? dual(0) : wgNode(0);
    const d = planWireguard({ cluster: wgCluster([n0], n0, { ...WG, ...over }, ds), underlay: underlay({ mtu: umtu }) });
    const got = Object.fromEntries(d.entries.flatMap((e) => (e.kind === 'wg-device' ? [[e.name, e.mtu]] : [])));
    assert.equal(got, want, JSON.stringify([over, umtu, ds]));
  }
  assert.throws(() => planWireguard({ cluster: wgCluster([wgNode(0)], wgNode(0)), underlay: underlay({ mtu: 127 }) }),
    (e: unknown) => e instanceof ConfigError && /^wireguard MTU 67 \(underlay eth0 MTU 127 - 60\) is below 68$/.test((e as Error).message));
});

test('wireguard: a peer without a valid public key is left out with a problem naming it; the rest are planned', () => {
  const n0 = wgNode(0);
  const rows: Array<[string, unknown]> = [['no data', undefined], ['null', null], ['no key', { Port: 51820 }], ['bad key', { PublicKey: 'not-a-key' }], ['number', { PublicKey: 42 }]];
  for (const [what, data] of rows) {
    const bad = node(1, data === undefined ? {} : { backendData: data });
    const ok = wgNode(2);
    const d = planWireguard({ cluster: wgCluster([n0, bad, ok], n0), underlay: underlay() });
    assert.equal(d.peers.map((p) => p.node.name), ['node-2'], what);
    assert.equal(d.entries.filter((e) => e.kind === 'wg-peer').map((e) => (e as WgPeerEntry).publicKey), [KEYS[2]], what);
    assert.equal(d.problems.map((p) => p.subject), ['node node-1 (nodes[1])'], what);
    assert.match(d.problems[0].message, /no valid WireGuard public key in its BackendData: left out/);
  }
});

test('wireguard: endpoint port is the one the peer publishes, else this device\'s (older flannel published none); keepalive and PSK go on every peer', () => {
  const n0 = wgNode(0);
  const psk = Secret.parse(publicKeyOf(generatePrivateKey()))!;
  const n1 = node(1, { backendData: { PublicKey: KEYS[1], Port: 40000 } });
  const n2 = node(2, { backendData: { PublicKey: KEYS[2] } });
  const d = planWireguard({ cluster: wgCluster([n0, n1, n2], n0, { ...WG, listenPort: 51000, keepalive: 25, psk }), underlay: underlay() });
  const peers = d.entries.filter((e): e is WgPeerEntry => e.kind === 'wg-peer');
  assert.equal(peers.map((p) => [p.endpoint, p.keepalive, p.psk === psk]), [['192.0.2.11:40000', 25, true], ['192.0.2.12:51000', 25, true]]);
  assert.equal((d.entries[0] as { listenPort: number }).listenPort, 51000);
});

test('wireguard: Mode separate in dual stack: flannel-wg-v6 with ListenPortV6, /128 address, IPv6 peers by BackendV6Data, its own route', () => {
  const [n0, n1] = [dual(0), dual(1)];
  const n2 = wgNode(2); // no IPv6 half: reached over IPv4 only
  const d = planWireguard({ cluster: wgCluster([n0, n1, n2], n0, WG, true), underlay: underlay() });
  assert.is(d.device, 'flannel-wg');
  assert.is(d.device6, 'flannel-wg-v6');
  const v6 = d.entries.filter((e) => ('dev' in e && e.dev === 'flannel-wg-v6') || ('name' in e && e.name === 'flannel-wg-v6'));
  assert.equal(v6, [
    { kind: 'wg-device', name: 'flannel-wg-v6', mtu: 1420, listenPort: 51821, publicKey: KEYS[0], up: true },
    { kind: 'addr', dev: 'flannel-wg-v6', addr: pfx('2001:db8:100::/128') },
    { kind: 'wg-peer', dev: 'flannel-wg-v6', publicKey: KEYS[1], endpoint: '[2001:db8::11]:51821', allowedIPs: [pfx('2001:db8:100:1::/64')], keepalive: 0 },
    { kind: 'route', dst: pfx('2001:db8:100::/56'), dev: 'flannel-wg-v6', onlink: false, proto: OVLNET_ROUTE_PROTO },
  ]);
  assert.equal(d.entries.filter((e) => e.kind === 'wg-peer' && e.dev === 'flannel-wg').length, 2);
});

test('wireguard: single-device modes carry both subnets on flannel-wg; the endpoint family by Mode (auto: IPv4 unless only IPv6 is public)', () => {
  const rows: Array<[WireguardConfig['mode'], string, string]> = [
    ['ipv4', '192.0.2.11:51820', '198.18.1.0/24,2001:db8:100:1::/64'],
    ['ipv6', '[2001:db8::11]:51821', '198.18.1.0/24,2001:db8:100:1::/64'],
    ['auto', '192.0.2.11:51820', '198.18.1.0/24,2001:db8:100:1::/64'],
  ];
  for (const [mode, endpoint, allowed] of rows) {
    const [n0, n1] = [dual(0), dual(1)];
    const d = planWireguard({ cluster: wgCluster([n0, n1], n0, { ...WG, mode }, true), underlay: underlay() });
    assert.is(d.device6, undefined, mode);
    const peers = d.entries.filter((e): e is WgPeerEntry => e.kind === 'wg-peer');
    assert.equal(peers.map((p) => [p.dev, p.endpoint, p.allowedIPs.map((a) => a.text).join(',')]), [['flannel-wg', endpoint, allowed]], mode);
    assert.equal(d.entries.filter((e) => e.kind === 'route').map((e) => (e as { dst: { text: string } }).dst.text), ['198.18.0.0/16', '2001:db8:100::/56'], mode);
    assert.equal(d.entries.filter((e) => e.kind === 'addr').map((e) => (e as { addr: { text: string } }).addr.text), ['198.18.0.0/32', '2001:db8:100::/128'], mode);
  }
  // auto with a private IPv4 public address and public IPv6 on both sides: IPv6.
  const priv = (i: number) => ({ ...dual(i), publicIP: ip(`10.0.0.${10 + i}`) });
  const p0 = priv(0);
  const d = planWireguard({ cluster: wgCluster([p0, priv(1)], p0, { ...WG, mode: 'auto' }, true), underlay: underlay() });
  assert.is((d.entries.find((e) => e.kind === 'wg-peer') as WgPeerEntry).endpoint, '[2001:db8::11]:51821');
});

test('wireguard: devices by Mode and families; BackendData attrs read leniently', () => {
  const cfg = (mode: WireguardConfig['mode'], family: 4 | 6, ipv6: boolean) => ({ network: { family }, ...(ipv6 ? { ipv6: {} } : {}), backend: { ...WG, mode } });
  assert.equal(wireguardDevices(cfg('separate', 4, false)), ['flannel-wg']);
  assert.equal(wireguardDevices(cfg('separate', 4, true)), ['flannel-wg', 'flannel-wg-v6']);
  assert.equal(wireguardDevices(cfg('separate', 6, false)), ['flannel-wg-v6']);
  assert.equal(wireguardDevices(cfg('auto', 4, true)), ['flannel-wg']);
  assert.equal(wireguardAttrs({ PublicKey: KEYS[0], Port: 70000 }), { publicKey: KEYS[0] });
  assert.equal(wireguardAttrs('x'), {});
  assert.is(backendOf('wireguard').needsVtepMAC, false);
});

test.run();
