// The daemon's overlay probes: round robin, state changes, the log lines
// they cause, the metrics and /peers; and ping's output as recorded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DaemonMetrics } from '../../../src/daemon/metrics.js';
import { Logger } from '../../../src/daemon/logger.js';
import { FAILURES_UNREACHABLE, kept, peersJSON, pickRound, recordProbe, syncTargets, type PeerProbeState } from '../../../src/daemon/peer-probes.js';
import { PROBES_PER_ROUND, Prober } from '../../../src/daemon/prober.js';
import { parsePing } from '../../../src/host/parse-ping.js';
import { parsePrefix, parseIP } from '../../../src/model/ip.js';
import { FakeClock } from '../../lib/fake-clock.js';

const v4 = (name: string, target: string) => ({ name, family: 4 as const, target, payload: 1422 });

test('round robin: the next n names, wrapping, each once per round', () => {
  const names = ['a', 'b', 'c', 'd', 'e'];
  const table: Array<[cursor: number, n: number, picked: string[], next: number]> = [
    [0, 2, ['a', 'b'], 2], [4, 2, ['e', 'a'], 1], [3, 8, ['d', 'e', 'a', 'b', 'c'], 3], [12, 1, ['c'], 3],
  ];
  for (const [cursor, n, picked, next] of table) assert.equal(pickRound(names, cursor, n), { picked, cursor: next }, `cursor ${cursor} n ${n}`);
  assert.equal(pickRound([], 5, 3), { picked: [], cursor: 0 });
});

test('state: unreachable after two failures in a row, back on the first answer; one change each way', () => {
  let s: PeerProbeState = { name: 'b', family: 4, target: 't', payload: 1422, state: 'unknown', failures: 0 };
  const steps: Array<[ok: boolean, now: number, state: string, change?: string]> = [
    [true, 1, 'reachable'], [false, 2, 'reachable'], [true, 3, 'reachable'],
    [false, 4, 'reachable'], [false, 5, 'unreachable', 'unreachable'], [false, 6, 'unreachable'], [true, 7, 'reachable', 'reachable'],
  ];
  for (const [ok, now, want, change] of steps) {
    const r = recordProbe(s, ok ? { ok, rttMs: 1 } : { ok, error: 'x' }, now);
    assert.is(r.state.state, want, `t=${now}`);
    assert.is(r.change, change, `t=${now}`);
    s = r.state;
  }
  assert.is(s.since, 7);
  assert.is(FAILURES_UNREACHABLE, 2);
});

test('targets: state kept for unchanged peers, reset when the target moves, dropped for gone ones', () => {
  const prev = new Map<string, PeerProbeState>([
    ['b/4', { ...v4('b', '198.18.1.0'), state: 'unreachable', failures: 3 }],
    ['b/6', { name: 'b', family: 6, target: '2001:db8:100:1::', payload: 1382, state: 'reachable', failures: 0 }],
    ['c/4', { ...v4('c', '198.18.2.0'), state: 'reachable', failures: 0 }],
    ['x/4', { ...v4('x', '198.18.9.0'), state: 'reachable', failures: 0 }],
  ]);
  const next = syncTargets(prev, [v4('b', '198.18.1.0'), { name: 'b', family: 6, target: '2001:db8:100:1::', payload: 1382 }, v4('c', '198.18.7.0'), v4('d', '198.18.3.0')]);
  assert.equal([...next.values()].map((s) => `${s.name} ${s.family} ${s.state}`), ['b 4 unreachable', 'b 6 reachable', 'c 4 unknown', 'd 4 unknown']);
  const j = peersJSON(next.values(), 10_000);
  assert.is(j.version, 1);
  assert.equal(j.peers.map((p) => `${p.name} ${p.family}`), ['b 4', 'b 6', 'c 4', 'd 4']);
});

