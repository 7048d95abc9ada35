// One configuration for every command, as an operator meets it: global
// options before the command (kubectl style), OVLNET_* variables and the
// config file, all seen by a plain `ovlnet diff` exactly as by the daemon.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ovlnet } from '../lib/cli.js';
import { clusterYAML, defaultNodes, withTopology } from '../lib/netns.js';

test('-n NS before the command is --netns after it: the same diff, the same apply', async () => {
  const nodes = defaultNodes(2);
  await withTopology(nodes, async (t) => {
    const [a] = t.nodes;
    const src = `file:${t.file('cluster.yaml', clusterYAML(nodes))}`;
    const before = await ovlnet(['-n', a.ns, '--source', src, 'diff', '--node', a.name, '-o', 'json']);
    const after = await ovlnet(['diff', '--netns', a.ns, '--source', src, '--node', a.name, '-o', 'json']);
    assert.is(before.code, 2, before.stderr);
    assert.is(before.stdout, after.stdout);
    const applied = await ovlnet(['--netns', a.ns, 'apply', '-s', src, '--node', a.name]);
    assert.is(applied.code, 0, applied.stderr);
    const clean = await ovlnet(['-n', a.ns, 'diff', '-s', src, '--node', a.name]);
    assert.is(clean.code, 0, clean.stdout + clean.stderr);
  });
});

test.run();
