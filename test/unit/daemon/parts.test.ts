// The daemon's small pure parts: subnet.env, health, durations, the metrics
// address, systemd-notify arguments.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration } from '../../../src/daemon/duration.js';
import { writeFileAtomic } from '../../../src/host/files.js';
import { health, readiness } from '../../../src/daemon/health.js';
import { DaemonMetrics } from '../../../src/daemon/metrics.js';
import { notifyArgs, SystemdNotifier } from '../../../src/daemon/notify.js';
import { parseListenAddr } from '../../../src/daemon/server.js';
import { plan } from '../../../src/backends/index.js';
import { defaultSubnetFile, renderSubnetEnv, subnetEnvFor } from '../../../src/daemon/subnet-env.js';
import type { BackendConfig } from '../../../src/model/types.js';
import { cluster, HOSTGW, node, underlay, VXLAN } from '../support/build.js';
import { OvlnetError } from '../../../src/errors.js';
import { parsePrefix } from '../../../src/model/ip.js';

const P = (s: string) => parsePrefix(s)!;

const envTable: Array<[string, string, number, string]> = [
  ['10.244.0.0/16', '10.244.1.0/24', 1450, '# written by ovlnet daemon\nFLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n'],
  ['198.18.0.0/16', '198.18.0.0/24', 1500, '# written by ovlnet daemon\nFLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=198.18.0.1/24\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=false\n'],
  ['198.18.0.0/20', '198.18.3.64/26', 8950, '# written by ovlnet daemon\nFLANNEL_NETWORK=198.18.0.0/20\nFLANNEL_SUBNET=198.18.3.65/26\nFLANNEL_MTU=8950\nFLANNEL_IPMASQ=false\n'],
];
for (const [net, sub, mtu, want] of envTable) {
  test(`renderSubnetEnv ${sub} mtu ${mtu}`, () => {
    assert.is(renderSubnetEnv({ network: P(net), subnet: P(sub), mtu, ipMasq: false }), want);
  });
}

test('subnetEnvFor: FLANNEL_MTU is the backend device\'s MTU (vxlan: Backend.MTU - 50; udp: the TUN\'s, underlay - 28; host-gw: the underlay\'s)', () => {
  const rows: Array<[BackendConfig, number | undefined, number]> = [
    [VXLAN, undefined, 1450],
    [{ ...VXLAN, mtu: 1400 } as BackendConfig, undefined, 1350],
    [{ type: 'udp', port: 8285 }, undefined, 1472],
    [HOSTGW, undefined, 1500],
    [HOSTGW, 9000, 9000],
  ];
  for (const [backend, umtu, want] of rows) {
    const c = cluster([node(0), node(1)], node(0), backend);
    const d = plan({ cluster: c, underlay: underlay(umtu ? { mtu: umtu } : {}) });
    assert.is(subnetEnvFor(c.config, d).mtu, want, JSON.stringify(backend));
  }
});

test('renderSubnetEnv refuses a bad MTU', () => {
  assert.throws(() => renderSubnetEnv({ network: P('10.0.0.0/8'), subnet: P('10.1.0.0/24'), mtu: 0, ipMasq: false }));
});

