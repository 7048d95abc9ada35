import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ovlnet } from '../lib/cli.js';
import { clusterYAML, defaultNodes, ping, withTopology } from '../lib/netns.js';

test('three vxlan nodes apply and reach each other', async () => {
  const specs = defaultNodes(3);
  await withTopology(specs, async (t) => {
    const src = `file:${t.file('cluster.yaml', clusterYAML(specs))}`;
    for (const n of t.nodes) {
      const r = await ovlnet(['apply', '--source', src, '--node', n.name, '--netns', n.ns]);
      assert.is(r.code, 0, r.stdout + r.stderr);
    }
    for (const a of t.nodes) for (const b of t.nodes) {
      if (a !== b) assert.ok(await ping(a, b.podGateway), `${a.name} -> ${b.name}`);
    }
  });
});

test.run();
