// Parsers of `ip -j` / `bridge -j` output, against fixtures recorded from a
// real kernel by test/fixtures/host/record.mjs (iproute2 6.1; see
// versions.txt there), and the batch error parser against recorded stderr.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { plan } from '../../../src/backends/index.js';
import { parseFdb, parseLinks, parseNeighbors, parseRoutes, splitJsonArrays } from '../../../src/host/parse.js';
import { parseBatchErrors } from '../../../src/host/write.js';
import type { ActualState, HostRoute } from '../../../src/model/types.js';
import { diff } from '../../../src/reconcile/diff.js';
import { ownershipFor } from '../../../src/reconcile/ownership.js';
import { cluster, ip, mac, node, pfx, underlay } from '../support/build.js';

const FIX = fileURLToPath(new URL('../../../../test/fixtures/host/', import.meta.url));
const text = (name: string) => readFileSync(FIX + name, 'utf8');
const json = (name: string) => JSON.parse(text(name)) as unknown[];

test('fixtures were recorded from a real ip/bridge', () => {
  assert.match(text('versions.txt'), /^ip utility, iproute2-/);
  assert.match(text('versions.txt'), /\nbridge utility, /);
});

test('parseLinks: recorded `ip -j -d -N addr show`', () => {
  const links = parseLinks(json('addr.json'));
  assert.equal([...links.keys()], ['lo', 'eth0p', 'eth0', 'cni0', 'flannel.1', 'vx42']);
  const fl = links.get('flannel.1')!;
  assert.equal(fl, {
    name: 'flannel.1', index: fl.index, mtu: 1450, mac: mac('0e:5a:3c:11:22:01'), up: true, kind: 'vxlan',
    vxlan: { id: 1, local: ip('192.0.2.10'), link: 'eth0', port: 8472, learning: false },
    // the kernel's fe80:: link-local address is not listed
    addrs: [pfx('198.18.0.0/32')],
  });
  assert.ok(Number.isInteger(fl.index) && fl.index > 0);
  assert.equal(links.get('vx42')!.vxlan, { id: 42, local: ip('192.0.2.10'), link: 'eth0', port: 4789, learning: true });
  assert.is(links.get('vx42')!.up, false);
  assert.equal(links.get('vx42')!.addrs, []);
  const eth0 = links.get('eth0')!;
  assert.equal([eth0.kind, eth0.mtu, eth0.up, eth0.vxlan], ['veth', 1500, true, undefined]);
  assert.equal(eth0.addrs, [pfx('192.0.2.10/24'), pfx('2001:db8::10/64')]);
  assert.equal(links.get('cni0')!.addrs, [pfx('198.18.0.1/24')]);
  assert.equal([links.get('cni0')!.kind, links.get('cni0')!.vxlan], ['bridge', undefined]);
  // lo: the v4 host-scope address is kept (it is an address of this host), ::1 is not.
  assert.equal(links.get('lo')!.addrs, [pfx('127.0.0.1/8')]);
  assert.equal(links.get('eth0p')!.addrs, []);
});

test('parseRoutes: recorded `ip -j -d -N route show table main`', () => {
  const routes = parseRoutes(json('route.json'));
  const R = (dst: string, o: Partial<HostRoute>): HostRoute => ({ dst: pfx(dst), via: undefined, dev: undefined, onlink: false, proto: 3, type: undefined, ...o });
  assert.equal(routes, [
    R('0.0.0.0/0', { via: ip('192.0.2.1'), dev: 'eth0', proto: 3 }),
    R('192.0.2.0/24', { dev: 'eth0', proto: 2 }),
    R('198.18.0.0/24', { dev: 'cni0', proto: 2 }),
    R('198.18.1.0/24', { via: ip('198.18.1.0'), dev: 'flannel.1', onlink: true, proto: 244 }),
    R('198.18.2.0/24', { via: ip('198.18.2.0'), dev: 'flannel.1', onlink: true, proto: 244 }),
    R('198.18.3.0/24', { via: ip('192.0.2.13'), dev: 'eth0', proto: 244 }),
    R('198.18.4.0/24', { via: ip('192.0.2.14'), dev: 'eth0', proto: 4 }),
    R('198.18.5.0/24', { proto: 3, type: 'blackhole' }), // `6` with -N, named since it reaches messages
    R('198.18.6.0/24', { proto: 244, type: 'blackhole' }),
    R('198.18.7.0/24', { proto: 3, type: 'unreachable' }), // `7` with -N
    R('198.51.100.7/32', { dev: 'eth0', proto: 3 }), // a host route has no /32 in the output
    R('203.0.113.0/24', { via: ip('192.0.2.1'), dev: 'eth0', proto: 3 }),
  ]);
});

