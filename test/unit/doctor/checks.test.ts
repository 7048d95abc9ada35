// Doctor's state, peer, routing, source and daemon checks on recorded facts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { daemonChecks, type DaemonFacts } from '../../../src/doctor/checks/daemon.js';
import { peerChecks, samplePeers, type PeerFacts, type PeerProbe } from '../../../src/doctor/checks/peers.js';
import { lookupProblem, routingChecks, type RoutingFacts } from '../../../src/doctor/checks/routing.js';
import { sourceChecks, type SourceFacts } from '../../../src/doctor/checks/source.js';
import { parseEnvFile, stateChecks, type StateFacts } from '../../../src/doctor/checks/state.js';
import { decide } from '../../../src/doctor/decide.js';
import type { CheckResult } from '../../../src/doctor/types.js';
import { parseIP, parsePrefix } from '../../../src/model/ip.js';
import { probePlan } from '../../../src/doctor/probe-plan.js';
import { plan } from '../../../src/backends/index.js';
import type { BackendConfig } from '../../../src/model/types.js';
import { cluster, HOSTGW, node, underlay, VXLAN } from '../support/build.js';
import { UDP_OVERHEAD } from '../../../src/backends/udp/plan.js';
import { VXLAN_OVERHEAD } from '../../../src/backends/vxlan/plan.js';
import { WG_OVERHEAD } from '../../../src/backends/wireguard/plan.js';

const rows = (rs: CheckResult[]) => rs.map((r) => `${r.status} ${r.name}${r.peer ? ` ${r.peer}` : ''}`);

// ---- state --------------------------------------------------------------
const ENV = '# written by ovlnet daemon\nFLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=198.18.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n';
const state = (o: Partial<StateFacts>): StateFacts => ({ drift: [], conflicts: [], subnetFile: '/run/flannel/subnet.env', subnetText: ENV, expectedSubnetEnv: ENV, ...o });
const stateCases: Array<[string, Partial<StateFacts>, string[], RegExp?]> = [
  ['in sync, subnet.env matches', {}, ['pass state.diff', 'pass state.subnet_env']],
  ['drift is a failure listing what', { drift: ['+ route 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink', '~ link flannel.1 (mtu 1400 -> 1450)'] }, ['fail state.diff', 'pass state.subnet_env'], /2 differences from the plan: \+ route 198\.18\.1\.0\/24.*; ~ link flannel\.1/],
  ['more than three changes are counted', { drift: ['a', 'b', 'c', 'd', 'e'] }, ['fail state.diff', 'pass state.subnet_env'], /a; b; c; and 2 more/],
  ['a foreign route on a peer subnet', { conflicts: ['a route not owned by ovlnet holds 198.18.1.0/24'] }, ['pass state.diff', 'fail state.conflicts', 'pass state.subnet_env']],
  ['subnet.env missing', { subnetText: undefined }, ['pass state.diff', 'fail state.subnet_env'], /does not exist/],
  ['subnet.env with another MTU', { subnetText: ENV.replace('1450', '1400') }, ['pass state.diff', 'fail state.subnet_env'], /FLANNEL_MTU=1400 \(plan: 1450\)/],
  ['subnet.env without masq line', { subnetText: ENV.replace('FLANNEL_IPMASQ=false\n', '') }, ['pass state.diff', 'fail state.subnet_env'], /FLANNEL_IPMASQ=\(missing\)/],
  ['subnet.env check off', { subnetFile: undefined, subnetText: undefined }, ['pass state.diff', 'pass state.subnet_env']],
];
for (const [what, o, want, re] of stateCases) {
  test(`state: ${what}`, () => {
    const got = stateChecks(state(o));
    assert.equal(rows(got), want);
    if (re) assert.ok(got.some((r) => re.test(r.message)), JSON.stringify(got));
  });
}
test('env file parsing: comments and quotes', () => {
  assert.equal([...parseEnvFile('# c\nA=1\nB="x y"\nnot a line\n')], [['A', '1'], ['B', 'x y']]);
});

