// The one registration policy (sources/registration.ts) the etcd and the
// Kubernetes source share: public addresses, VTEP MACs, subnet.env.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makePrefix, parseIP, parsePrefix } from '../../../src/model/ip.js';
import type { HostLink, HostRoute, RawConfig } from '../../../src/model/types.js';
import { choosePublicIPv4, choosePublicIPv6, chooseVtepMAC, parseSubnetFile, registeredPublicKey, registrationLogFields, type HostView } from '../../../src/sources/registration.js';
import { LeaseKeeper, type KeeperSetup } from '../../../src/sources/etcd/lease.js';
import type { EtcdClient } from '../../../src/sources/etcd/client.js';
import { validateConfig } from '../../../src/validate/config.js';

function link(name: string, addrs: string[]): HostLink {
  return { name, index: 1, mtu: 1500, up: true, addrs: addrs.map((a) => { const [ip, len] = a.split('/'); return makePrefix(parseIP(ip)!, Number(len)); }) };
}
const route = (dst: string, dev: string, via?: string): HostRoute => ({ dst: parsePrefix(dst)!, dev, via: via ? parseIP(via) : undefined, onlink: false, proto: 3 });
const config = validateConfig({ origin: 'c', network: '198.18.0.0/16' } as RawConfig);
const host: HostView = {
  links: new Map([
    ['eth0', link('eth0', ['192.0.2.10/24', '192.0.2.99/24', '2001:db8:1::10/64', 'fe80::1/64'])],
    ['eth1', link('eth1', ['2001:db8::1/64', '198.51.100.7/24'])],
    ['eth2', link('eth2', [])],
    ['cni0', link('cni0', ['198.18.5.1/24'])],
  ]),
  routes: [route('198.51.100.0/24', 'eth1'), route('0.0.0.0/0', 'eth0', '192.0.2.1')],
};