test('parseRoutes: the same table printed with names (no -N) parses to the same protocols', () => {
  const numeric = parseRoutes(json('route.json'));
  const named = parseRoutes(json('route-names.json'));
  assert.equal(named.map((r) => r.proto), numeric.map((r) => r.proto));
  assert.equal(named.map((r) => r.type), [...Array(7).fill(undefined), 'blackhole', 'blackhole', 'unreachable', undefined, undefined]);
  assert.equal(named.map((r) => [r.dst.text, r.via?.text, r.dev, r.onlink]), numeric.map((r) => [r.dst.text, r.via?.text, r.dev, r.onlink]));
});

test('parseRoutes: unknown protocol names never read as ours; garbage is skipped', () => {
  const routes = parseRoutes([
    { dst: '10.0.0.0/24', protocol: 'bird', gateway: '192.0.2.1', dev: 'eth0' },
    { dst: '10.0.1.0/24', protocol: 'ovlnet', gateway: '192.0.2.1', dev: 'eth0' }, // named via rt_protos.d: not trusted by name
    { dst: '10.0.2.0/24 dev eth0', protocol: '244' },
    { dst: 42 },
    null,
    'route',
    { dst: '10.0.3.0/24', protocol: '244', gateway: 'not an ip', dev: 'eth0' },
    { dst: 'fe80::/64', protocol: '2', dev: 'eth0' },
  ]);
  assert.equal(routes.map((r) => [r.dst.text, r.proto, r.via?.text]), [
    ['10.0.0.0/24', -1, '192.0.2.1'],
    ['10.0.1.0/24', -1, '192.0.2.1'],
    ['10.0.3.0/24', 244, undefined],
    ['fe80::/64', 2, undefined],
  ]);
});

test('parseNeighbors: recorded `ip -j neigh show nud permanent`; only permanent, well-formed entries', () => {
  assert.equal(parseNeighbors(json('neigh.json')), [
    { kind: 'neigh', dev: 'flannel.1', ip: ip('198.18.1.0'), mac: mac('0e:5a:3c:11:22:02') },
    { kind: 'neigh', dev: 'flannel.1', ip: ip('198.18.2.0'), mac: mac('0e:5a:3c:11:22:03') },
  ]);
  assert.equal(parseNeighbors([
    { dst: '198.18.3.0', dev: 'flannel.1', lladdr: '0e:00:00:00:00:03', state: ['REACHABLE'] },
    { dst: '198.18.4.0', dev: 'flannel.1', state: ['PERMANENT'] },
    { dst: '198.18.5.0', lladdr: '0e:00:00:00:00:05', state: ['PERMANENT'] },
    { dst: 'x', dev: 'flannel.1', lladdr: '0e:00:00:00:00:06', state: ['PERMANENT'] },
    { dst: '198.18.7.0', dev: 'flannel.1', lladdr: '0e:00:00:00:00:07', state: 'PERMANENT' },
    null,
  ]), []);
});

test('parseFdb: recorded `bridge -j fdb show dev flannel.1`', () => {
  assert.equal(parseFdb(json('fdb.json'), 'flannel.1'), [
    { kind: 'fdb', dev: 'flannel.1', mac: mac('00:00:00:00:00:00'), dst: ip('192.0.2.11') },
    { kind: 'fdb', dev: 'flannel.1', mac: mac('0e:5a:3c:11:22:03'), dst: ip('192.0.2.12') },
    { kind: 'fdb', dev: 'flannel.1', mac: mac('0e:5a:3c:11:22:02'), dst: ip('192.0.2.11') },
  ]);
  assert.equal(parseFdb([
    { mac: '0e:00:00:00:00:01', dst: '192.0.2.11', flags: ['self'], state: '' }, // learned, not permanent
    { mac: '0e:00:00:00:00:02', dst: '192.0.2.12', flags: [], state: 'permanent' }, // master, not self
    { mac: '0e:00:00:00:00:03', flags: ['self'], state: 'permanent' }, // no remote
    { mac: '0e:00:00:00:00:04', dst: '192.0.2.14', flags: ['self'], state: 'permanent', ifname: 'flannel.2' },
  ], 'flannel.1'), [{ kind: 'fdb', dev: 'flannel.2', mac: mac('0e:00:00:00:00:04'), dst: ip('192.0.2.14') }]);
});

