// flannel's allocation (sources/etcd/allocate.ts, own.ts) and the etcd URI:
// subnet range defaults, which subnets a lease may keep, which free one is
// taken, which lease is this node's and what to do when it changed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FREE_CANDIDATES, firstFreeSubnets, fitsRange, pickFreeSubnet, subnetRange, subnetRange6 } from '../../src/sources/etcd/allocate.js';
import { ownLeaseVerdict, pickOwnLease, type CandidateLease } from '../../src/sources/etcd/own.js';
import { parseEtcdURI } from '../../src/sources/etcd/uri.js';
import { validateConfig } from '../../src/validate/config.js';
import { parseIP, parsePrefix } from '../../src/model/ip.js';
import type { RawConfig } from '../../src/model/types.js';

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
    else { const g = subnetRange(config, r); assert.equal([g.min.text, g.max.text], [a, b!], JSON.stringify(o)); }
  }
});

test('fitsRange: family, SubnetLen, Network and SubnetMin..SubnetMax (flannel re-allocates otherwise)', () => {
  const r = raw({ network: '10.244.0.0/16', subnetMin: '10.244.10.0', subnetMax: '10.244.20.0' });
  const range = subnetRange(validateConfig(r), r);
  const cases: Array<[string, boolean]> = [
    ['10.244.10.0/24', true],
    ['10.244.20.0/24', true],
    ['10.244.15.0/24', true],
    ['10.244.7.0/24', false], // in the Network, below SubnetMin: a reused lease must be re-allocated
    ['10.244.21.0/24', false], // above SubnetMax
    ['10.244.15.0/25', false],
    ['10.245.15.0/24', false],
    ['2001:db8::/64', false],
  ];
  for (const [p, want] of cases) assert.is(fitsRange(parsePrefix(p)!, range), want, p);
});

test('pickFreeSubnet never returns a taken or overlapping subnet', () => {
  const r = raw({ network: '10.244.0.0/16', subnetMin: '10.244.1.0', subnetMax: '10.244.8.0' });
  const range = subnetRange(validateConfig(r), r);
  // Taken: two /24 leases and a /23 reservation covering .6 and .7.
  const taken = ['10.244.2.0/24', '10.244.5.0/24', '10.244.6.0/23'].map((s) => parsePrefix(s)!);
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) seen.add(pickFreeSubnet(range, taken)!.text);
  assert.equal([...seen].sort(), ['10.244.1.0/24', '10.244.3.0/24', '10.244.4.0/24', '10.244.8.0/24']);
  // Deterministic with a given chooser.
  assert.is(pickFreeSubnet(range, taken, () => 0)!.text, '10.244.1.0/24');
  const all = Array.from({ length: 8 }, (_, i) => parsePrefix(`10.244.${i + 1}.0/24`)!);
  assert.is(pickFreeSubnet(range, all), undefined);
});

test('pickFreeSubnet: a random one of the first 100 free subnets, as flannel', () => {
  // A /8 cut in /30s: 4 million subnets. flannel keeps allocations at the
  // start of the range; the first 100 free ones after a taken /24 block.
  const big = raw({ network: '10.0.0.0/8', subnetLen: 30 });
  const range = subnetRange(validateConfig(big), big);
  const taken = [parsePrefix('10.0.0.0/24')!, parsePrefix('10.0.1.8/30')!];
  const free = firstFreeSubnets(range, taken);
  assert.is(free.length, FREE_CANDIDATES);
  assert.is(free[0].text, '10.0.1.0/30');
  assert.is(free[1].text, '10.0.1.4/30');
  assert.is(free[2].text, '10.0.1.12/30', 'the taken /30 is skipped');
  assert.is(free[99].text, '10.0.2.144/30');
  const last = firstFreeSubnets(range, taken).at(-1)!.addr.value;
  for (let i = 0; i < 300; i++) {
    const p = pickFreeSubnet(range, taken)!;
    assert.ok(p.addr.value <= last, `${p.text} is among the first 100 free`);
  }
  assert.is(pickFreeSubnet(range, taken, (n) => n - 1)!.text, '10.0.2.144/30');
  // IPv6: a /48 cut in /64s is walked the same way, bounded.
  const cfg6 = validateConfig(raw({ network: '10.244.0.0/16', ipv6Network: '2001:db8:100::/48', enableIPv6: true }));
  const r6 = subnetRange6(cfg6)!;
  assert.is(r6.min.text, '2001:db8:100:1::');
  const f6 = firstFreeSubnets(r6, [parsePrefix('2001:db8:100::/56')!]);
  assert.is(f6[0].text, '2001:db8:100:100::/64');
  assert.is(f6.length, FREE_CANDIDATES);
});

