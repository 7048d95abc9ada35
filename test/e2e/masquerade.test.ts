// --ip-masq: a pod address reaching beyond the cluster network leaves with
// the node's address; pod-to-pod traffic keeps its source. The outside host
// is on 203.0.113.0/24, behind a router, and logs the source it sees.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ovlnet } from '../lib/cli.js';
import { clusterYAML, sh, withTopology, type NodeSpec } from '../lib/netns.js';
import { udpSourceSeen } from '../lib/udp.js';

const cluster: NodeSpec[] = [
  { name: 'node-a', publicIP: '192.0.2.10', subnet: '198.18.0.0/24' },
  { name: 'node-b', publicIP: '192.0.2.11', subnet: '198.18.1.0/24' },
];
// Not in the cluster file: a host outside the cluster network.
const outside: NodeSpec = { name: 'outside', publicIP: '203.0.113.10', subnet: '198.19.0.0/24' };

test('--ip-masq rewrites pod traffic leaving the cluster network, and only that', async () => {
  await withTopology([...cluster, outside], async (t) => {
    const [a, b, ext] = t.nodes;
    const src = `file:${t.file('cluster.yaml', clusterYAML(cluster))}`;
    const applyAll = (extra: string[]) => Promise.all([a, b].map((n) => ovlnet(['apply', '--source', src, '--node', n.name, '--netns', n.ns, ...extra])));
    for (const r of await applyAll([])) assert.is(r.code, 0, r.stdout + r.stderr);
    const podA = { ns: a.ns, addr: a.podGateway };
    const toOutside = { ns: ext.ns, addr: ext.publicIP };
    // Without the rules the pod address reaches the outside host as it is.
    assert.is(await udpSourceSeen(podA, toOutside), a.podGateway, 'control: no masquerading yet');

    for (const r of await applyAll(['--ip-masq'])) assert.is(r.code, 0, r.stdout + r.stderr);
    const [outsideSaw, podSaw] = await Promise.all([
      udpSourceSeen(podA, toOutside, 9998),
      udpSourceSeen(podA, { ns: b.ns, addr: b.podGateway }, 9999),
    ]);
    assert.is(outsideSaw, a.publicIP, 'pod -> outside leaves with the node address');
    assert.is(podSaw, a.podGateway, 'pod -> pod is not rewritten');

    const save = await sh('ip', ['netns', 'exec', a.ns, 'iptables-save', '-t', 'nat']);
    assert.match(save, '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG');
    assert.match(save, '-A FLANNEL-POSTRTG -s 198.18.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully');
    const diff = () => ovlnet(['diff', '--ip-masq', '--source', src, '--node', a.name, '--netns', a.ns]);
    const clean = await diff();
    assert.is(clean.code, 0, clean.stdout + clean.stderr);

    // Drift in the chain is seen and repaired in one restore.
    await sh('ip', ['netns', 'exec', a.ns, 'iptables', '-t', 'nat', '-D', 'FLANNEL-POSTRTG', '1']);
    const drift = await diff();
    assert.is(drift.code, 2, drift.stdout + drift.stderr);
    assert.match(drift.stdout, '+ nat FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000');
    const fix = await ovlnet(['apply', '--ip-masq', '--source', src, '--node', a.name, '--netns', a.ns]);
    assert.is(fix.code, 0, fix.stdout + fix.stderr);
    assert.is((await diff()).code, 0);
  }, { routers: ['192.0.2.1/24', '203.0.113.1/24'] });
});

test.run();
