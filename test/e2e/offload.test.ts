// --disable-tx-offload on pins tx-checksum-ip-generic off on the vxlan
// device (the 63 s delay workaround), and diff/apply keep it that way.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ovlnet } from '../lib/cli.js';
import { clusterYAML, defaultNodes, sh, withTopology } from '../lib/netns.js';

const specs = defaultNodes(2);

test('--disable-tx-offload on turns tx-checksum-ip-generic off and keeps it off', async () => {
  await withTopology(specs.slice(0, 1), async (t) => {
    const [a] = t.nodes;
    const src = `file:${t.file('cluster.yaml', clusterYAML(specs))}`;
    const args = (cmd: string, mode: string) => [cmd, '--disable-tx-offload', mode, '--source', src, '--node', a.name, '--netns', a.ns];
    const feature = async () => /tx-checksum-ip-generic: (on|off)/.exec(await sh('ip', ['netns', 'exec', a.ns, 'ethtool', '-k', 'flannel.1']))?.[1];

    const off = await ovlnet(args('apply', 'off'));
    assert.is(off.code, 0, off.stdout + off.stderr);
    assert.is(await feature(), 'on', 'the kernel default, left alone with off');

    const on = await ovlnet(args('apply', 'on'));
    assert.is(on.code, 0, on.stdout + on.stderr);
    assert.match(on.stdout, '~ offload flannel.1 tx-checksum-ip-generic off');
    assert.is(await feature(), 'off');
    assert.is((await ovlnet(args('diff', 'on'))).code, 0, 'in sync once set');

    // Someone turns it back on: diff sees it, apply repairs it.
    await sh('ip', ['netns', 'exec', a.ns, 'ethtool', '-K', 'flannel.1', 'tx-checksum-ip-generic', 'on']);
    const drift = await ovlnet(args('diff', 'on'));
    assert.is(drift.code, 2, drift.stdout + drift.stderr);
    assert.match(drift.stdout, 'tx-checksum-ip-generic on -> off');
    assert.is((await ovlnet(args('apply', 'on'))).code, 0);
    assert.is(await feature(), 'off');
  });
});

test.run();
