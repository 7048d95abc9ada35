// The daemon's cycle (Reconciler) with the wireguard backend against the fake
// host: converges, puts back a peer removed behind its back and a changed
// endpoint on the next cycle, and follows a node's new key.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generatePrivateKey, publicKeyOf } from '../../../../src/backends/wireguard/keys.js';
import { Logger } from '../../../../src/daemon/logger.js';
import { DaemonMetrics } from '../../../../src/daemon/metrics.js';
import { Reconciler } from '../../../../src/daemon/reconciler.js';
import { ownedFrom } from '../../../../src/daemon/kernel-events.js';
import type { ClusterState, DesiredState, RawNode } from '../../../../src/model/types.js';
import type { Source } from '../../../../src/sources/types.js';
import { FakeHost } from '../../../lib/fake-host.js';
import { emptyActual, hostLink, pfx } from '../../support/build.js';

const KEYS = [0, 1, 2, 3].map(() => publicKeyOf(generatePrivateKey()));
const rawNode = (i: number, key = KEYS[i]): RawNode => ({
  origin: `nodes[${i}]`, name: `node-${i}`, publicIP: `192.0.2.${10 + i}`, subnet: `198.18.${i}.0/24`, backendData: { PublicKey: key, Port: 51820 },
});

function harness() {
  const a = emptyActual();
  a.links.set('eth0', hostLink({ name: 'eth0', addrs: [pfx('192.0.2.10/24')] }));
  a.routes.push({ dst: pfx('192.0.2.0/24'), dev: 'eth0', onlink: false, proto: 2 });
  const host = new FakeHost(a);
  const nodes = [rawNode(0), rawNode(1), rawNode(2)];
  const source: Source = {
    uri: 'file:test.yaml',
    load: async (): Promise<ClusterState> => ({
      config: { network: '198.18.0.0/16', backend: { type: 'wireguard', fields: { PersistentKeepaliveInterval: 25 } }, origin: 'test.yaml' },
      nodes: nodes.map((n) => ({ ...n })), warnings: [], namedNodes: true,
    }),
    close: async () => undefined,
  };
  const logs: string[] = [];
  const seen: { desired?: DesiredState } = {};
  const r = new Reconciler({
    source, host, log: new Logger({ level: 'debug', format: 'text', write: (l) => logs.push(l) }), metrics: new DaemonMetrics(), maxDelete: { kind: 'default' },
    cycle: { node: 'node-0', hostname: 'node-0', txOffload: 'off' },
    onSuccess: ({ snap }) => { seen.desired = snap.desired; },
  });
  return { host, r, nodes, logs, seen };
}

const peers = (h: ReturnType<typeof harness>) => h.host.wireguard.get('flannel-wg')!.peers.map((p) => `${p.publicKey.slice(0, 8)} ${p.endpoint} ${p.allowedIPs.map((x) => x.text).join(',')} ${p.keepalive}`).sort();
const want = (keys: string[], ips: number[]) => keys.map((k, i) => `${k.slice(0, 8)} 192.0.2.${10 + ips[i]}:51820 198.18.${ips[i]}.0/24 25`).sort();

test('daemon cycles: converge, then repair a hand-removed peer, a changed endpoint and a stranger peer; follow a new key', async () => {
  const h = harness();
  assert.ok(await h.r.run(['start']), h.logs.join('\n'));
  assert.equal(peers(h), want([KEYS[1], KEYS[2]], [1, 2]));
  assert.equal([h.host.state.links.get('flannel-wg')?.mtu, h.host.wireguard.get('flannel-wg')?.listenPort], [1440, 51820]);
  assert.ok(h.host.state.routes.some((r) => r.dst.text === '198.18.0.0/16' && r.dev === 'flannel-wg'));

  const steps: Array<[string, () => void, string[]]> = [
    ['peer removed by hand', () => { h.host.wireguard.get('flannel-wg')!.peers.shift(); }, want([KEYS[1], KEYS[2]], [1, 2])],
    ['endpoint changed by hand', () => { h.host.wireguard.get('flannel-wg')!.peers[0].endpoint = '192.0.2.99:1'; }, want([KEYS[1], KEYS[2]], [1, 2])],
    ['a stranger peer', () => { h.host.wireguard.get('flannel-wg')!.peers.push({ kind: 'wg-peer', dev: 'flannel-wg', publicKey: KEYS[3], allowedIPs: [], keepalive: 0 }); }, want([KEYS[1], KEYS[2]], [1, 2])],
    ['node-2 has a new key', () => { h.nodes[2] = rawNode(2, KEYS[3]); }, want([KEYS[1], KEYS[3]], [1, 2])],
  ];
  for (const [what, before, after] of steps) {
    before();
    assert.ok(await h.r.run(['resync']), `${what}: ${h.logs.slice(-3).join('\n')}`);
    assert.equal(peers(h), after, what);
  }
  // Nothing left to do.
  const writes = h.host.counts.writes;
  assert.ok(await h.r.run(['resync']));
  assert.is(h.host.counts.writes, writes, 'a converged cycle writes nothing');
});

test('the device deleted by hand (kernel event): back with its address, routes and peers in one write, the device by its early driver before the ip batches', async () => {
  const h = harness();
  assert.ok(await h.r.run(['start']), h.logs.join('\n'));
  const s = h.host.state;
  const index = s.links.get('flannel-wg')!.index;
  s.links.delete('flannel-wg');
  s.routes = s.routes.filter((r) => r.dev !== 'flannel-wg');
  h.host.wireguard.delete('flannel-wg');
  const { repairs } = h.r.followKernel([{ kind: 'link', deleted: true, name: 'flannel-wg', index, up: false }], ownedFrom(h.seen.desired!));
  assert.equal(repairs.map((r) => r.object), ['link:flannel-wg']);
  const writes = h.host.counts.writes;
  assert.ok(await h.r.run(['kernel']), h.logs.join('\n'));
  // No devices-first split (engine/phases.ts devicesFirst): the ip batches' address and routes need the device the early driver writes.
  assert.is(h.host.counts.writes - writes, 1);
  const last = h.host.writeCalls[h.host.writeCalls.length - 1];
  assert.ok(last.includes('link:flannel-wg') && last.some((k) => k.startsWith('addr:flannel-wg/')) && last.some((k) => k.startsWith('wg-peer:')), last.join(' '));
  assert.equal(peers(h), want([KEYS[1], KEYS[2]], [1, 2]));
  assert.ok(h.host.state.routes.some((r) => r.dst.text === '198.18.0.0/16' && r.dev === 'flannel-wg'));
});

test('the mass-deletion guard counts WireGuard peers: an emptied source does not wipe them', async () => {
  const h = harness();
  h.nodes.push(rawNode(3));
  assert.ok(await h.r.run(['start']));
  assert.is(peers(h).length, 3);
  h.nodes.splice(1, 3);
  assert.not.ok(await h.r.run(['resync']), 'refused');
  assert.is(peers(h).length, 3, 'peers kept');
  assert.match(h.logs.join('\n'), /refusing to remove 3 of 4 peers/);
});

test.run();
