// The etcd source's pure parts: URI, lease keys, flannel's subnet range
// defaults, free subnet choice, subnet.env, VTEP MACs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  fitsConfig, leaseKeyName, leaseValue, parseEtcdURI, parseLeaseKey, parseSubnetFile, pickFreeSubnet,
  randomVtepMAC, subnetRange,
} from '../../../src/sources/etcd.js';
import { validateConfig } from '../../../src/validate/config.js';
import { parseIP, parsePrefix } from '../../../src/model/ip.js';
import type { RawConfig } from '../../../src/model/types.js';

const raw = (o: Partial<RawConfig>): RawConfig => ({ origin: 'etcd /p/config', ...o });

test('parseEtcdURI', () => {
  const ok: Array<[string, ReturnType<typeof parseEtcdURI>]> = [
    ['etcd://127.0.0.1:2379', { tls: false, endpoints: ['127.0.0.1:2379'], prefix: '/coreos.com/network' }],
    ['etcd://a:1,b:2/x/y/', { tls: false, endpoints: ['a:1', 'b:2'], prefix: '/x/y' }],
    ['etcds://etcd.example.com/', { tls: true, endpoints: ['etcd.example.com:2379'], prefix: '/coreos.com/network' }],
    ['etcd://[2001:db8::1]:2379/net', { tls: false, endpoints: ['[2001:db8::1]:2379'], prefix: '/net' }],
  ];
  for (const [uri, want] of ok) assert.equal(parseEtcdURI(uri), want, uri);
  for (const bad of ['etcd://', 'etcd:///p', 'etcd://a:99999', 'etcd://a b:1', 'etcd://a:1/p q', 'etcd://a:1//p', 'http://a:1']) {
    assert.throws(() => parseEtcdURI(bad), /source/, bad);
  }
});

test('parseLeaseKey', () => {
  const cases: Array<[string, string | undefined | 'v6only']> = [
    ['10.244.1.0-24', '10.244.1.0/24'],
    ['10.244.1.0-24&fd00:10:244:1::-64', '10.244.1.0/24'],
    ['&fd00:10:244:1::-64', 'v6only'],
    ['fd00:10:244:1::-64', 'v6only'],
    ['10.244.1.5-24', undefined],
    ['10.244.1.0', undefined],
    ['10.244.1.0-33', undefined],
    ['garbage', undefined],
    ['10.244.1.0-24&10.244.2.0-24', undefined],
    ['a&b&c', undefined],
  ];
  for (const [key, want] of cases) {
    const got = parseLeaseKey(key);
    if (want === undefined) assert.is(got, undefined, key);
    else if (want === 'v6only') assert.ok(got && got.subnet === undefined && got.v6 === true, key);
    else assert.is(got?.subnet?.text, want, key);
  }
  assert.is(leaseKeyName(parsePrefix('10.244.3.0/24')!), '10.244.3.0-24');
});

test('subnetRange: flannel defaults and checks', () => {
  const cases: Array<[Partial<RawConfig>, string, string] | [Partial<RawConfig>, RegExp]> = [
    [{ network: '10.244.0.0/16' }, '10.244.1.0', '10.244.255.0'],
    [{ network: '10.0.0.0/8' }, '10.0.1.0', '10.255.255.0'],
    [{ network: '10.244.0.0/24' }, '10.244.0.64', '10.244.0.192'], // /26 subnets
    [{ network: '10.244.0.0/16', subnetLen: 20 }, '10.244.16.0', '10.244.240.0'],
    [{ network: '10.244.0.0/16', subnetMin: '10.244.10.0', subnetMax: '10.244.20.0' }, '10.244.10.0', '10.244.20.0'],
    [{ network: '10.244.0.0/16', subnetMin: '10.245.0.0' }, /SubnetMin 10\.245\.0\.0 is not in the Network/],
    [{ network: '10.244.0.0/16', subnetMax: '10.244.3.7' }, /not on a \/24 boundary/],
    [{ network: '10.244.0.0/16', subnetMin: '10.244.9.0', subnetMax: '10.244.3.0' }, /above SubnetMax/],
    [{ network: '10.244.0.0/16', subnetMin: 'x' }, /SubnetMin "x" is not an IPv4 address/],
  ];
  for (const [o, a, b] of cases) {
    const r = raw(o);
    const config = validateConfig(r);
    if (a instanceof RegExp) assert.throws(() => subnetRange(config, r), a, JSON.stringify(o));
    else assert.equal(Object.values(subnetRange(config, r)).map((x) => x.text), [a, b!], JSON.stringify(o));
  }
});