test('state objects: every way a state is made gives the same fields in the same order (one V8 hidden class for all peers)', () => {
  const fresh = syncTargets(new Map(), [v4('a', '198.18.1.0')]).get('a/4')!;
  const reached = recordProbe(fresh, { ok: true, rttMs: 1 }, 1).state;
  const failed = recordProbe(reached, { ok: false, error: 'x' }, 2).state;
  const down = recordProbe(failed, { ok: false, error: 'x' }, 3).state;
  const back = recordProbe(down, { ok: true, rttMs: 2 }, 4).state;
  const resized = kept(back, { ...v4('a', '198.18.1.0'), payload: 1000 });
  const keys = Object.keys(fresh);
  assert.equal(keys, ['name', 'family', 'target', 'payload', 'state', 'since', 'lastProbeAt', 'rttMs', 'failures', 'lastError']);
  const table: Array<[what: string, s: PeerProbeState]> = [['reached', reached], ['failed once', failed], ['unreachable', down], ['back', back], ['payload changed', resized]];
  for (const [what, s] of table) assert.equal(Object.keys(s), keys, what);
  assert.equal([down.state, down.failures, down.since, back.state, back.lastError], ['unreachable', 2, 3, 'reachable', undefined]);
});

const pingCases: Array<[code: number, out: string, err: string, want: object]> = [
  [0, 'PING 198.18.1.0 (198.18.1.0) 1422(1450) bytes of data.\n1430 bytes from 198.18.1.0: icmp_seq=1 ttl=64 time=0.071 ms\n', '', { ok: true, rttMs: 0.071 }],
  [1, 'PING 198.18.3.0 (198.18.3.0) 1422(1450) bytes of data.\n\n--- 198.18.3.0 ping statistics ---\n1 packets transmitted, 0 received, 100% packet loss, time 0ms\n', '', { ok: false }],
  [1, '', 'ping: local error: message too long, mtu=1400\n', { ok: false, error: 'message too long, mtu=1400' }],
  [1, 'From 192.0.2.10 icmp_seq=1 Destination Host Unreachable\n', '', { ok: false, error: 'Destination Host Unreachable' }],
  [2, '', 'ping: connect: No route to host\n', { ok: false, error: 'connect: No route to host' }],
];
for (const [code, out, err, want] of pingCases) test(`ping output: ${JSON.stringify(want)}`, () => assert.equal(parsePing(code, out, err), want));

/** A plan of three vxlan peers as the prober sees it. */
function snap(names = ['node-b', 'node-c', 'node-d']) {
  const node = (name: string, i: number) => ({ name, subnet: parsePrefix(`198.18.${i + 1}.0/24`)!, publicIP: parseIP(`192.0.2.${11 + i}`)! });
  return {
    cluster: { config: { backend: { type: 'vxlan', vni: 1, port: 8472, directRouting: false } } },
    desired: {
      backend: 'vxlan', device: 'flannel.1', underlay: { dev: 'eth0', mtu: 1500, found: true },
      entries: [{ kind: 'link', name: 'flannel.1', mtu: 1450 }],
      peers: names.map((n, i) => ({ node: node(n, i), via: 'vxlan' })),
    },
  } as any;
}

async function metric(m: DaemonMetrics, name: string, label?: string): Promise<number> {
  const j = await m.registry.getSingleMetric(name)!.get();
  return j.values.filter((v) => !label || Object.values(v.labels).includes(label)).reduce((a, v) => a + v.value, 0);
}