test('writeFileAtomic creates the directory, replaces the file, leaves no temp file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-unit-'));
  try {
    const p = join(dir, 'run', 'flannel', 'subnet.env');
    await writeFileAtomic(p, 'A=1\n');
    await writeFileAtomic(p, 'A=2\n');
    assert.is(readFileSync(p, 'utf8'), 'A=2\n');
    assert.is(statSync(p).mode & 0o777, 0o644);
    assert.equal(readdirSync(join(dir, 'run', 'flannel')), ['subnet.env']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Liveness is the loop's, never the source's: the regression rows are the ones
// where the last success is old but the loop runs (an etcd outage).
type Loop = { now: number; startedAt: number; lastSuccessAt?: number; intervalMs: number; runningSince?: number; nextDueAt: number };
const healthTable: Array<[string, Loop, boolean]> = [
  ['recent success, next cycle scheduled', { now: 100_000, startedAt: 0, lastSuccessAt: 95_000, intervalMs: 10_000, nextDueAt: 105_000 }, true],
  ['source down for 10 minutes, retries scheduled', { now: 700_000, startedAt: 0, lastSuccessAt: 100_000, intervalMs: 10_000, nextDueAt: 720_000 }, true],
  ['never succeeded for an hour, retries scheduled', { now: 3_600_000, startedAt: 0, intervalMs: 10_000, nextDueAt: 3_610_000 }, true],
  ['cycle running for 5 s', { now: 100_000, startedAt: 0, lastSuccessAt: 50_000, intervalMs: 10_000, runningSince: 95_000, nextDueAt: Infinity }, true],
  ['cycle running for exactly the stuck limit (1 min)', { now: 100_000, startedAt: 0, intervalMs: 1000, runningSince: 40_000, nextDueAt: Infinity }, true],
  ['cycle stuck past the limit', { now: 100_000, startedAt: 0, intervalMs: 1000, runningSince: 39_999, nextDueAt: Infinity }, false],
  ['long interval: stuck limit is 3 intervals', { now: 1_000_000, startedAt: 0, intervalMs: 300_000, runningSince: 150_000, nextDueAt: Infinity }, true],
  ['timer overdue past the limit', { now: 200_000, startedAt: 0, lastSuccessAt: 100_000, intervalMs: 10_000, nextDueAt: 139_999 }, false],
  ['timer overdue a little (a loaded machine)', { now: 200_000, startedAt: 0, lastSuccessAt: 100_000, intervalMs: 10_000, nextDueAt: 195_000 }, true],
  ['not started yet, within grace', { now: 20_000, startedAt: 0, intervalMs: 10_000, nextDueAt: Infinity }, true],
  ['never scheduled past the grace', { now: 61_000, startedAt: 0, intervalMs: 10_000, nextDueAt: Infinity }, false],
];
for (const [name, input, ok] of healthTable) {
  test(`health: ${name}`, () => {
    const v = health(input);
    assert.is(v.ok, ok, v.body);
    assert.match(v.body, ok ? /^ok: loop alive/ : /^unhealthy: loop stuck/);
  });
}

const readyTable: Array<[string, Parameters<typeof readiness>[0], RegExp | true]> = [
  ['before the first success', { now: 5000, intervalMs: 1000 }, /^not ready: no successful cycle yet/],
  ['recent success', { now: 5000, intervalMs: 1000, lastSuccessAt: 4000 }, true],
  ['exactly 3 intervals', { now: 5000, intervalMs: 1000, lastSuccessAt: 2000 }, true],
  ['source failing for longer than 3 intervals', { now: 5000, intervalMs: 1000, lastSuccessAt: 1999 }, /^not ready: last successful cycle 3\.0s ago/],
  ['udp forwarder down', { now: 5000, intervalMs: 1000, lastSuccessAt: 4900, dataPlaneDown: 'udp forwarder: no socket' }, /^not ready: data plane down: udp forwarder: no socket/],
];
for (const [name, input, want] of readyTable) {
  test(`readiness: ${name}`, () => {
    const v = readiness(input);
    assert.is(v.ok, want === true, v.body);
    if (want !== true) assert.match(v.body, want);
  });
}

// A node in a namespace never defaults to the host's file (the host's CNI reads it).
const subnetFiles: Array<[string | undefined, string | RegExp]> = [
  [undefined, '/run/flannel/subnet.env'],
  ['node-a', '/run/flannel/netns/node-a/subnet.env'],
  ['o1x-0', '/run/flannel/netns/o1x-0/subnet.env'],
  ['', /not a network namespace name/],
  ['..', /not a network namespace name/],
  ['a/b', /not a network namespace name/],
];
for (const [netns, want] of subnetFiles) {
  test(`defaultSubnetFile(${JSON.stringify(netns)})`, () => {
    if (typeof want === 'string') assert.is(defaultSubnetFile(netns), want);
    else assert.throws(() => defaultSubnetFile(netns), want);
  });
}

const durations: Array<[string, number]> = [['500ms', 500], ['10s', 10_000], ['1m', 60_000], ['24h', 86_400_000], ['1h30m', 5_400_000], ['1.5s', 1500], [' 2s ', 2000]];
for (const [s, ms] of durations) test(`parseDuration ${JSON.stringify(s)}`, () => assert.is(parseDuration(s, '--interval'), ms));
for (const bad of ['', '10', 's', '10x', '-1s', '1s 2s', 'abc', '0s']) {
  test(`parseDuration rejects ${JSON.stringify(bad)}`, () => {
    try {
      parseDuration(bad, '--interval');
      assert.unreachable();
    } catch (e) {
      assert.instance(e, OvlnetError);
      assert.match((e as Error).message, /--interval/);
    }
  });
}
test('parseDuration enforces the minimum', () => {
  assert.throws(() => parseDuration('50ms', '--interval', { minMs: 100 }), /at least 100ms/);
});

const addrs: Array<[string, { host: string; port: number } | RegExp]> = [
  ['127.0.0.1:9465', { host: '127.0.0.1', port: 9465 }],
  ['[::1]:9465', { host: '::1', port: 9465 }],
  ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
  ['localhost:80', { host: 'localhost', port: 80 }],
  [':9465', /HOST:PORT/],
  ['9465', /HOST:PORT/],
  ['127.0.0.1:70000', /out of range/],
  ['example.com:80', /not an IP/],
  ['::1:9465', /HOST:PORT/],
];
for (const [s, want] of addrs) {
  test(`parseListenAddr ${s}`, () => {
    if (want instanceof RegExp) assert.throws(() => parseListenAddr(s), want);
    else assert.equal(parseListenAddr(s), want);
  });
}

test('notifyArgs', () => {
  assert.equal(notifyArgs({ ready: true, status: '2 peers\nin sync' }, 42), ['--ready', '--pid=42', '--status=2 peers in sync']);
  assert.equal(notifyArgs({ stopping: true }, 7), ['--pid=7', 'STOPPING=1']);
});

test('SystemdNotifier does nothing without NOTIFY_SOCKET', async () => {
  let calls = 0;
  const n = new SystemdNotifier({ env: {}, exec: async () => { calls++; return { exitCode: 0, stderr: '' }; } });
  assert.is(n.enabled, false);
  assert.is(await n.send({ ready: true }), undefined);
  assert.is(calls, 0);
});

test('SystemdNotifier runs systemd-notify with the socket in its environment and reports failures', async () => {
  const seen: Array<[string, string[], string | undefined]> = [];
  let code = 0;
  const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: '/run/x' }, pid: 9, exec: async (cmd, args, env) => {
    seen.push([cmd, args, env.NOTIFY_SOCKET]);
    return { exitCode: code, stderr: 'No such file\n' };
  } });
  assert.is(await n.send({ ready: true }), undefined);
  assert.equal(seen[0], ['systemd-notify', ['--ready', '--pid=9'], '/run/x']);
  code = 1;
  assert.match((await n.send({ ready: true }))!, /exited 1: No such file/);
});

test('metrics: every series exists from the start', async () => {
  const m = new DaemonMetrics();
  const text = await m.text();
  for (const name of ['ovlnet_cycles_total{result="ok"} 0', 'ovlnet_errors_total{stage="source"} 0', 'ovlnet_source_up 0',
    'ovlnet_last_success_timestamp_seconds 0', 'ovlnet_ready 0', 'ovlnet_cycle_duration_seconds', 'ovlnet_changes_applied_total']) {
    assert.ok(text.includes(name), name);
  }
  assert.not.ok(text.includes('process_cpu'), 'no default metrics unless asked');
});

test.run();