// ---- peers ----------------------------------------------------------------
const ok = { ok: true, rttMs: 0.1 };
const lost = { ok: false };
const probe = (name: string, o: Partial<PeerProbe>): PeerProbe => ({ name, target: `t-${name}`, publicIP: `ip-${name}`, overlay: ok, underlay: ok, ...o });
const peers = (probed: PeerProbe[], o: Partial<PeerFacts> = {}): PeerFacts => ({ device: 'flannel.1', mtu: 1450, port: 8472, total: probed.length, probed, sampled: false, unknownRequested: [], localBlockers: [], ...o });
const peerCases: Array<[string, PeerFacts, string[], RegExp?]> = [
  ['all answer', peers([probe('b', {}), probe('c', {})]), ['pass peers.probed'], /probed 2 of 2 peers: 2 answer through flannel\.1 \(DF packets of 1450 bytes\)/],
  ['no peers', peers([]), ['pass peers.probed'], /no peers/],
  ['overlay blocked, underlay up: that peer', peers([probe('b', {}), probe('d', { overlay: lost, small: lost })]), ['warn peers.probed', 'fail peer.overlay d'], /overlay blocked: ip-d answers on the underlay, t-d does not answer/],
  ['underlay down', peers([probe('d', { overlay: lost, small: lost, underlay: lost })]), ['warn peers.probed', 'fail peer.underlay d'], /underlay down: ip-d does not answer/],
  ['path MTU: small passes, full size does not', peers([probe('d', { overlay: lost, small: ok })]), ['warn peers.probed', 'fail peer.mtu d'], /path MTU: DF packets of 1450 bytes/],
  ['ICMP filtered on the underlay only: a warning', peers([probe('d', { underlay: lost })]), ['pass peers.probed', 'warn peer.underlay d']],
  ['this host can not send: local route error', peers([probe('d', { overlay: { ok: false, error: 'connect: No route to host' }, small: { ok: false, error: 'connect: No route to host' } })]), ['warn peers.probed', 'fail peer.overlay d'], /this host can not send to t-d/],
  ['every overlay failure explained by this host: no peer named', peers([probe('b', { overlay: lost, small: lost }), probe('c', { overlay: lost, small: lost })], { localBlockers: [{ name: 'host.input', status: 'fail', message: '' }] }),
    ['warn peers.probed', 'fail peers.overlay'], /2 of 2 probed peers .* explained by this host: host\.input/],
  ['this host\'s underlay down: no peer blamed for either probe', peers([probe('b', { overlay: lost, small: lost, underlay: lost }), probe('c', { overlay: lost, small: lost, underlay: lost })], { localBlockers: [{ name: 'host.underlay', status: 'fail', message: '' }] }),
    ['warn peers.probed', 'fail peers.overlay'], /explained by this host: host\.underlay/],
  ['local blocker, but a peer with its underlay down is still named', peers([probe('b', { overlay: lost, small: lost, underlay: lost })], { localBlockers: [{ name: 'host.mtu', status: 'fail', message: '' }] }), ['warn peers.probed', 'fail peer.underlay b']],
  ['dual stack: the IPv6 half blocked, the IPv4 one fine: the peer named once, through the IPv6 device', peers([probe('b', {}), probe('b', { target: '2001:db8:100:1::', device: 'flannel-v6.1', mtu: 1430, overlay: lost, small: lost })]),
    ['warn peers.probed', 'fail peer.overlay b'], /2001:db8:100:1:: does not answer through flannel-v6\.1/],
  ['dual stack: both halves answer', peers([probe('b', {}), probe('b', { target: '2001:db8:100:1::', device: 'flannel-v6.1', mtu: 1430 })], { total: 1 }),
    ['pass peers.probed'], /probed 1 of 1 peers: 1 answer through flannel\.1 and flannel-v6\.1 \(DF packets of 1450 bytes for IPv4\)/],
  ['sampled: says so', peers([probe('b', {})], { total: 500, sampled: true }), ['pass peers.probed'], /a random sample of 1 of 500 peers \(add one with --peer NAME\)/],
  ['--peer that is not a peer', peers([probe('b', {})], { unknownRequested: ['zz'] }), ['warn peer.requested zz', 'pass peers.probed']],
  ['a peer this host routes elsewhere (routing.peer failed): its overlay failure points there, not at the peer\'s firewall', peers([probe('b', {}), probe('d', { overlay: lost, small: lost })], { misrouted: new Set(['d']) }),
    ['warn peers.probed', 'fail peer.overlay d'], /t-d does not answer through flannel\.1, explained by routing\.peer/],
];
for (const [what, f, want, re] of peerCases) {
  test(`peers: ${what}`, () => {
    const got = peerChecks(f);
    assert.equal(rows(got), want);
    if (re) assert.ok(got.some((r) => re.test(r.message)), JSON.stringify(got));
  });
}