test('prober: probes round robin at the overlay MTU, counts, logs one line per change, serves /peers', async () => {
  const clock = new FakeClock();
  const lines: any[] = [];
  const log = new Logger({ format: 'json', level: 'debug', write: (s) => lines.push(JSON.parse(s)) });
  const metrics = new DaemonMetrics();
  const down = new Set<string>();
  const sent: string[] = [];
  const prober = new Prober({
    intervalMs: 10_000, clock, log, metrics,
    probe: async (target, payload) => {
      sent.push(`${target} ${payload}`);
      return down.has(target) ? { ok: false, error: 'timeout' } : { ok: true, rttMs: 0.2 };
    },
  });
  prober.update(snap());
  await clock.advance(1000);
  assert.equal(sent, ['198.18.1.0 1422', '198.18.2.0 1422', '198.18.3.0 1422'], 'every peer once, DF payload = MTU - 28');
  assert.is(await metric(metrics, 'ovlnet_probes_total', 'ok'), 3);
  assert.is(await metric(metrics, 'ovlnet_peers_unreachable'), 0);

  down.add('198.18.3.0');
  await clock.advance(10_000);
  assert.is(await metric(metrics, 'ovlnet_peers_unreachable'), 0, 'one failure is not an outage');
  await clock.advance(10_000);
  assert.is(await metric(metrics, 'ovlnet_peers_unreachable'), 1);
  assert.is(await metric(metrics, 'ovlnet_probes_total', 'failed'), 2);
  await clock.advance(10_000);
  const went = lines.filter((l) => l.msg === 'peer unreachable through the overlay');
  assert.is(went.length, 1, 'one line, not one per failed probe');
  assert.is(went[0].peer, 'node-d');
  assert.equal(prober.peers().peers.map((p) => `${p.name} ${p.state}`), ['node-b reachable', 'node-c reachable', 'node-d unreachable']);

  down.clear();
  await clock.advance(10_000);
  assert.is(lines.filter((l) => l.msg === 'peer reachable again through the overlay').length, 1);
  assert.is(await metric(metrics, 'ovlnet_peers_unreachable'), 0);
  prober.stop();
  assert.is(clock.pending, 0, 'stop leaves no timer');
});

test(`prober: at most ${PROBES_PER_ROUND} probes a round, spaced out`, async () => {
  const clock = new FakeClock();
  const names = Array.from({ length: 20 }, (_, i) => `n${i}`);
  const times: number[] = [];
  const prober = new Prober({
    intervalMs: 10_000, clock, log: new Logger({ format: 'json', level: 'error', write: () => undefined }), metrics: new DaemonMetrics(),
    probe: async () => { times.push(clock.now()); return { ok: true }; },
  });
  prober.update(snap(names));
  await clock.advance(9_000);
  assert.is(times.length, PROBES_PER_ROUND);
  for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 250, `probes ${times[i - 1]} and ${times[i]} closer than 250 ms`);
  await clock.advance(20_000);
  assert.is(times.length, 3 * PROBES_PER_ROUND);
  prober.stop();
});

test('prober: an incremental plan\'s delta gives the same peers, states, order and metric as the whole plan', async () => {
  /** A plan of vxlan peers [name, subnet's third octet]. */
  const planOf = (peers: Array<[string, number]>) => {
    const s = snap([]);
    s.desired = { ...s.desired, peers: peers.map(([name, i]) => ({ node: { name, subnet: parsePrefix(`198.18.${i}.0/24`)!, publicIP: parseIP(`192.0.2.${i}`)! }, via: 'vxlan' })) };
    return s;
  };
  const before = planOf([['node-b', 1], ['node-c', 2], ['node-d', 3], ['node-f', 6]]);
  // node-b gone, node-c renumbered, node-d touched but the same, node-e new; node-f untouched.
  const after = planOf([['node-f', 6], ['node-c', 7], ['node-d', 3], ['node-e', 5]]);
  const peerOf = (name: string) => after.desired.peers.find((p: any) => p.node.name === name);
  const delta = { since: before.desired, peers: new Map([['node-b', undefined], ['node-c', peerOf('node-c')], ['node-d', peerOf('node-d')], ['node-e', peerOf('node-e')]]), removed: [], added: [] };
  const run = async (second: any) => {
    const clock = new FakeClock();
    const metrics = new DaemonMetrics();
    const prober = new Prober({
      intervalMs: 10_000, clock, log: new Logger({ format: 'json', level: 'error', write: () => undefined }), metrics,
      probe: async (target) => (target === '198.18.2.0' || target === '198.18.3.0' ? { ok: false, error: 'timeout' } : { ok: true, rttMs: 0.2 }),
    });
    prober.update(before);
    await clock.advance(20_000);
    assert.is(await metric(metrics, 'ovlnet_peers_unreachable'), 2, 'node-c and node-d unreachable before');
    prober.update(second);
    const out = { peers: prober.peers().peers.map((p) => `${p.name} ${p.target} ${p.state}`), unreachable: await metric(metrics, 'ovlnet_peers_unreachable') };
    prober.stop();
    return out;
  };
  const whole = await run(after);
  assert.equal(whole, { peers: ['node-f 198.18.6.0 reachable', 'node-c 198.18.7.0 unknown', 'node-d 198.18.3.0 unreachable', 'node-e 198.18.5.0 unknown'], unreachable: 1 });
  assert.equal(await run({ ...after, delta }), whole);
});

