// Taking over a node flannel set up: its netfilter state exactly as flanneld
// leaves it (FLANNEL-POSTRTG and FLANNEL-FWD with flannel's comments and
// order, the jumps appended after the host's own rules, FORWARD policy DROP)
// and its routes (protocol boot). `diff --ip-masq` is clean, `apply --ip-masq`
// writes nothing to iptables, and cleanup removes flannel's chains and jumps
// and nothing else.
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ovlnet } from '../lib/cli.js';
import { clusterYAML, defaultNodes, ipn, sh, withTopology } from '../lib/netns.js';
import { makeSpy } from '../lib/spy.js';

const specs = defaultNodes(3);
const N = '198.18.0.0/16';
const S = '198.18.0.0/24';
const M = ['-m', 'comment', '--comment', 'flanneld masq'];
const F = ['-m', 'comment', '--comment', 'flanneld forward'];

/** What flanneld --ip-masq runs (pkg/trafficmngr/iptables), in its order, on an iptables that takes --random-fully. */
const FLANNEL_RULES: string[][] = [
  ['-t', 'nat', '-N', 'FLANNEL-POSTRTG'],
  ['-t', 'nat', '-A', 'POSTROUTING', ...M, '-j', 'FLANNEL-POSTRTG'],
  ['-t', 'nat', '-A', 'FLANNEL-POSTRTG', '-m', 'mark', '--mark', '0x4000/0x4000', ...M, '-j', 'RETURN'],
  ['-t', 'nat', '-A', 'FLANNEL-POSTRTG', '-s', S, '-d', N, ...M, '-j', 'RETURN'],
  ['-t', 'nat', '-A', 'FLANNEL-POSTRTG', '-s', N, '-d', S, ...M, '-j', 'RETURN'],
  ['-t', 'nat', '-A', 'FLANNEL-POSTRTG', '!', '-s', N, '-d', S, ...M, '-j', 'RETURN'],
  ['-t', 'nat', '-A', 'FLANNEL-POSTRTG', '-s', N, '!', '-d', '224.0.0.0/4', ...M, '-j', 'MASQUERADE', '--random-fully'],
  ['-t', 'nat', '-A', 'FLANNEL-POSTRTG', '!', '-s', N, '-d', N, ...M, '-j', 'MASQUERADE', '--random-fully'],
  ['-t', 'filter', '-N', 'FLANNEL-FWD'],
  ['-t', 'filter', '-A', 'FORWARD', ...F, '-j', 'FLANNEL-FWD'],
  ['-t', 'filter', '-A', 'FLANNEL-FWD', '-s', N, ...F, '-j', 'ACCEPT'],
  ['-t', 'filter', '-A', 'FLANNEL-FWD', '-d', N, ...F, '-j', 'ACCEPT'],
];
/** The host's own rules, there before flannel started (Docker's, say). */
const HOST_RULES: string[][] = [
  ['-P', 'FORWARD', 'DROP'],
  ['-t', 'nat', '-A', 'POSTROUTING', '-s', '172.17.0.0/16', '!', '-o', 'docker0', '-j', 'MASQUERADE'],
  ['-t', 'filter', '-A', 'FORWARD', '-o', 'docker0', '-j', 'ACCEPT'],
];