test('choosePublicIPv4: --public-ip, else --iface, else the default route device, else the only candidate', () => {
  const cases: Array<[{ publicIP?: string; iface?: string }, HostView | undefined, string | RegExp]> = [
    [{ publicIP: '203.0.113.5' }, undefined, '203.0.113.5'],
    [{ publicIP: '2001:db8::5' }, undefined, /--public-ip 2001:db8::5: not an IPv4 address/],
    [{}, host, '192.0.2.10'],
    [{ iface: 'eth1' }, host, '198.51.100.7'],
    [{ iface: 'eth2' }, host, /--iface eth2 has no IPv4 address to publish/],
    [{ iface: 'nope' }, host, /--iface nope: no such device/],
    // No default route: one candidate is it (the CNI bridge's pod address never is).
    [{}, { links: new Map([['eth0', link('eth0', ['192.0.2.10/24'])], ['cni0', link('cni0', ['198.18.5.1/24'])]]), routes: [] }, '192.0.2.10'],
    [{}, { ...host, routes: [] }, /cannot tell this host's public IP \(candidates 192\.0\.2\.10, 192\.0\.2\.99, 198\.51\.100\.7/],
  ];
  for (const [opts, h, want] of cases) {
    if (typeof want === 'string') assert.is(choosePublicIPv4(opts, config, h).text, want, JSON.stringify(opts));
    else assert.throws(() => choosePublicIPv4(opts, config, h), want, JSON.stringify(opts));
  }
});

test('choosePublicIPv6: --public-ipv6, else a global address of --iface, the IPv6 default route device, or the IPv4 one', () => {
  const net6 = parsePrefix('2001:db8:100::/48')!;
  const v4 = parseIP('192.0.2.10')!;
  assert.is(choosePublicIPv6({ publicIPv6: '2001:db8:9::1' }, net6, undefined, v4).text, '2001:db8:9::1');
  assert.throws(() => choosePublicIPv6({ publicIPv6: '192.0.2.1' }, net6, undefined, v4), /not an IPv6 address/);
  assert.is(choosePublicIPv6({}, net6, host, v4).text, '2001:db8:1::10', 'beside the IPv4 public address, never link-local');
  assert.is(choosePublicIPv6({ iface: 'eth1' }, net6, host, v4).text, '2001:db8::1');
  assert.is(choosePublicIPv6({}, net6, { ...host, routes: [...host.routes, route('::/0', 'eth1')] }, v4).text, '2001:db8::1');
  assert.throws(() => choosePublicIPv6({ iface: 'eth2' }, net6, host, v4), /--iface eth2 has none/);
});

test('chooseVtepMAC: the published one, else the device\'s, else a random unicast one', () => {
  assert.is(chooseVtepMAC('0E:00:00:00:00:01', '0e:00:00:00:00:02').text, '0e:00:00:00:00:01');
  assert.is(chooseVtepMAC('01:00:5e:00:00:01', '0e:00:00:00:00:02').text, '0e:00:00:00:00:02', 'a multicast MAC is never published');
  assert.is(chooseVtepMAC(undefined, '0e:00:00:00:00:02').text, '0e:00:00:00:00:02');
  const r = chooseVtepMAC(null, 'nope').text;
  assert.match(r, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  assert.is(parseInt(r.slice(0, 2), 16) & 3, 2, 'locally administered unicast');
});

test('parseSubnetFile: both families', () => {
  const cases: Array<[string, string | undefined, string | undefined]> = [
    ['FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\n', '10.244.7.0/24', undefined],
    ['FLANNEL_SUBNET=10.244.7.1/24', '10.244.7.0/24', undefined],
    ['FLANNEL_NETWORK=10.244.0.0/16\n', undefined, undefined],
    ['FLANNEL_SUBNET=nonsense\n', undefined, undefined],
    ['FLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_IPV6_SUBNET=fd00:0:0:7::1/64\n', '10.244.7.0/24', 'fd00:0:0:7::/64'],
  ];
  for (const [text, v4, v6] of cases) {
    const got = parseSubnetFile(text);
    assert.is(got.subnet?.text, v4, text);
    assert.is(got.subnet6?.text, v6, text);
  }
});

// The daemon's "registered this node" line names the WireGuard public key
// this node publishes (operators compare it with `wg show`); a backend
// without one adds nothing. The etcd lease keeper and the Kubernetes source
// both put it in their Registration (the latter: test/e2e/kube-wireguard).
const KEY = 'dGhpcyBpcyBub3QgYSByZWFsIGtleSwgMzIgYnl0ZXM=';
const wgConfig = validateConfig({ origin: 'c', network: '198.18.0.0/16', backend: { type: 'wireguard' } } as RawConfig);
const keyCases: Array<[string, typeof config, { data?: Record<string, unknown> } | undefined, string | undefined]> = [
  ['wireguard: the key file\'s public key', wgConfig, { data: { PublicKey: KEY, Port: 51820 } }, KEY],
  ['wireguard, nothing read from the host', wgConfig, undefined, undefined],
  ['wireguard, data without a key', wgConfig, { data: { Port: 51820 } }, undefined],
  ['vxlan: no key', config, undefined, undefined],
  ['vxlan: a PublicKey field is not vxlan\'s', config, { data: { PublicKey: KEY } }, undefined],
];
for (const [what, c, local, want] of keyCases) {
  test(`the registration's public key: ${what}`, () => {
    assert.is(registeredPublicKey(c, local), want);
    const keeper = new LeaseKeeper({} as EtcdClient, { opts: {}, ttl: 60, config: c, range: {} as KeeperSetup['range'], publicIP: parseIP('192.0.2.10')!, local });
    assert.is(keeper.registration.publicKey, want, 'the etcd lease keeper\'s registration');
    const fields = registrationLogFields('etcd://127.0.0.1:2379', { ...keeper.registration, subnet: '198.18.5.0/24' });
    assert.equal(fields, { source: 'etcd://127.0.0.1:2379', subnet: '198.18.5.0/24', public_ip: '192.0.2.10', vtep_mac: undefined, ...(want ? { public_key: want } : {}) });
  });
}

test.run();
