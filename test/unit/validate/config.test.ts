import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../../src/errors.js';
import type { RawBackend, RawConfig } from '../../../src/model/types.js';
import { DEFAULT_UDP_PORT, DEFAULT_VXLAN_PORT, MAX_MTU, MIN_MTU, validateBackend, validateConfig, type HostNetworks } from '../../../src/validate/config.js';
import { pfx, throwsLike } from '../support/build.js';

const O = 'cluster.yaml';
const cfg = (over: Partial<RawConfig>): RawConfig => ({ origin: O, network: '198.18.0.0/16', ...over });
const HOST: HostNetworks = {
  addrs: ['192.0.2.10/24', '127.0.0.1/8', '198.18.0.1/24', '198.18.0.0/32', '2001:db8::10/64', '203.0.113.5/32'].map(pfx),
};

function refused(raw: RawConfig, re: RegExp, host?: HostNetworks): void {
  const e = throwsLike(() => validateConfig(raw, host), ConfigError, re);
  assert.ok(e.message.startsWith(`${O}: `), `names the origin: ${e.message}`);
  assert.not.match(e.message, /[\n\r]/, `one line: ${JSON.stringify(e.message)}`);
}

test('network: refused shapes, one clear line naming the origin', () => {
  const rows: Array<[unknown, RegExp]> = [
    [undefined, /^cluster\.yaml: Network is missing$/],
    ['0.0.0.0/0', /^cluster\.yaml: Network 0\.0\.0\.0\/0 is a default route; refusing it$/],
    ['::/0', /Network ::\/0: only IPv4 pod networks are supported/],
    ['2001:db8::/32', /Network 2001:db8::\/32: only IPv4 pod networks are supported/],
    ['198.18.0.0', /Network "198\.18\.0\.0" is not a CIDR/],
    ['198.18.0.0/16 dev eth0', /Network "198\.18\.0\.0\/16 dev eth0" is not a CIDR/],
    ['198.18.0.0/16\nroute flush', /Network "198\.18\.0\.0\/16\\nroute flush" is not a CIDR/],
    [' 198.18.0.0/16', /is not a CIDR/],
    ['198.018.0.0/16', /is not a CIDR/],
    [1234, /Network 1234 is not a CIDR/],
    [null, /Network null is not a CIDR/],
    [{ a: 1 }, /is not a CIDR/],
    ['198.18.1.0/16', /Network 198\.18\.1\.0\/16 has host bits set$/],
    ['198.18.0.0/29', /Network 198\.18\.0\.0\/29 is smaller than \/28$/],
    ['198.18.0.1/32', /has host bits set|smaller than/],
    ['127.0.0.0/16', /overlaps reserved range 127\.0\.0\.0\/8$/],
    ['0.0.0.0/8', /overlaps reserved range 0\.0\.0\.0\/8$/],
    ['0.0.0.0/1', /overlaps reserved range 0\.0\.0\.0\/8$/],
    ['128.0.0.0/1', /overlaps reserved range 169\.254\.0\.0\/16$/],
    ['169.254.0.0/16', /overlaps reserved range 169\.254\.0\.0\/16$/],
    ['224.0.0.0/8', /overlaps reserved range 224\.0\.0\.0\/4$/],
    ['240.0.0.0/8', /overlaps reserved range 240\.0\.0\.0\/4$/],
    ['255.255.255.0/24', /overlaps reserved range 240\.0\.0\.0\/4$/],
  ];
  for (const [network, re] of rows) refused(cfg({ network }), re);
});