/** Both families' tables, without comments and counters (traffic moves those). */
async function netfilter(ns: string): Promise<string> {
  const save = async (tool: string) => (await sh('ip', ['netns', 'exec', ns, tool])).replace(/^#.*$\n?/gm, '').replace(/\[\d+:\d+\]/g, '[]');
  return `${await save('iptables-save')}${await save('ip6tables-save')}`;
}

test("a node converged by hand to flannel's state is taken over: diff clean, apply writes no iptables, cleanup takes flannel's chains only", async () => {
  await withTopology(specs, async (t) => {
    const [a] = t.nodes;
    const src = `file:${t.file('cluster.yaml', clusterYAML(specs))}`;
    const run = (cmd: string, extra: string[] = [], env?: Record<string, string>) => ovlnet([cmd, '--source', src, '--node', a.name, '--netns', a.ns, ...extra], { env });
    // The vxlan device, neighbours and fdb as flannel makes them (ovlnet's are the same)...
    const dev = await run('apply', ['--iptables-forward-rules=false']);
    assert.is(dev.code, 0, dev.stdout + dev.stderr);
    // ...the routes as flannel leaves them (protocol boot)...
    for (const [dst, via] of [['198.18.1.0/24', '198.18.1.0'], ['198.18.2.0/24', '198.18.2.0']]) {
      await ipn(a.ns, 'route', 'del', dst);
      await ipn(a.ns, 'route', 'add', dst, 'via', via, 'dev', 'flannel.1', 'onlink');
    }
    assert.is(await ipn(a.ns, 'route', 'show', 'proto', '244'), '', 'no ovlnet route left');
    // ...and its iptables rules, after the host's own.
    for (const r of [...HOST_RULES, ...FLANNEL_RULES]) await sh('ip', ['netns', 'exec', a.ns, 'iptables', ...r]);
    const before = await netfilter(a.ns);
    const routesBefore = await ipn(a.ns, 'route', 'show');

    const d = await run('diff', ['--ip-masq']);
    assert.is(d.code, 0, d.stdout + d.stderr);
    assert.match(d.stdout, /No changes\. The host matches the plan \(19 entries in sync, 2 held by identical foreign routes\)/, d.stdout);

    const spy = makeSpy(join(t.tmp, 'spy'));
    const r = await run('apply', ['--ip-masq'], spy.env);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /0 added, 0 changed, 0 removed/);
    assert.equal(spy.calls().filter((c) => c.args.some((x) => x.endsWith('-restore'))), [], 'no iptables-restore');
    const afterApply = await netfilter(a.ns);
    assert.is(afterApply, before, `iptables unchanged: ${JSON.stringify([before.split('\n').filter((l) => !afterApply.includes(l)), afterApply.split('\n').filter((l) => !before.includes(l))])}`);
    assert.is(await ipn(a.ns, 'route', 'show'), routesBefore, 'routes unchanged');

    const cu = await ovlnet(['cleanup', '--netns', a.ns]);
    assert.is(cu.code, 0, cu.stdout + cu.stderr);
    const flannels = (l: string) => l.includes('FLANNEL-') || l.includes('flanneld');
    assert.is(await netfilter(a.ns), before.split('\n').filter((l) => !flannels(l)).join('\n'), 'cleanup removed flannel\'s chains and jumps, nothing else');
    assert.is(await ipn(a.ns, 'route', 'show'), routesBefore, 'flannel\'s routes are not ovlnet\'s to remove');
  });
});

test('upgrading from an ovlnet that wrote "ovlnet masq" (jump inserted first): one apply, flannel\'s form, one jump', async () => {
  await withTopology(specs.slice(0, 1), async (t) => {
    const [a] = t.nodes;
    const src = `file:${t.file('cluster.yaml', clusterYAML(specs))}`;
    const run = (cmd: string) => ovlnet([cmd, '--ip-masq', '--source', src, '--node', a.name, '--netns', a.ns]);
    // What the earlier version left: its comment on every rule, its jump first.
    const OLD = ['-m', 'comment', '--comment', 'ovlnet masq'];
    const ipt = (...args: string[]) => sh('ip', ['netns', 'exec', a.ns, 'iptables', '-t', 'nat', ...args]);
    await ipt('-A', 'POSTROUTING', '-s', '172.17.0.0/16', '-j', 'MASQUERADE');
    await ipt('-N', 'FLANNEL-POSTRTG');
    await ipt('-A', 'FLANNEL-POSTRTG', '-s', S, '-d', N, ...OLD, '-j', 'RETURN');
    await ipt('-I', 'POSTROUTING', '1', ...OLD, '-j', 'FLANNEL-POSTRTG');
    const pending = await run('diff');
    assert.is(pending.code, 2, pending.stdout + pending.stderr);
    assert.match(pending.stdout, '- nat POSTROUTING -m comment --comment "ovlnet masq" -j FLANNEL-POSTRTG');
    const r = await run('apply');
    assert.is(r.code, 0, r.stdout + r.stderr);
    const nat = await ipt('-S', 'POSTROUTING');
    assert.equal(nat.split('\n').filter((l) => l.includes('FLANNEL-POSTRTG')), ['-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG'], nat);
    assert.ok(nat.includes('-A POSTROUTING -s 172.17.0.0/16 -j MASQUERADE'), nat);
    assert.not.ok((await ipt('-S', 'FLANNEL-POSTRTG')).includes('ovlnet masq'));
    assert.is((await run('diff')).code, 0);
  });
});

test.run();