/** A dual-stack plan (backend vxlan or host-gw) whose peers have both families, or only IPv4 where `v4only` names them. */
function dualSnap(backend: 'vxlan' | 'host-gw', names: string[], v4only: string[] = []) {
  const node = (name: string, i: number) => ({
    name, subnet: parsePrefix(`198.18.${i + 1}.0/24`)!, publicIP: parseIP(`192.0.2.${11 + i}`)!,
    ...(v4only.includes(name) ? {} : { v6: { subnet: parsePrefix(`2001:db8:100:${i + 1}::/64`)!, publicIP: parseIP(`2001:db8:1::${11 + i}`)! } }),
  });
  const vxlan = backend === 'vxlan';
  return {
    cluster: { config: { backend: vxlan ? { type: 'vxlan', vni: 1, port: 8472, directRouting: false } : { type: 'host-gw' }, ipv6: { network: parsePrefix('2001:db8:100::/48')!, subnetLen: 64 } } },
    desired: {
      backend, underlay: { dev: 'eth0', mtu: 1500, found: true }, local: { v6: {} },
      ...(vxlan ? { device: 'flannel.1', device6: 'flannel-v6.1' } : {}),
      entries: vxlan ? [{ kind: 'link', name: 'flannel.1', mtu: 1450 }, { kind: 'link', name: 'flannel-v6.1', mtu: 1430 }] : [],
      peers: names.map((n, i) => ({ node: node(n, i), via: backend })),
    },
  } as any;
}

// A dual-stack peer is probed on each family, with a state per family: an
// IPv6 overlay that is down beside a working IPv4 one is seen, and a peer
// down on both families is one unreachable peer.
const dualCases: Array<{
  what: string; backend: 'vxlan' | 'host-gw'; v4only?: string[]; down: string[];
  probes: string[]; unreachable: number; peers: string[]; warned: string[];
}> = [
  {
    what: 'vxlan: node-c\'s IPv6 overlay is down, its IPv4 one answers', backend: 'vxlan', down: ['2001:db8:100:2::'],
    probes: ['198.18.1.0 1422', '2001:db8:100:1:: 1382', '198.18.2.0 1422', '2001:db8:100:2:: 1382'],
    unreachable: 1, peers: ['node-b 4 reachable', 'node-b 6 reachable', 'node-c 4 reachable', 'node-c 6 unreachable'], warned: ['node-c 6'],
  },
  {
    what: 'vxlan: node-c down on both families is one unreachable peer', backend: 'vxlan', down: ['198.18.2.0', '2001:db8:100:2::'],
    probes: ['198.18.1.0 1422', '2001:db8:100:1:: 1382', '198.18.2.0 1422', '2001:db8:100:2:: 1382'],
    unreachable: 1, peers: ['node-b 4 reachable', 'node-b 6 reachable', 'node-c 4 unreachable', 'node-c 6 unreachable'], warned: ['node-c 4', 'node-c 6'],
  },
  {
    what: 'vxlan: node-b\'s IPv4 and node-c\'s IPv6 down are two', backend: 'vxlan', down: ['198.18.1.0', '2001:db8:100:2::'],
    probes: ['198.18.1.0 1422', '2001:db8:100:1:: 1382', '198.18.2.0 1422', '2001:db8:100:2:: 1382'],
    unreachable: 2, peers: ['node-b 4 unreachable', 'node-b 6 reachable', 'node-c 4 reachable', 'node-c 6 unreachable'], warned: ['node-b 4', 'node-c 6'],
  },
  {
    what: 'vxlan: a peer without an IPv6 half is probed on IPv4 alone', backend: 'vxlan', v4only: ['node-b'], down: ['2001:db8:100:2::'],
    probes: ['198.18.1.0 1422', '198.18.2.0 1422', '2001:db8:100:2:: 1382'],
    unreachable: 1, peers: ['node-b 4 reachable', 'node-c 4 reachable', 'node-c 6 unreachable'], warned: ['node-c 6'],
  },
  {
    what: 'host-gw: node-b\'s IPv6 pod gateway does not answer', backend: 'host-gw', down: ['2001:db8:100:1::1'],
    probes: ['198.18.1.1 1472', '2001:db8:100:1::1 1452', '198.18.2.1 1472', '2001:db8:100:2::1 1452'],
    unreachable: 1, peers: ['node-b 4 reachable', 'node-b 6 unreachable', 'node-c 4 reachable', 'node-c 6 reachable'], warned: ['node-b 6'],
  },
];