test('sampling: all up to the limit, else a random sample of the limit plus the peers asked for', () => {
  const list = Array.from({ length: 10 }, (_, i) => ({ name: `n${i}` }));
  assert.equal(samplePeers(list, [], 10), { chosen: list, sampled: false, unknown: [] });
  let seed = 1;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  const s = samplePeers(list, ['n9', 'n0', 'nope'], 3, rnd);
  assert.ok(s.sampled);
  assert.equal(s.unknown, ['nope']);
  const names = s.chosen.map((n) => n.name);
  assert.ok(names.includes('n9') && names.includes('n0'), names.join());
  assert.ok(names.length >= 3 && names.length <= 5 && new Set(names).size === names.length, names.join());
});

// ---- routing ---------------------------------------------------------------
const P = (s: string) => parsePrefix(s)!;
const good = (addr: string) => ({ addr, answer: { dev: 'flannel.1', gateway: '198.18.1.0', table: '254', type: '1' } });
const routing = (o: Partial<RoutingFacts> & { lookups?: RoutingFacts['peers'][0]['lookups'] } = {}): RoutingFacts => ({
  peers: [{ name: 'node-b', subnet: P('198.18.1.0/24'), expect: { dev: 'flannel.1', via: '198.18.1.0' }, lookups: o.lookups ?? [good('198.18.1.1'), good('198.18.1.254')] }],
  mainRoutes: o.mainRoutes ?? [{ dst: P('198.18.1.0/24'), via: parseIP('198.18.1.0'), dev: 'flannel.1', onlink: true, proto: 244 }],
});
const routingCases: Array<[string, RoutingFacts, string[], RegExp?]> = [
  ['resolves through ovlnet', routing(), ['pass routing']],
  ['blackhole in part of the subnet', routing({ mainRoutes: [{ dst: P('198.18.1.128/28'), onlink: false, proto: 3, type: 'blackhole' }] }), ['fail routing.peer node-b'], /blackhole 198\.18\.1\.128\/28 shadows part of 198\.18\.1\.0\/24/],
  ['more specific route elsewhere', routing({ mainRoutes: [{ dst: P('198.18.1.0/25'), via: parseIP('192.0.2.1'), dev: 'eth0', onlink: false, proto: 4 }] }), ['fail routing.peer node-b'], /198\.18\.1\.0\/25 via 192\.0\.2\.1 dev eth0 shadows/],
  ['ovlnet\'s own routes never shadow', routing({ mainRoutes: [{ dst: P('198.18.1.0/25'), dev: 'flannel.1', onlink: true, proto: 244 }] }), ['pass routing']],
  ['a route of another subnet does not count', routing({ mainRoutes: [{ dst: P('198.18.2.0/25'), dev: 'eth0', onlink: false, proto: 3 }] }), ['pass routing']],
  ['lookup refused (blackhole/unreachable)', routing({ lookups: [good('198.18.1.1'), { addr: '198.18.1.254', error: 'No route to host' }] }), ['fail routing.peer node-b'], /ip route get 198\.18\.1\.254: No route to host/],
  ['a policy rule for part of the subnet, missed by both lookups', { ...routing(), rules: [{ priority: 0, table: 'local' }, { priority: 100, dst: P('198.18.1.64/26'), table: '100' }, { priority: 32766, table: 'main' }] },
    ['fail routing.peer node-b'], /policy rule 100: to 198\.18\.1\.64\/26 lookup 100 takes part of 198\.18\.1\.0\/24 past the main table/],
  ['a policy rule for another subnet', { ...routing(), rules: [{ priority: 100, dst: P('198.18.2.0/24'), table: '100' }] }, ['pass routing']],
  ['a blackhole rule over the whole network', { ...routing(), rules: [{ priority: 100, dst: P('198.18.0.0/16'), table: 'blackhole' }] }, ['fail routing.peer node-b'], /takes all of 198\.18\.1\.0\/24/],
  ['policy rule to another table', routing({ lookups: [{ addr: '198.18.1.1', answer: { dev: 'eth0', gateway: '192.0.2.1', table: '100', type: '1' } }] }), ['fail routing.peer node-b'], /resolves via 192\.0\.2\.1 dev eth0 table 100 \(a policy rule selects that table\)/],
];
for (const [what, f, want, re] of routingCases) {
  test(`routing: ${what}`, () => {
    const got = routingChecks(f);
    assert.equal(rows(got), want);
    if (re) assert.ok(got.some((r) => re.test(r.message)), JSON.stringify(got));
  });
}
test('routing: a device route (udp) expects no gateway', () => {
  assert.is(lookupProblem({ addr: '198.18.1.1', answer: { dev: 'flannel0', table: 'main' } }, { dev: 'flannel0' }), undefined);
  assert.match(lookupProblem({ addr: '198.18.1.1', answer: { dev: 'eth0', table: 'main' } }, { dev: 'flannel0' })!, /not through ovlnet's route dev flannel0/);
});

// ---- source -----------------------------------------------------------------
const NOW = Date.parse('2026-12-03T10:00:00Z');
const source = (o: Partial<SourceFacts>): SourceFacts => ({ vtep: { device: 'flannel.1', published: '0e:00:00:00:00:01', actual: '0e:00:00:00:00:01' }, now: NOW, leftOut: [], flanneld: [], ...o });
const sourceCases: Array<[string, Partial<SourceFacts>, string[], RegExp?]> = [
  ['all well', {}, ['pass source.vtep_mac', 'pass source.lease', 'pass source.nodes', 'pass source.flanneld']],
  ['device MAC differs from the published one', { vtep: { device: 'flannel.1', published: '0e:00:00:00:00:01', actual: '0e:00:00:00:00:02' } }, ['fail source.vtep_mac', 'pass source.lease', 'pass source.nodes', 'pass source.flanneld'], /publishes 0e:00:00:00:00:01 .* has 0e:00:00:00:00:02/],
  ['MAC case does not matter', { vtep: { device: 'flannel.1', published: '0E:00:00:00:00:01', actual: '0e:00:00:00:00:01' } }, ['pass source.vtep_mac', 'pass source.lease', 'pass source.nodes', 'pass source.flanneld']],
  ['no device', { vtep: { device: 'flannel.1', published: '0e:00:00:00:00:01' } }, ['fail source.vtep_mac', 'pass source.lease', 'pass source.nodes', 'pass source.flanneld']],
  ['host-gw: no VTEP', { vtep: undefined }, ['pass source.lease', 'pass source.nodes', 'pass source.flanneld']],
  ['lease far from expiry', { expiresAt: new Date(NOW + 20 * 3600_000) }, ['pass source.vtep_mac', 'pass source.lease', 'pass source.nodes', 'pass source.flanneld'], /expires in 20 h/],
  ['lease about to expire', { expiresAt: new Date(NOW + 10 * 60_000) }, ['pass source.vtep_mac', 'warn source.lease', 'pass source.nodes', 'pass source.flanneld'], /expires in 10 min/],
  ['lease expired', { expiresAt: new Date(NOW - 1000) }, ['pass source.vtep_mac', 'fail source.lease', 'pass source.nodes', 'pass source.flanneld'], /expired/],
  ['a node left out, named', { leftOut: [{ name: 'node-x', subject: 'node node-x (nodes[4]).publicIP', reason: 'not an IP address' }] }, ['pass source.vtep_mac', 'pass source.lease', 'warn source.left_out node-x', 'pass source.flanneld'], /nodes\[4\].*not an IP/],
  ['flanneld in this namespace', { flanneld: [{ pid: 42, sameNetns: true }] }, ['pass source.vtep_mac', 'pass source.lease', 'pass source.nodes', 'fail source.flanneld'], /pid 42/],
  ['flanneld elsewhere', { flanneld: [{ pid: 42, sameNetns: false }] }, ['pass source.vtep_mac', 'pass source.lease', 'pass source.nodes', 'pass source.flanneld']],
];
for (const [what, o, want, re] of sourceCases) {
  test(`source: ${what}`, () => {
    const got = sourceChecks(source(o));
    assert.equal(rows(got), want);
    if (re) assert.ok(got.some((r) => re.test(r.message)), JSON.stringify(got));
  });
}
test('source: many left out are capped with a count', () => {
  const leftOut = Array.from({ length: 15 }, (_, i) => ({ subject: `nodes[${i}]`, reason: 'bad' }));
  const got = sourceChecks(source({ leftOut })).filter((r) => r.name === 'source.left_out');
  assert.is(got.length, 11);
  assert.match(got[10].message, /and 5 more/);
});

// ---- daemon view ----------------------------------------------------------------
const daemon = (o: Partial<DaemonFacts>): DaemonFacts => ({ url: 'http://127.0.0.1:9465/peers', peers: [], probedHere: [], ...o });
const daemonCases: Array<[string, DaemonFacts | undefined, string[]]> = [
  ['not asked', undefined, []],
  ['unreadable', daemon({ peers: undefined, error: 'ECONNREFUSED' }), ['warn daemon.probes']],
  ['all reachable', daemon({ peers: [{ name: 'b', state: 'reachable' }] }), ['pass daemon.probes']],
  ['unreachable and probed here too: doctor\'s own result stands', daemon({ peers: [{ name: 'b', state: 'unreachable' }], probedHere: ['b'] }), ['warn daemon.probes']],
  ['unreachable outside the sample: named', daemon({ peers: [{ name: 'z', state: 'unreachable', since: 'x' }], probedHere: ['b'] }), ['warn daemon.probes', 'fail daemon.peer z']],
  ['dual stack: a peer down on both families is named once', daemon({ peers: [{ name: 'z', family: 4, state: 'unreachable' }, { name: 'z', family: 6, state: 'unreachable' }], probedHere: [] }), ['warn daemon.probes', 'fail daemon.peer z']],
  ['dual stack: down on IPv6 only, probed here: doctor\'s own result stands', daemon({ peers: [{ name: 'b', family: 4, state: 'reachable' }, { name: 'b', family: 6, state: 'unreachable' }], probedHere: ['b'] }), ['warn daemon.probes']],
];
for (const [what, f, want] of daemonCases) test(`daemon view: ${what}`, () => assert.equal(rows(daemonChecks(f)), want));

// What the rows say of a dual-stack daemon's entries (one per peer and family): peers counted by name, the families down named.
const daemonMessages: Array<[string, DaemonFacts['peers'], string[]]> = [
  ['one peer, both families down', [{ name: 'z', family: 4, state: 'unreachable', since: '2026-01-01T00:00:02Z' }, { name: 'z', family: 6, state: 'unreachable', since: '2026-01-01T00:00:01Z' }],
    ['the daemon probes 1 peer: 1 unreachable (z over IPv4 and IPv6)', 'the daemon\'s probes find it unreachable over IPv4 and IPv6 since 2026-01-01T00:00:01Z (not in doctor\'s sample)']],
  ['IPv6 down on one, the other not probed yet on IPv6', [{ name: 'y', family: 4, state: 'reachable' }, { name: 'y', family: 6, state: 'unreachable' }, { name: 'x', family: 4, state: 'reachable' }, { name: 'x', family: 6, state: 'unknown' }],
    ['the daemon probes 2 peers: 1 unreachable, 1 not probed yet (y over IPv6)', 'the daemon\'s probes find it unreachable over IPv6 (not in doctor\'s sample)']],
  ['a single-family cluster names no family', [{ name: 'z', family: 4, state: 'unreachable' }, { name: 'y', family: 4, state: 'reachable' }],
    ['the daemon probes 2 peers: 1 unreachable (z)', 'the daemon\'s probes find it unreachable (not in doctor\'s sample)']],
];
for (const [what, peers, want] of daemonMessages) {
  test(`daemon view, messages: ${what}`, () => assert.equal(daemonChecks(daemon({ peers, probedHere: [] })).map((r) => r.message), want));
}

test('verdict: ok unless a check failed; warnings allowed', () => {
  const base = {
    state: state({}), source: source({}), routing: routing(), daemon: undefined,
    peers: { device: 'flannel.1', mtu: 1450, total: 1, probed: [probe('b', { underlay: lost })], sampled: false, unknownRequested: [] },
  };
  const host = {
    networks: [P('198.18.0.0/16')], localSubnet: P('198.18.3.0/24'), sysctl: { 'net.ipv4.ip_forward': '1' }, filter: { policies: new Map(), rules: [] },
    backend: { type: 'vxlan', port: 8472, device: 'flannel.1', overhead: 50 }, localPublicIP: parseIP('192.0.2.13')!, peers: [],
    underlay: { dev: 'eth0', exists: true, up: true, carrier: true, mtu: 1500 }, overlay: { dev: 'flannel.1', mtu: 1450, up: true }, kernelRelease: '6.1', gateway: P('198.18.3.1/24'),
  };
  const r = decide({ ...base, host });
  assert.is(r.ok, true);
  assert.ok(r.checks.some((c) => c.status === 'warn'));
  const bad = decide({ ...base, host: { ...host, sysctl: { 'net.ipv4.ip_forward': '0' } } });
  assert.is(bad.ok, false);
  assert.is(bad.version, 1);
});

test('verdict: a peer this host routes elsewhere: routing.peer fails, and the peer\'s overlay failure names it instead of the peer\'s firewall', () => {
  const host = {
    networks: [P('198.18.0.0/16')], localSubnet: P('198.18.3.0/24'), sysctl: { 'net.ipv4.ip_forward': '1' }, filter: { policies: new Map(), rules: [] },
    backend: { type: 'vxlan', port: 8472, device: 'flannel.1', overhead: 50 }, localPublicIP: parseIP('192.0.2.13')!, peers: [],
    underlay: { dev: 'eth0', exists: true, up: true, carrier: true, mtu: 1500 }, overlay: { dev: 'flannel.1', mtu: 1450, up: true }, kernelRelease: '6.1', gateway: P('198.18.3.1/24'),
  };
  const elsewhere = { addr: '198.18.1.1', answer: { dev: 'eth0', gateway: '192.0.2.1', table: '254', type: '1' } };
  const r = decide({
    state: state({}), source: source({}), host, daemon: undefined,
    routing: routing({ lookups: [elsewhere], mainRoutes: [{ dst: P('198.18.1.0/24'), via: parseIP('192.0.2.1'), dev: 'eth0', onlink: false, proto: 4 }] }),
    peers: { device: 'flannel.1', mtu: 1450, total: 1, probed: [probe('node-b', { overlay: lost, small: lost })], sampled: false, unknownRequested: [] },
  });
  const peerRows = r.checks.filter((c) => c.peer === 'node-b');
  assert.equal(peerRows.map((c) => `${c.status} ${c.name}`), ['fail routing.peer', 'fail peer.overlay']);
  assert.match(peerRows[1].message, /explained by routing\.peer/);
  assert.not.match(peerRows[1].hint ?? '', /8472/);
});

test('probe plan: the backend says its encapsulation (the overhead it plans with, the port); host-gw has none and probes the pod gateways over the underlay', () => {
  const cases: Array<[BackendConfig, { device: string; port?: number; overhead?: number; target: string }]> = [
    [VXLAN, { device: 'flannel.1', port: 8472, overhead: VXLAN_OVERHEAD, target: '198.18.1.0' }],
    [{ type: 'udp', port: 8285 }, { device: 'flannel0', port: 8285, overhead: UDP_OVERHEAD, target: '198.18.1.0' }],
    [{ type: 'wireguard', listenPort: 51820, listenPortV6: 51821, keepalive: 0, mode: 'separate' }, { device: 'flannel-wg', port: 51820, overhead: WG_OVERHEAD, target: '198.18.1.0' }],
    [HOSTGW, { device: 'eth0', port: undefined, overhead: undefined, target: '198.18.1.1' }],
  ];
  for (const [backend, want] of cases) {
    const [n0, n1] = [node(0), node(1)];
    const c = cluster([n0, n1], n0, backend);
    const p = probePlan({ cluster: c, desired: plan({ cluster: c, underlay: underlay() }) });
    assert.equal({ device: p.device, port: p.port, overhead: p.overhead, target: p.targetOf(n1).text }, want, backend.type);
  }
});

test.run();