test("network: refused when it overlaps the host's own networks", () => {
  const host: HostNetworks = { addrs: [...HOST.addrs, pfx('10.1.2.3/8')] };
  const rows: Array<[string, RegExp]> = [
    ['10.244.0.0/16', /^cluster\.yaml: Network 10\.244\.0\.0\/16 overlaps this host's network 10\.0\.0\.0\/8$/],
    ['10.0.0.0/16', /overlaps this host's network 10\.0\.0\.0\/8$/],
    ['192.0.2.128/25', /^cluster\.yaml: Network 192\.0\.2\.128\/25 overlaps this host's network 192\.0\.2\.0\/24$/],
  ];
  for (const [network, re] of rows) {
    const e = throwsLike(() => validateConfig(cfg({ network }), host), ConfigError, re);
    assert.is((e as ConfigError).hint, 'the pod network must not contain the underlay; check Network in the cluster config');
  }
  // Addresses inside the pod network are presumed ovlnet's own (VTEP, CNI
  // gateway) and do not count; IPv6 and loopback addresses don't matter.
  assert.is(validateConfig(cfg({ network: '198.18.0.0/16' }), HOST).network.text, '198.18.0.0/16');
  assert.is(validateConfig(cfg({ network: '172.16.0.0/16' }), host).network.text, '172.16.0.0/16');
  // So an underlay address inside the pod network passes here: it is the
  // local node's publicIP check that refuses it (see validate-cluster tests).
  assert.is(validateConfig(cfg({ network: '192.0.0.0/16' }), HOST).network.text, '192.0.0.0/16');
  // Without host information (offline plan) the check is not made.
  assert.is(validateConfig(cfg({ network: '10.0.0.0/16' })).network.text, '10.0.0.0/16');
});

test("subnetLen defaults as flannel's: 24 when the network is /22 or shorter, else prefix + 2", () => {
  const rows: Array<[string, number]> = [
    ['10.0.0.0/8', 24],
    ['198.18.0.0/15', 24],
    ['198.18.0.0/16', 24],
    ['198.18.0.0/22', 24],
    ['198.18.0.0/23', 25],
    ['198.18.0.0/24', 26],
    ['198.18.0.0/26', 28],
    ['198.18.0.0/28', 30],
  ];
  for (const [network, len] of rows) assert.is(validateConfig(cfg({ network })).subnetLen, len, network);
});

test("subnetLen: explicit values as flannel: from network prefix + 2 (four subnets) to 30; 0 means unset", () => {
  const ok: Array<[string, unknown, number]> = [
    ['198.18.0.0/16', 24, 24],
    ['198.18.0.0/16', 18, 18],
    ['198.18.0.0/16', 30, 30],
    ['198.18.0.0/16', '26', 26],
    ['198.18.0.0/16', 0, 24], // flannel's "not set"
    ['198.18.0.0/24', 0, 26],
    ['198.18.0.0/28', 30, 30],
  ];
  for (const [network, subnetLen, want] of ok) assert.is(validateConfig(cfg({ network, subnetLen })).subnetLen, want, `${network} ${subnetLen}`);
  const bad: unknown[] = [17, 16, 15, 31, 32, -24, 24.5, '24 ', ' 24', '0x18', '24\n', '0', true, null, [24], 1e21, Infinity, NaN];
  for (const subnetLen of bad) {
    refused(cfg({ subnetLen }), /^cluster\.yaml: SubnetLen must be an integer from 18 to 30, got /);
  }
  refused(cfg({ network: '198.18.0.0/28', subnetLen: 29 }), /SubnetLen must be an integer from 30 to 30, got 29$/);
});

test('backend: vxlan defaults (VNI 1, port 8472, no MTU, no DirectRouting), missing backend is vxlan', () => {
  const want = { type: 'vxlan', vni: 1, port: DEFAULT_VXLAN_PORT, mtu: undefined, directRouting: false };
  assert.equal(validateBackend(undefined, O), want);
  assert.equal(validateBackend({}, O), want);
  assert.equal(validateBackend({ type: 'vxlan' }, O), want);
  assert.is(DEFAULT_VXLAN_PORT, 8472);
  assert.equal(validateConfig(cfg({})).backend, want);
  assert.equal(validateBackend({ type: 'host-gw', vni: 'ignored' }, O), { type: 'host-gw' });
  // flannel lower-cases the backend type
  assert.equal(validateBackend({ type: 'VXLAN' }, O), want);
  assert.equal(validateBackend({ type: 'Host-GW' }, O), { type: 'host-gw' });
});

test('backend: VNI 0..16777215 (0 is a valid vxlan id and flanneld uses it: device flannel.0)', () => {
  const ok: Array<[unknown, number]> = [[0, 0], ['0', 0], [1, 1], [2, 2], [4096, 4096], ['7', 7], [9_999_999, 9_999_999]];
  for (const [vni, want] of ok) assert.is((validateBackend({ type: 'vxlan', vni }, O) as { vni: number }).vni, want, String(vni));
  const bad: unknown[] = [-1, 16777216, 2 ** 32, 1.5, '1 dev eth0', '1\n', '0x1', '', true, null, {}, [1], NaN, Infinity, 1e300];
  for (const vni of bad) {
    throwsLike(() => validateBackend({ type: 'vxlan', vni }, O), ConfigError, /^cluster\.yaml: Backend\.VNI must be an integer from 0 to 16777215, got /);
  }
});

test('backend: a huge hostile value is quoted and shortened in the one-line message', () => {
  for (const [field, raw] of [['VNI', { vni: '9'.repeat(100_000) }], ['Port', { port: 'x\n'.repeat(1000) }], ['MTU', { mtu: { a: 'b'.repeat(5000) } }]] as const) {
    const e = throwsLike(() => validateBackend({ type: 'vxlan', ...raw }, O), ConfigError, new RegExp(`^cluster\\.yaml: Backend\\.${field} must be an integer from \\d+ to \\d+, got .{1,40}$`));
    assert.not.match(e.message, /[\n\r]/);
  }
  throwsLike(() => validateConfig(cfg({ subnetLen: 'y'.repeat(1e5) })), ConfigError, /^cluster\.yaml: SubnetLen must be an integer from 18 to 30, got "y{39}$/);
});

test('backend: a VNI whose device name flannel.<VNI> exceeds the kernel limit is refused at validation', () => {
  // flannel.10000000 is 16 characters; IFNAMSIZ allows 15. Refusing it here
  // keeps a config that can never work from failing later, mid-render.
  for (const vni of [10_000_000, 16_777_215]) {
    throwsLike(() => validateBackend({ type: 'vxlan', vni }, O), ConfigError,
      new RegExp(`^cluster\\.yaml: Backend\\.VNI ${vni}: device name flannel\\.${vni} is longer than the kernel's 15 characters`));
  }
});

test('backend: port 1..65535, 0 means 8472 (the kernel default flannel uses)', () => {
  const ok: Array<[unknown, number]> = [[undefined, 8472], [0, 8472], [1, 1], [4789, 4789], [8472, 8472], [65535, 65535], ['4789', 4789]];
  for (const [port, want] of ok) assert.is((validateBackend({ type: 'vxlan', port }, O) as { port: number }).port, want, String(port));
  const bad: unknown[] = [-1, 65536, 1e6, 8472.5, '8472 dev eth0', '8472\n', 'x', true, null, [8472]];
  for (const port of bad) {
    throwsLike(() => validateBackend({ type: 'vxlan', port }, O), ConfigError, /^cluster\.yaml: Backend\.Port must be an integer from 1 to 65535, got /);
  }
});

test('backend: MTU bounds, 0 or absent means underlay MTU - 50', () => {
  assert.is(MIN_MTU, 68);
  assert.is(MAX_MTU, 65535);
  const ok: Array<[unknown, number | undefined]> = [[undefined, undefined], [0, undefined], [68, 68], [1400, 1400], [9000, 9000], [65535, 65535], ['1450', 1450]];
  for (const [mtu, want] of ok) assert.is((validateBackend({ type: 'vxlan', mtu }, O) as { mtu?: number }).mtu, want, String(mtu));
  for (const mtu of [67, 1, -1, 65536, 1450.5, '1450 up', null, false]) {
    throwsLike(() => validateBackend({ type: 'vxlan', mtu }, O), ConfigError, /^cluster\.yaml: Backend\.MTU must be an integer from 68 to 65535, got /);
  }
});

test('backend: DirectRouting must be a boolean', () => {
  assert.is((validateBackend({ type: 'vxlan', directRouting: true }, O) as { directRouting: boolean }).directRouting, true);
  assert.is((validateBackend({ type: 'vxlan', directRouting: false }, O) as { directRouting: boolean }).directRouting, false);
  for (const directRouting of ['true', 1, 'yes', {}]) {
    throwsLike(() => validateBackend({ type: 'vxlan', directRouting }, O), ConfigError, /^cluster\.yaml: Backend\.DirectRouting must be true or false$/);
  }
});

test('backend: unsupported flannel backends and unknown types are refused, quoted and shortened', () => {
  throwsLike(() => validateBackend({ type: 'IPIP' }, O), ConfigError, /^cluster\.yaml: backend "ipip" is a flannel backend ovlnet does not support/);
  for (const type of ['ipip', 'alloc', 'ipsec', 'tencent-vpc', 'ali-vpc', 'aws-vpc', 'gce']) {
    throwsLike(() => validateBackend({ type }, O), ConfigError,
      new RegExp(`^cluster\\.yaml: backend "${type}" is a flannel backend ovlnet does not support; use vxlan, host-gw, udp or wireguard$`));
  }
  // wireguard is a backend now (no longer refused by name).
  assert.is(validateBackend({ type: 'wireguard' }, O).type, 'wireguard');
  const unknown: Array<[unknown, RegExp]> = [
    ['foo', /^cluster\.yaml: unknown backend type "foo"; use vxlan, host-gw, udp or wireguard$/],
    ['hostgw', /unknown backend type "hostgw"/],
    ['vxlan ', /unknown backend type "vxlan "/],
    ['vxlan\nroute flush table main', /unknown backend type "vxlan\\nroute flush table main"/],
    ['x'.repeat(500), /unknown backend type "x{39}; use vxlan, host-gw, udp or wireguard$/],
    [42, /unknown backend type 42;/],
    [['vxlan'], /unknown backend type \["vxlan"\];/],
  ];
  for (const [type, re] of unknown) {
    const e = throwsLike(() => validateBackend({ type } as RawBackend, O), ConfigError, re);
    assert.not.match(e.message, /[\n\r]/);
    assert.ok(e.message.length < 120, `short: ${e.message.length}`);
  }
});

test('backend udp: port 1..65535, absent or 0 means 8285, any case', () => {
  assert.is(DEFAULT_UDP_PORT, 8285);
  const ok: Array<[unknown, unknown, number]> = [['udp', undefined, 8285], ['UDP', 0, 8285], ['udp', 1, 1], ['udp', 65535, 65535], ['udp', '9000', 9000], ['Udp', 8472, 8472]];
  for (const [type, port, want] of ok) assert.equal(validateBackend({ type, port }, O), { type: 'udp', port: want }, `${String(type)} ${String(port)}`);
  for (const port of [-1, 65536, 1.5, '8285 up', null, true, 'x'.repeat(100)]) {
    throwsLike(() => validateBackend({ type: 'udp', port }, O), ConfigError, /^cluster\.yaml: Backend\.Port must be an integer from 1 to 65535, got /);
  }
});

test('a valid config', () => {
  assert.equal(validateConfig(cfg({ network: '10.244.0.0/16', subnetLen: 24, backend: { type: 'vxlan', vni: 1, port: 8472 } }), HOST), {
    network: pfx('10.244.0.0/16'), subnetLen: 24, backend: { type: 'vxlan', vni: 1, port: 8472, mtu: undefined, directRouting: false },
  });
});

test('backend: GBP and Learning, as flanneld reads them (booleans, off by default, set only when on)', () => {
  const rows: Array<[Record<string, unknown>, Record<string, unknown>]> = [
    [{}, {}],
    [{ gbp: true }, { gbp: true }],
    [{ learning: true }, { learning: true }],
    [{ gbp: false, learning: false }, {}],
    [{ gbp: true, learning: true }, { gbp: true, learning: true }],
  ];
  for (const [raw, extra] of rows) {
    assert.equal(validateBackend({ type: 'vxlan', ...raw }, O), { type: 'vxlan', vni: 1, port: DEFAULT_VXLAN_PORT, mtu: undefined, directRouting: false, ...extra }, JSON.stringify(raw));
  }
  throwsLike(() => validateBackend({ type: 'vxlan', gbp: 'yes' }, O), ConfigError, /^cluster\.yaml: Backend\.GBP must be true or false, got "yes"$/);
  throwsLike(() => validateBackend({ type: 'vxlan', learning: 1 }, O), ConfigError, /^cluster\.yaml: Backend\.Learning must be true or false, got 1$/);
});

test.run();