for (const c of dualCases) {
  test(`prober, dual stack: ${c.what}`, async () => {
    const clock = new FakeClock();
    const lines: any[] = [];
    const metrics = new DaemonMetrics();
    const sent: string[] = [];
    const prober = new Prober({
      intervalMs: 10_000, clock, metrics, log: new Logger({ format: 'json', level: 'debug', write: (s) => lines.push(JSON.parse(s)) }),
      probe: async (target, payload) => {
        sent.push(`${target} ${payload}`);
        return c.down.includes(target) ? { ok: false, error: 'timeout' } : { ok: true, rttMs: 0.2 };
      },
    });
    prober.update(dualSnap(c.backend, ['node-b', 'node-c'], c.v4only));
    await clock.advance(25_000);
    assert.equal(sent.slice(0, c.probes.length), c.probes, 'each family once a round, at its own MTU');
    assert.is(await metric(metrics, 'ovlnet_peers_unreachable'), c.unreachable);
    assert.equal(prober.peers().peers.map((p: any) => `${p.name} ${p.family} ${p.state}`), c.peers);
    assert.equal(lines.filter((l) => l.msg === 'peer unreachable through the overlay').map((l) => `${l.peer} ${l.family}`), c.warned);
    assert.is(await metric(metrics, 'ovlnet_probes_total', '6'), sent.filter((x) => x.includes(':')).length, 'IPv6 probes counted under family 6');
    prober.stop();
  });
}

test('prober, dual stack: an incremental delta keeps each family\'s state of an untouched target, drops a gone peer\'s both', async () => {
  const before = dualSnap('vxlan', ['node-b', 'node-c']);
  const after = dualSnap('vxlan', ['node-b', 'node-c']);
  after.desired.peers = [after.desired.peers[0]];
  const delta = { since: before.desired, peers: new Map([['node-c', undefined], ['node-b', after.desired.peers[0]]]), removed: [], added: [] };
  const clock = new FakeClock();
  const metrics = new DaemonMetrics();
  const prober = new Prober({
    intervalMs: 10_000, clock, metrics, log: new Logger({ format: 'json', level: 'error', write: () => undefined }),
    probe: async (target) => (target.startsWith('2001:db8:100:') ? { ok: false, error: 'timeout' } : { ok: true }),
  });
  prober.update(before);
  await clock.advance(25_000);
  assert.is(await metric(metrics, 'ovlnet_peers_unreachable'), 2);
  prober.update({ ...after, delta });
  assert.equal(prober.peers().peers.map((p: any) => `${p.name} ${p.family} ${p.state}`), ['node-b 4 reachable', 'node-b 6 unreachable']);
  assert.is(await metric(metrics, 'ovlnet_peers_unreachable'), 1);
  prober.stop();
});

test.run();