test('fitsConfig', () => {
  const config = validateConfig(raw({ network: '10.244.0.0/16' }));
  assert.ok(fitsConfig(parsePrefix('10.244.7.0/24')!, config));
  assert.not.ok(fitsConfig(parsePrefix('10.244.7.0/25')!, config));
  assert.not.ok(fitsConfig(parsePrefix('10.245.7.0/24')!, config));
});

test('pickFreeSubnet never returns a taken or overlapping subnet', () => {
  const r = raw({ network: '10.244.0.0/16', subnetMin: '10.244.1.0', subnetMax: '10.244.8.0' });
  const config = validateConfig(r);
  const range = subnetRange(config, r);
  // Taken: two /24 leases and a /23 reservation covering .6 and .7.
  const taken = ['10.244.2.0/24', '10.244.5.0/24', '10.244.6.0/23'].map((s) => parsePrefix(s)!);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(pickFreeSubnet(config, range, taken)!.text);
  assert.equal([...seen].sort(), ['10.244.1.0/24', '10.244.3.0/24', '10.244.4.0/24', '10.244.8.0/24']);
  // Deterministic with a given chooser.
  assert.is(pickFreeSubnet(config, range, taken, () => 0)!.text, '10.244.1.0/24');
  const all = Array.from({ length: 8 }, (_, i) => parsePrefix(`10.244.${i + 1}.0/24`)!);
  assert.is(pickFreeSubnet(config, range, all), undefined);
  // A huge range is sampled, still within bounds and free.
  const big = raw({ network: '10.0.0.0/8', subnetLen: 30 });
  const bc = validateConfig(big);
  const p = pickFreeSubnet(bc, subnetRange(bc, big), [parsePrefix('10.0.0.0/9')!])!;
  assert.is(p.len, 30);
  assert.ok(p.addr.value >= parseIP('10.128.0.0')!.value, p.text);
});

test('parseSubnetFile', () => {
  const cases: Array<[string, string | undefined]> = [
    ['FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\n', '10.244.7.0/24'],
    ['FLANNEL_SUBNET=10.244.7.1/24', '10.244.7.0/24'],
    ['FLANNEL_NETWORK=10.244.0.0/16\n', undefined],
    ['FLANNEL_SUBNET=nonsense\n', undefined],
    ['FLANNEL_IPV6_SUBNET=fd00::1/64\n', undefined],
  ];
  for (const [text, want] of cases) assert.is(parseSubnetFile(text)?.text, want, text);
});

test('randomVtepMAC is locally administered unicast and varies', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const m = randomVtepMAC().text;
    assert.match(m, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    const b = parseInt(m.slice(0, 2), 16);
    assert.is(b & 1, 0, `${m} unicast`);
    assert.is(b & 2, 2, `${m} locally administered`);
    seen.add(m);
  }
  assert.is(seen.size, 100);
});

test('leaseValue: flannel format per backend', () => {
  const ip = parseIP('192.0.2.10')!;
  assert.equal(leaseValue(ip, validateConfig(raw({ network: '10.244.0.0/16', backend: { type: 'vxlan', vni: 4 } })), { text: '0e:00:00:00:00:01' }),
    { PublicIP: '192.0.2.10', PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 4, VtepMAC: '0e:00:00:00:00:01' } });
  assert.equal(leaseValue(ip, validateConfig(raw({ network: '10.244.0.0/16', backend: { type: 'host-gw' } })), undefined),
    { PublicIP: '192.0.2.10', PublicIPv6: null, BackendType: 'host-gw' });
});

test.run();
