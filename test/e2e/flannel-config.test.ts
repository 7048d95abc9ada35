// flannel's net-conf keys as flanneld reads them, on real kernels: keys in any
// letter case, VNI 0, GBP and Learning on the device; a GBP change recreates
// the device (the kernel can not toggle it), as flanneld does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { ovlnet } from '../lib/cli.js';
import { clusterYAML, defaultNodes, ipn, ping, withTopology } from '../lib/netns.js';

interface VxlanInfo { id: number; gbp?: boolean; learning?: boolean; local?: string }

const infoOf = async (ns: string, dev: string): Promise<VxlanInfo> => JSON.parse(await ipn(ns, '-j', '-d', 'link', 'show', dev))[0].linkinfo.info_data;

test('VNI 0, GBP and Learning in mixed-case keys: flannel.0 with id 0, gbp, learning; a GBP change recreates it', async () => {
  const specs = defaultNodes(2);
  await withTopology(specs, async (t) => {
    const file = t.file('cluster.yaml', clusterYAML(specs, '{ Type: vxlan, vNi: 0, GBP: true, learning: true, Port: 8472 }'));
    const src = `file:${file}`;
    for (const n of t.nodes) {
      const r = await ovlnet(['apply', '--source', src, '--node', n.name, '--netns', n.ns]);
      assert.is(r.code, 0, r.stdout + r.stderr);
    }
    const [a, b] = t.nodes;
    const info = await infoOf(a.ns, 'flannel.0');
    assert.is(info.id, 0);
    assert.is(info.gbp, true, JSON.stringify(info));
    assert.is(info.learning, true, JSON.stringify(info));
    assert.ok(await ping(a, b.podGateway), 'a -> b over VNI 0 with GBP');
    const clean = await ovlnet(['diff', '--source', src, '--node', a.name, '--netns', a.ns]);
    assert.is(clean.code, 0, clean.stdout + clean.stderr);

    writeFileSync(file, clusterYAML(specs, '{ Type: vxlan, VNI: 0, Gbp: false, Learning: true }'));
    const drift = await ovlnet(['diff', '--source', src, '--node', a.name, '--netns', a.ns]);
    assert.is(drift.code, 2, drift.stdout + drift.stderr);
    assert.match(drift.stdout, /gbp -> nogbp/);
    for (const n of t.nodes) {
      const r = await ovlnet(['apply', '--source', src, '--node', n.name, '--netns', n.ns]);
      assert.is(r.code, 0, r.stdout + r.stderr);
    }
    const after = await infoOf(a.ns, 'flannel.0');
    assert.is(after.gbp, undefined, JSON.stringify(after));
    assert.ok(await ping(a, b.podGateway), 'a -> b after the device was recreated');
  });
});

test.run();
