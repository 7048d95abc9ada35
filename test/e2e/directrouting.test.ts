// DirectRouting across two underlay segments joined by a router: peers on
// the same segment get a plain route to their public IP (no neighbour, no fdb
// entry), the others go through vxlan; every pod gateway reaches every other.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ovlnet } from '../lib/cli.js';
import { clusterYAML, ipn, ping, sh, withTopology, type NodeSpec } from '../lib/netns.js';

const specs: NodeSpec[] = [
  { name: 'node-a', publicIP: '192.0.2.10', subnet: '198.18.0.0/24' },
  { name: 'node-b', publicIP: '192.0.2.11', subnet: '198.18.1.0/24' },
  { name: 'node-c', publicIP: '198.51.100.10', subnet: '198.18.2.0/24' },
];
const routers = ['192.0.2.1/24', '198.51.100.1/24'];

interface JRoute { dst: string; gateway?: string; dev: string; flags: string[] }

test('DirectRouting: same-segment peers routed directly, the others through vxlan', async () => {
  await withTopology(specs, async (t) => {
    const src = `file:${t.file('cluster.yaml', clusterYAML(specs, '{ type: vxlan, vni: 1, port: 8472, directRouting: true }'))}`;
    const applied = await Promise.all(t.nodes.map((n) => ovlnet(['apply', '--source', src, '--node', n.name, '--netns', n.ns])));
    applied.forEach((r, i) => assert.is(r.code, 0, `${t.nodes[i].name}: ${r.stdout}${r.stderr}`));
    const [a, b, c] = t.nodes;
    const routesOf = async (ns: string) => JSON.parse(await ipn(ns, '-j', 'route', 'show', 'proto', '244')) as JRoute[];
    const ra = await routesOf(a.ns);
    assert.equal(ra.find((r) => r.dst === b.subnet), { dst: b.subnet, gateway: b.publicIP, dev: 'eth0', flags: [] }, 'a -> b direct');
    assert.equal(ra.find((r) => r.dst === c.subnet), { dst: c.subnet, gateway: '198.18.2.0', dev: 'flannel.1', flags: ['onlink'] }, 'a -> c via vxlan');
    const rc = await routesOf(c.ns);
    for (const peer of [a, b]) assert.is(rc.find((r) => r.dst === peer.subnet)?.dev, 'flannel.1', `c -> ${peer.name} via vxlan`);
    // No neighbour or fdb entry for the direct peer; one for the vxlan peer.
    const neigh = await ipn(a.ns, 'neigh', 'show', 'dev', 'flannel.1', 'nud', 'permanent');
    assert.ok(neigh.includes('198.18.2.0') && !neigh.includes('198.18.1.0'), neigh);
    const fdb = await sh('bridge', ['-n', a.ns, 'fdb', 'show', 'dev', 'flannel.1']);
    assert.ok(fdb.includes(`dst ${c.publicIP}`) && !fdb.includes(`dst ${b.publicIP}`), fdb);
    const plan = JSON.parse((await ovlnet(['plan', '-o', 'json', '--source', src, '--node', a.name, '--netns', a.ns])).stdout);
    assert.equal(plan.peers.map((p: { name: string; via: string }) => `${p.name}:${p.via}`), ['node-b:direct', 'node-c:vxlan']);

    const pairs = t.nodes.flatMap((x) => t.nodes.filter((y) => y !== x).map((y) => [x, y] as const));
    const pings = await Promise.all(pairs.map(([x, y]) => ping(x, y.podGateway)));
    pairs.forEach(([x, y], i) => assert.ok(pings[i], `${x.name} -> ${y.name}`));
    const diffs = await Promise.all(t.nodes.map((n) => ovlnet(['diff', '--source', src, '--node', n.name, '--netns', n.ns])));
    diffs.forEach((d, i) => assert.is(d.code, 0, `${t.nodes[i].name} diff: ${d.stdout}${d.stderr}`));
  }, { routers });
});

test.run();
