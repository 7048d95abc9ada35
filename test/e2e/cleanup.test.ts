// ovlnet cleanup on a converged node with foreign state beside it: it
// removes ovlnet's routes, device, iptables rules and subnet file, keeps
// the rest, and --dry-run changes nothing.
import { existsSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ovlnet } from '../lib/cli.js';
import { clusterYAML, defaultNodes, ipn, sh, withTopology } from '../lib/netns.js';

const specs = defaultNodes(3);

test('cleanup removes only what is ovlnet\'s; --dry-run changes nothing', async () => {
  await withTopology(specs.slice(0, 1), async (t) => {
    const [a] = t.nodes;
    const src = `file:${t.file('cluster.yaml', clusterYAML(specs))}`;
    const applied = await ovlnet(['apply', '--ip-masq', '--source', src, '--node', a.name, '--netns', a.ns]);
    assert.is(applied.code, 0, applied.stdout + applied.stderr);
    // Foreign state: a static route, a flannel-looking device with flannel's
    // kind of route (protocol boot), a foreign masquerade rule.
    await ipn(a.ns, 'route', 'add', '203.0.113.0/24', 'via', '192.0.2.1', 'dev', 'eth0', 'proto', 'static');
    await ipn(a.ns, 'link', 'add', 'flannel.2', 'type', 'vxlan', 'id', '2', 'local', a.publicIP, 'dev', 'eth0', 'dstport', '4789', 'nolearning');
    await ipn(a.ns, 'link', 'set', 'flannel.2', 'up');
    await ipn(a.ns, 'route', 'add', '198.19.5.0/24', 'via', '198.19.5.0', 'dev', 'flannel.2', 'onlink');
    await sh('ip', ['netns', 'exec', a.ns, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', '10.0.0.0/8', '-j', 'MASQUERADE']);
    await sh('ip', ['netns', 'exec', a.ns, 'iptables', '-A', 'FORWARD', '-s', '10.0.0.0/8', '-j', 'ACCEPT']);
    const subnetFile = t.file('subnet.env', 'FLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=198.18.0.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');

    const hostState = async () => [
      await ipn(a.ns, '-br', 'link', 'show'),
      await ipn(a.ns, '-d', 'link', 'show', 'type', 'vxlan'),
      await ipn(a.ns, 'route', 'show', 'table', 'main'),
      (await sh('ip', ['netns', 'exec', a.ns, 'iptables-save'])).replace(/^#.*$/gm, ''),
      String(existsSync(subnetFile)),
    ].join('\n');
    const cleanup = (...extra: string[]) => ovlnet(['cleanup', '--netns', a.ns, '--subnet-file', subnetFile, ...extra]);

    const before = await hostState();
    const dry = await cleanup('--dry-run');
    assert.is(dry.code, 0, dry.stdout + dry.stderr);
    assert.is(await hostState(), before, 'dry run changed the host');
    for (const line of [
      '  - route 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink',
      '  - route 198.18.2.0/24 via 198.18.2.0 dev flannel.1 onlink',
      '  - link flannel.1 vxlan id 1',
      '  - nat POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG',
      '  - nat chain FLANNEL-POSTRTG',
      '  - filter FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD',
      '  - filter chain FLANNEL-FWD',
      `  - file ${subnetFile}`,
    ]) assert.ok(dry.stdout.includes(line), `dry run lacks "${line}":\n${dry.stdout}`);
    for (const foreign of ['flannel.2', '203.0.113.0', '198.19.5.0', '10.0.0.0/8']) assert.not.ok(dry.stdout.includes(foreign), `dry run lists ${foreign}`);
    assert.match(dry.stderr, /link flannel\.2: kept: 1 route not ovlnet's/);
    assert.match(dry.stdout, 'Dry run: 16 to remove. Nothing was changed.');

    const done = await cleanup();
    assert.is(done.code, 0, done.stdout + done.stderr);
    assert.match(done.stdout, 'Cleanup complete: 16 removed');
    const links = await ipn(a.ns, 'link', 'show');
    assert.not.ok(links.includes('flannel.1:'), links);
    assert.ok(links.includes('flannel.2:'), links);
    assert.is(await ipn(a.ns, 'route', 'show', 'proto', '244'), '');
    const routes = await ipn(a.ns, 'route', 'show');
    assert.ok(routes.includes('203.0.113.0/24 via 192.0.2.1') && routes.includes('198.19.5.0/24 via 198.19.5.0 dev flannel.2'), routes);
    const nat = await sh('ip', ['netns', 'exec', a.ns, 'iptables-save', '-t', 'nat']);
    assert.not.ok(nat.includes('FLANNEL-POSTRTG') || nat.includes('flanneld masq'), nat);
    assert.ok(nat.includes('-A POSTROUTING -s 10.0.0.0/8 -j MASQUERADE'), nat);
    const filter = await sh('ip', ['netns', 'exec', a.ns, 'iptables-save', '-t', 'filter']);
    assert.not.ok(filter.includes('FLANNEL-FWD'), filter);
    assert.ok(filter.includes('-A FORWARD -s 10.0.0.0/8 -j ACCEPT'), filter);
    assert.not.ok(existsSync(subnetFile), 'subnet file left');

    const again = await cleanup();
    assert.is(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, 'Nothing to clean up');
    // The operator can name flannel's device explicitly.
    const named = await cleanup('--dry-run', '--vni', '2');
    assert.match(named.stdout, '  - link flannel.2 vxlan id 2');
    assert.match(named.stdout, '(--vni 2)');
  });
});

test.run();
