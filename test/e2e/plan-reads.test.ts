// `plan` reads from the host only what the plan depends on: on a converged
// node with many entries it reads links and addresses (one `ip`, no route,
// neighbour or fdb dump), the routing table too when DirectRouting needs it
// (a second `ip`: the addresses are read before the config is parsed),
// and the whole host only to settle overlapping subnets.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { type Cluster, sharedCluster } from '../lib/e2e.js';
import { makeSpy } from '../lib/spy.js';
import { ipn, type NodeSpec, type TestNode, type Topology } from '../lib/netns.js';

const PEERS = 200;
const local: NodeSpec = { name: 'node-a', publicIP: '192.0.2.10', subnet: '198.18.0.0/24' };
const peers: NodeSpec[] = Array.from({ length: PEERS }, (_, i) => ({ name: `peer-${i + 1}`, publicIP: `192.0.2.${11 + i}`, subnet: `198.18.${i + 1}.0/24` }));
const all = [local, ...peers];
const DIRECT = '{ type: vxlan, vni: 1, port: 8472, directRouting: true }';

const env = sharedCluster(test, [local], { fileNodes: all });
let t: Topology;
let c: Cluster;
let a: TestNode;
test.before(async () => {
  ({ t, c } = env);
  a = env.nodes[0];
  await c.apply(a);
});

/** The processes a plan started: tool, arguments and batch lines. */
async function planCalls(name: string, extra: string[] = []) {
  const spy = makeSpy(join(t.tmp, `spy-${name}`));
  const r = await c.run('plan', a, extra, { env: spy.env });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.equal(spy.writes(), [], 'plan never writes');
  return { r, calls: spy.calls().map((x) => ({ cmd: `${x.tool} ${x.args.join(' ')}`, lines: x.lines })) };
}

test('plan on a converged node with many entries reads links and addresses only', async () => {
  const owned = (await ipn(a.ns, 'route', 'show', 'proto', '244')).trim().split('\n');
  assert.is(owned.length, PEERS, 'the host holds a route per peer');
  const { r, calls } = await planCalls('converged');
  assert.equal(calls, [{ cmd: `ip -n ${a.ns} -j -d -N -batch -`, lines: ['addr show'] }]);
  assert.match(r.stdout, new RegExp(`^${PEERS} peers: 1 device, 1 address, ${PEERS} neighbors, ${PEERS} fdb entries, ${PEERS} routes, 1 device setting, 3 forward rules\\.$`, 'm'));
  assert.match(r.stdout, /^Underlay eth0 {2}MTU 1500$/m, 'the underlay found from the addresses');
  assert.is(r.stderr, '');
});

test('with DirectRouting, plan reads the routing table as well, and no neighbours or fdb', async () => {
  c.writeNodes(all, DIRECT);
  try {
    const { r, calls } = await planCalls('direct', ['-o', 'json']);
    // The addresses are read while the cluster file is parsed (before the
    // config says DirectRouting); the routing table once it has said so.
    assert.equal(calls, [
      { cmd: `ip -n ${a.ns} -j -d -N -batch -`, lines: ['addr show'] },
      { cmd: `ip -n ${a.ns} -j -d -N -batch -`, lines: ['route show table all'] },
    ]);
    const plan = JSON.parse(r.stdout) as { peers: Array<{ via: string }> };
    assert.is(plan.peers.length, PEERS);
    assert.ok(plan.peers.every((p) => p.via === 'direct'), 'peers on the underlay segment are on-link');
  } finally {
    c.writeNodes(all);
  }
});

test('a newcomer on a programmed peer\'s subnet: plan reads the whole host and keeps the programmed peer', async () => {
  c.writeNodes([...all, { name: 'evil', publicIP: '192.0.2.250', subnet: '198.18.1.0/24' }]);
  try {
    const { r, calls } = await planCalls('overlap');
    assert.equal(calls[0], { cmd: `ip -n ${a.ns} -j -d -N -batch -`, lines: ['addr show'] }, 'first the addresses alone');
    // Then the whole read: ip and bridge run concurrently, and the spy's log
    // may interleave them, so their lines are looked at together.
    assert.is(calls.filter((x) => x.cmd.startsWith('ip ')).length, 2, JSON.stringify(calls));
    const rest = calls.slice(1).flatMap((x) => x.lines).sort();
    assert.equal(rest, ['addr show', 'neigh show nud permanent', 'route show table all']);
    // peer-1 counts as programmed only when its route, neighbour and fdb
    // entry all are on the host: the warning shows the fdb was read too.
    assert.match(r.stderr, /^warning: node evil \(.*\)\.subnet: 198\.18\.1\.0\/24 overlaps programmed peer peer-1 198\.18\.1\.0\/24; left out$/m);
    assert.match(r.stdout, /^peer-1 {2,}198\.18\.1\.0\/24 /m, 'the programmed peer is kept');
  } finally {
    c.writeNodes(all);
  }
});

test.run();
