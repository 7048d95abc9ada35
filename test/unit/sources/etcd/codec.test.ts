// flannel's etcd lease format (sources/etcd/codec.ts): every key form flannel
// writes reads as a valid node, and the own lease is written back whole.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseIP, parsePrefix } from '../../../../src/model/ip.js';
import type { RawConfig } from '../../../../src/model/types.js';
import { leaseKeyName, leaseName, leaseNodeName, leaseValue, parseLease, parseLeaseKey } from '../../../../src/sources/etcd/codec.js';
import { validateConfig } from '../../../../src/validate/config.js';
import { validateNode } from '../../../../src/validate/nodes.js';

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

test('parseLease: the node\'s name is the key in its canonical spelling, its origin the whole key, whatever the prefix', () => {
  const value = JSON.stringify({ PublicIP: '192.0.2.10', BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '0e:00:00:00:00:0a' } });
  const cases: Array<[string, string, string]> = [
    [P, '10.244.3.0-24', '10.244.3.0-24'],
    ['/other/net', '10.244.3.0-24', '10.244.3.0-24'],
    ['/other/net', '10.244.3.0-24&FD00:10:244:3:0::-64', '10.244.3.0-24&fd00:10:244:3::-64'],
    [P, '&fd00:10:244:3::-64', '0.0.0.0-0&fd00:10:244:3::-64'],
  ];
  for (const [prefix, key, name] of cases) {
    const n = parseLease(prefix, key, value).node!;
    assert.is(n.name, name, key);
    assert.is(n.origin, `etcd lease ${prefix}/subnets/${key}`, key);
  }
});

test('leaseName: the name after <prefix>/subnets/, by bytes (a prefix may hold any UTF-8)', () => {
  for (const prefix of [P, '/réseau/ü', '/网络']) {
    const dir = `${prefix}/subnets/`;
    assert.is(leaseName(Buffer.from(`${dir}10.244.3.0-24`), Buffer.byteLength(dir)), '10.244.3.0-24', prefix);
  }
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

// flanneld's wireguard leases (v0.28 writes Port, before 0.26.6 the key alone):
// read into nodes carrying their BackendData, and this node's written back
// byte for byte when nothing changed.
const PUB = 'hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=';
const WG_LEASES: Array<[string, string, string, RawConfig['backend'], boolean]> = [
  ['v0.28, IPv4', '198.18.1.0-24', `{"PublicIP":"192.0.2.10","PublicIPv6":null,"BackendType":"wireguard","BackendData":{"PublicKey":"${PUB}","Port":51820}}`, { type: 'wireguard' }, true],
  ['v0.28, another ListenPort', '198.18.1.0-24', `{"PublicIP":"192.0.2.10","PublicIPv6":null,"BackendType":"wireguard","BackendData":{"PublicKey":"${PUB}","Port":4000}}`, { type: 'wireguard', fields: { ListenPort: 4000 } }, true],
  ['v0.28, dual stack', '198.18.1.0-24&2001:db8:100:1::-64', `{"PublicIP":"192.0.2.10","PublicIPv6":"2001:db8:1::10","BackendType":"wireguard","BackendData":{"PublicKey":"${PUB}","Port":51820},"BackendV6Data":{"PublicKey":"${PUB}","Port":51821}}`, { type: 'wireguard' }, true],
  // Older flanneld: read the same; rewritten by ovlnet (and flanneld 0.28) with the Port added.
  ['before 0.26.6, key only', '198.18.1.0-24', `{"PublicIP":"192.0.2.10","PublicIPv6":null,"BackendType":"wireguard","BackendData":{"PublicKey":"${PUB}"}}`, { type: 'wireguard' }, false],
];

for (const [name, key, value, backend, identical] of WG_LEASES) {
  test(`wireguard lease of flanneld ${name}: read with its key, ${identical ? 'written back byte-identical' : 'rewritten with Port'}`, () => {
    const obj = JSON.parse(value);
    const config = validateConfig(raw({ network: '198.18.0.0/16', ...(obj.BackendV6Data ? { ipv6Network: '2001:db8:100::/48', enableIPv6: true } : {}), backend }));
    const p = parseLease(P, key, value);
    const check = validateNode(p.node!, config, true);
    assert.ok(check.node, JSON.stringify(check.problem));
    assert.equal(check.node!.backendData, obj.BackendData);
    assert.equal(check.node!.v6?.backendData, obj.BackendV6Data);
    // The backend's own data for this node: what the key file gives (the same key) and the configured ports.
    const b = config.backend as { listenPort: number; listenPortV6: number };
    const local = { data: { PublicKey: PUB, Port: b.listenPort }, data6: { PublicKey: PUB, Port: b.listenPortV6 } };
    const back = JSON.stringify(leaseValue(config, { publicIP: check.node!.publicIP, publicIPv6: check.node!.v6?.publicIP, local }));
    if (identical) assert.is(back, value);
    else assert.is(back, value.replace(`"PublicKey":"${PUB}"}`, `"PublicKey":"${PUB}","Port":51820}`));
  });
}

test('a vxlan lease keeps its VtepMAC and carries its BackendData too; host-gw (no BackendData) carries none', () => {
  const vx = parseLease(P, '198.18.1.0-24', '{"PublicIP":"192.0.2.10","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0e:00:00:00:00:01"}}').node!;
  assert.is(vx.vtepMAC, '0e:00:00:00:00:01');
  assert.equal(vx.backendData, { VNI: 1, VtepMAC: '0e:00:00:00:00:01' });
  const hg = parseLease(P, '198.18.1.0-24', '{"PublicIP":"192.0.2.10","PublicIPv6":null,"BackendType":"host-gw"}').node!;
  assert.not.ok('backendData' in hg);
});

test.run();