const lease = (name: string, publicIP: string, mac?: string): CandidateLease => {
  const [a, b] = name.split('&');
  const part = (s: string) => parsePrefix(s.replace(/-(\d+)$/, '/$1'));
  return { name, subnet: part(a), subnet6: b ? part(b) : undefined, obj: { PublicIP: publicIP, BackendData: mac ? { VNI: 1, VtepMAC: mac } : undefined } };
};

test('pickOwnLease: the lease of subnet.env, else the one with the device MAC, else the first that fits', () => {
  const r = raw({ network: '10.244.0.0/16', subnetMin: '10.244.1.0', subnetMax: '10.244.50.0' });
  const range = subnetRange(validateConfig(r), r);
  const a = lease('10.244.3.0-24', '192.0.2.10', '0e:00:00:00:00:03');
  const b = lease('10.244.7.0-24', '192.0.2.10', '0e:00:00:00:00:07');
  const out = lease('10.244.99.0-24', '192.0.2.10', '0e:00:00:00:00:99');
  const cases: Array<[CandidateLease[], string | undefined, string | undefined, string | undefined]> = [
    [[a, b], undefined, undefined, a.name],
    [[a, b], '10.244.7.0/24', undefined, b.name],
    [[a, b], undefined, '0E:00:00:00:00:07', b.name],
    [[a, b], '10.244.3.0/24', '0e:00:00:00:00:07', a.name],
    // Outside SubnetMin..SubnetMax: never reused, even when subnet.env names it.
    [[out], '10.244.99.0/24', undefined, undefined],
    [[out, b], '10.244.99.0/24', undefined, b.name],
  ];
  for (const [mine, prev, mac, want] of cases) {
    assert.is(pickOwnLease(mine, range, undefined, prev ? parsePrefix(prev) : undefined, mac)?.name, want, JSON.stringify([mine.map((m) => m.name), prev, mac]));
  }
  // Dual stack: a lease without its IPv6 half (or with one out of range) does not fit.
  const c6 = validateConfig(raw({ network: '10.244.0.0/16', ipv6Network: '2001:db8:100::/48', enableIPv6: true }));
  const r4 = subnetRange(c6, raw({ network: '10.244.0.0/16' }));
  const r6 = subnetRange6(c6);
  assert.is(pickOwnLease([a], r4, r6, undefined, undefined), undefined);
  const d = lease('10.244.3.0-24&2001:db8:100:3::-64', '192.0.2.10');
  assert.is(pickOwnLease([a, d], r4, r6, undefined, undefined)?.name, d.name);
  assert.is(pickOwnLease([lease('10.244.3.0-24&2001:db8:999:3::-64', '192.0.2.10')], r4, r6, undefined, undefined), undefined);
});

test('ownLeaseVerdict: a changed own lease is rewritten in place unless another node holds it', () => {
  const ip = parseIP('192.0.2.10')!;
  const mine = JSON.stringify({ PublicIP: '192.0.2.10', PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '0e:00:00:00:00:0a' } });
  const held = { value: mine, leaseID: '77', publicIP: ip };
  const other = JSON.stringify({ PublicIP: '192.0.2.20', BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '0e:00:00:00:00:14' } });
  const cases: Array<[{ value: string; lease: string } | undefined, string, typeof held?]> = [
    [undefined, 'missing'],
    [{ value: mine, lease: '77' }, 'ours'],
    [{ value: mine, lease: '99' }, 'ours'],
    [{ value: '{"PublicIP":', lease: '77' }, 'rewrite'],
    [{ value: 'garbage', lease: '99' }, 'rewrite'],
    [{ value: '{"PublicIP":"192.0.2.10","BackendData":{"VtepMAC":"0e:00:00:00:00:ff"}}', lease: '99' }, 'rewrite'],
    [{ value: '{"BackendType":"vxlan"}', lease: '99' }, 'rewrite'],
    // Our etcd lease is still on the key: still ours, whoever wrote the value.
    [{ value: other, lease: '77' }, 'rewrite'],
    // Another node's value on its own etcd lease: it took the subnet after ours expired.
    [{ value: other, lease: '99' }, 'taken'],
    // A reservation (no etcd lease) rewritten by another node.
    [{ value: other, lease: '0' }, 'taken', { ...held, leaseID: '0' }],
    [{ value: 'null', lease: '0' }, 'rewrite', { ...held, leaseID: '0' }],
  ];
  for (const [kv, want, h] of cases) assert.is(ownLeaseVerdict(h ?? held, kv), want, JSON.stringify(kv));
});

test.run();
