// flannel's etcd lease format (sources/etcd/codec.ts): every key form flannel
// writes reads as a valid node, and the own lease is written back whole.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseIP, parsePrefix } from '../../src/model/ip.js';
import type { RawConfig } from '../../src/model/types.js';
import { leaseKeyName, leaseNodeName, leaseValue, parseLease, parseLeaseKey } from '../../src/sources/etcd/codec.js';
import { validateConfig } from '../../src/validate/config.js';
import { validateNode } from '../../src/validate/nodes.js';

const raw = (o: Partial<RawConfig>): RawConfig => ({ origin: 'etcd /p/config', ...o });
const P = '/coreos.com/network';

test('parseLeaseKey: every form flannel writes, nothing else', () => {
  const cases: Array<[string, string | undefined, string | undefined]> = [
    ['10.244.1.0-24', '10.244.1.0/24', undefined],
    ['10.244.1.0-24&fd00:10:244:1::-64', '10.244.1.0/24', 'fd00:10:244:1::/64'],
    ['0.0.0.0-0&fd00:10:244:1::-64', undefined, 'fd00:10:244:1::/64'],
    ['&fd00:10:244:1::-64', undefined, 'fd00:10:244:1::/64'],
    ['fd00:10:244:1::-64', undefined, 'fd00:10:244:1::/64'],
  ];
  for (const [key, v4, v6] of cases) {
    const k = parseLeaseKey(key);
    assert.ok(k, key);
    assert.is(k!.subnet?.text, v4, key);
    assert.is(k!.subnet6?.text, v6, key);
  }
  for (const bad of ['10.244.1.5-24', '10.244.1.0', '10.244.1.0-33', 'garbage', '10.244.1.0-24&10.244.2.0-24', 'a&b&c', '0.0.0.0-0', '10.244.1.0-24&']) {
    assert.is(parseLeaseKey(bad), undefined, bad);
  }
});

test('leaseKeyName and leaseNodeName: flannel\'s canonical spelling', () => {
  const p = (s: string) => parsePrefix(s)!;
  assert.is(leaseKeyName(p('10.244.3.0/24')), '10.244.3.0-24');
  assert.is(leaseKeyName(p('10.244.3.0/24'), p('fd00:10:244:3::/64')), '10.244.3.0-24&fd00:10:244:3::-64');
  assert.is(leaseKeyName(undefined, p('fd00:10:244:3::/64')), '0.0.0.0-0&fd00:10:244:3::-64');
  // Non-canonical spellings of a valid key name the same node.
  assert.is(leaseNodeName(parseLeaseKey('10.244.3.0-24&FD00:10:244:3:0::-64')!), '10.244.3.0-24&fd00:10:244:3::-64');
  assert.is(leaseNodeName(parseLeaseKey('&fd00:10:244:3::-64')!), '0.0.0.0-0&fd00:10:244:3::-64');
});

test('parseLease: dual-stack and IPv6-only leases in flannel\'s format are valid nodes', () => {
  const dual = validateConfig(raw({ network: '198.18.0.0/16', ipv6Network: '2001:db8:100::/48', enableIPv6: true }));
  const v6only = validateConfig(raw({ ipv6Network: '2001:db8:100::/48', enableIPv6: true, enableIPv4: false }));
  const value = JSON.stringify({
    PublicIP: '192.0.2.10', PublicIPv6: '2001:db8:1::10', BackendType: 'vxlan',
    BackendData: { VNI: 1, VtepMAC: '0e:00:00:00:00:0a' }, BackendV6Data: { VNI: 1, VtepMAC: '0e:00:00:00:06:0a' },
  });
  const cases: Array<[string, typeof dual, string, string | undefined]> = [
    ['198.18.1.0-24&2001:db8:100:1::-64', dual, '198.18.1.0/24', '2001:db8:100:1::/64'],
    ['198.18.1.0-24', dual, '198.18.1.0/24', undefined],
    ['0.0.0.0-0&2001:db8:100:1::-64', v6only, '2001:db8:100:1::/64', undefined],
  ];
  for (const [key, config, first, second] of cases) {
    const p = parseLease(P, key, value);
    assert.ok(p.node, key);
    const check = validateNode(p.node!, config, true);
    assert.ok(check.node, `${key}: ${JSON.stringify(check.problem)}`);
    assert.is(check.node!.subnet.text, first, key);
    assert.is(check.node!.v6?.subnet.text, second, key);
    if (second) {
      assert.is(check.node!.v6!.publicIP.text, '2001:db8:1::10');
      assert.is(check.node!.v6!.vtepMAC.text, '0e:00:00:00:06:0a');
    }
  }
});

test('leaseValue: flannel format per backend, the IPv6 half with its own data', () => {
  const ip = parseIP('192.0.2.10')!;
  const mac = { text: '0e:00:00:00:00:01' };
  assert.equal(leaseValue(validateConfig(raw({ network: '10.244.0.0/16', backend: { type: 'vxlan', vni: 4 } })), { publicIP: ip, mac }),
    { PublicIP: '192.0.2.10', PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 4, VtepMAC: '0e:00:00:00:00:01' } });
  assert.equal(leaseValue(validateConfig(raw({ network: '10.244.0.0/16', backend: { type: 'host-gw' } })), { publicIP: ip }),
    { PublicIP: '192.0.2.10', PublicIPv6: null, BackendType: 'host-gw' });
  const dual = validateConfig(raw({ network: '10.244.0.0/16', ipv6Network: '2001:db8:100::/48', backend: { type: 'vxlan', vni: 1 } }));
  assert.equal(leaseValue(dual, { publicIP: ip, mac, publicIPv6: parseIP('2001:db8:1::10')!, mac6: { text: '0e:00:00:00:06:01' } }), {
    PublicIP: '192.0.2.10', PublicIPv6: '2001:db8:1::10', BackendType: 'vxlan',
    BackendData: { VNI: 1, VtepMAC: '0e:00:00:00:00:01' }, BackendV6Data: { VNI: 1, VtepMAC: '0e:00:00:00:06:01' },
  });
});

test.run();
