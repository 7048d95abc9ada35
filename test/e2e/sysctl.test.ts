// accept_ra = 0 on the vxlan devices (issue 15.7, flannel's fix for router
// advertisements over the overlay), set inside the node's namespace: apply
// sets it, diff shows drift (exit 2), apply repairs it; dual stack on both
// devices.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { ovlnet } from '../lib/cli.js';
import { clusterYAML, defaultNodes, dualStackNodes, sh, withTopology } from '../lib/netns.js';

const acceptRa = async (ns: string, dev: string) => (await sh('ip', ['netns', 'exec', ns, 'sysctl', '-n', `net/ipv6/conf/${dev}/accept_ra`])).trim();

test('apply sets accept_ra 0 on flannel.1 inside the namespace; diff shows drift; apply repairs it', async () => {
  const hostBefore = readFileSync('/proc/sys/net/ipv6/conf/default/accept_ra', 'utf8');
  const specs = defaultNodes(2);
  await withTopology(specs.slice(0, 1), async (t) => {
    const [a] = t.nodes;
    const run = (cmd: string) => ovlnet([cmd, '--source', `file:${t.file('cluster.yaml', clusterYAML(specs))}`, '--node', a.name, '--netns', a.ns]);
    const first = await run('apply');
    assert.is(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /\+ sysctl net\/ipv6\/conf\/flannel\.1\/accept_ra = 0/);
    assert.is(await acceptRa(a.ns, 'flannel.1'), '0');
    assert.is((await run('diff')).code, 0, 'in sync once set');

    await sh('ip', ['netns', 'exec', a.ns, 'sysctl', '-qw', 'net/ipv6/conf/flannel.1/accept_ra=1']);
    const drift = await run('diff');
    assert.is(drift.code, 2, drift.stdout + drift.stderr);
    assert.ok(drift.stdout.split('\n').includes('  ~ sysctl net/ipv6/conf/flannel.1/accept_ra = 0  (accept_ra 1 -> 0)'), drift.stdout);
    const fix = await run('apply');
    assert.is(fix.code, 0, fix.stdout + fix.stderr);
    assert.match(fix.stdout, /Apply complete: 0 added, 1 changed, 0 removed/);
    assert.is(await acceptRa(a.ns, 'flannel.1'), '0');
  });
  assert.is(readFileSync('/proc/sys/net/ipv6/conf/default/accept_ra', 'utf8'), hostBefore, 'the host is untouched');
});

test('dual stack: both devices get accept_ra 0', async () => {
  const specs = dualStackNodes(2);
  await withTopology(specs.slice(0, 1), async (t) => {
    const [a] = t.nodes;
    const src = `file:${t.file('cluster.yaml', clusterYAML(specs, undefined, '198.18.0.0/16', '2001:db8:100::/48'))}`;
    const r = await ovlnet(['apply', '--source', src, '--node', a.name, '--netns', a.ns]);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.equal([await acceptRa(a.ns, 'flannel.1'), await acceptRa(a.ns, 'flannel-v6.1')], ['0', '0']);
  });
});

test.run();