test('splitJsonArrays: recorded `ip -j -d -N -batch` (what read.ts runs) gives three arrays', () => {
  const parts = splitJsonArrays(text('batch-read.txt'));
  assert.is(parts.length, 3);
  const [addrs, routes, neighs] = parts;
  assert.equal([...parseLinks(addrs).keys()], [...parseLinks(json('addr.json')).keys()]);
  assert.equal(parseRoutes(routes), parseRoutes(json('route.json')));
  assert.equal(parseNeighbors(neighs), parseNeighbors(json('neigh.json')));
});

test('splitJsonArrays: brackets inside strings, escapes, empty arrays, whitespace', () => {
  assert.equal(splitJsonArrays('[]\n[]\n[]\n'), [[], [], []]);
  assert.equal(splitJsonArrays('[{"a":"]\\"[{"}] [{"b":"\\\\"}]'), [[{ a: ']"[{' }], [{ b: '\\' }]]);
  assert.equal(splitJsonArrays(''), []);
  assert.equal(splitJsonArrays('[1,[2,[3]]]\n'), [[1, [2, [3]]]]);
  assert.equal(splitJsonArrays(text('fdb.json')), [json('fdb.json')]);
});

test('the recorded host, diffed against the plan flannel would have for it', () => {
  const parts = splitJsonArrays(text('batch-read.txt'));
  const actual: ActualState = {
    links: parseLinks(parts[0]), routes: parseRoutes(parts[1]), neighbors: parseNeighbors(parts[2]),
    fdb: parseFdb(json('fdb.json'), 'flannel.1'),
    // As flannel leaves it (its fix for router advertisements): read by its own tool, not in the recording.
    sysctl: new Map([['sysctl:flannel.1/accept_ra', 0]]),
  };
  const me = node(0, { vtepMAC: mac('0e:5a:3c:11:22:01') });
  const peers = [node(1, { vtepMAC: mac('0e:5a:3c:11:22:02') }), node(2, { vtepMAC: mac('0e:5a:3c:11:22:03') })];
  const d = plan({ cluster: cluster([me, ...peers], me), underlay: underlay() });
  const r = diff(d, actual, ownershipFor('flannel.1'));
  // In sync, except what ovlnet owns and does not want; foreign routes untouched.
  assert.equal(r.changes.map((c) => `${c.action} ${c.key}`).sort(), [
    'delete fdb:flannel.1/00:00:00:00:00:00/192.0.2.11',
    'delete route:198.18.3.0/24',
    'delete route:198.18.6.0/24',
  ]);
  assert.is(r.inSync, d.entries.length);
  assert.equal(r.conflicts, []);
});

test('parseBatchErrors: recorded stderr of `ip -force -batch -` with failing lines 2 and 4', () => {
  assert.equal(JSON.parse(text('ip-batch-fail.json')).exitCode, 1);
  assert.equal([...parseBatchErrors(text('ip-batch-fail.stderr'))], [
    [2, 'Nexthop has invalid gateway.'],
    [4, 'Cannot find device "nosuchdev"'],
  ]);
});

test('parseBatchErrors: recorded stderr of `bridge -force -batch -` with failing lines 2 and 3', () => {
  assert.equal([...parseBatchErrors(text('bridge-batch-fail.stderr'))], [
    [2, 'RTNETLINK answers: No such file or directory'],
    [3, 'Cannot find device "nosuchdev"'],
  ]);
});

test('parseBatchErrors: several message lines, a file name instead of -, no message, noise', () => {
  assert.equal([...parseBatchErrors('Error: a\nError: b\nCommand failed -:7\n')], [[7, 'a; b']]);
  assert.equal([...parseBatchErrors('Command failed /tmp/batch:3\n')], [[3, 'failed']]);
  assert.equal([...parseBatchErrors('\n\n  Error: x  \nCommand failed -:1\r\n')], [[1, 'x']]);
  assert.equal([...parseBatchErrors('Error: no line number\n')], []);
  assert.equal([...parseBatchErrors('')], []);
});

test.run();
