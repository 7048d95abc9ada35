// The host read's big answers (`ip -j`, `bridge -j`) go through an unlinked
// temporary file instead of a pipe (src/host/exec.ts bulkOutput): the same
// reading either way, nothing left in the temporary directory, and without
// a usable one the pipe is used.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ovlnet } from '../lib/cli.js';
import { clusterYAML, defaultNodes, withTopology } from '../lib/netns.js';

test('diff reads the host the same through a temporary file and through the pipe, and leaves no file behind', async () => {
  const specs = defaultNodes(3);
  await withTopology(specs, async (t) => {
    const a = t.nodes[0];
    const args = (...extra: string[]) => ['--source', `file:${t.file('cluster.yaml', clusterYAML(specs))}`, '--node', a.name, '--netns', a.ns, ...extra];
    const applied = await ovlnet(['apply', ...args()]);
    assert.is(applied.code, 0, applied.stdout + applied.stderr);

    const tmp = join(t.tmp, 'tmpdir');
    mkdirSync(tmp);
    const viaFile = await ovlnet(['diff', ...args('-o', 'json')], { env: { TMPDIR: tmp } });
    assert.is(viaFile.code, 0, viaFile.stdout + viaFile.stderr);
    assert.equal(readdirSync(tmp), [], 'the output files are unlinked at once');

    // No such directory: no file can be made, the answers come through the pipe.
    const viaPipe = await ovlnet(['diff', ...args('-o', 'json')], { env: { TMPDIR: join(t.tmp, 'no-such-dir') } });
    assert.is(viaPipe.code, 0, viaPipe.stdout + viaPipe.stderr);
    assert.is(viaFile.stdout, viaPipe.stdout);
    const doc = JSON.parse(viaFile.stdout) as { inSync: boolean; summary: { unchanged: number } };
    assert.ok(doc.inSync, 'converged');
    // The device, its address, a neighbour, fdb entry and route per peer, the device setting, the forward rules.
    assert.ok(doc.summary.unchanged >= 2 + 3 * (specs.length - 1), `entries in sync: ${doc.summary.unchanged}`);
  });
});

test.run();
