// Both backends on three real namespaces: every node gets its state a
// different way (plan -o commands run by hand, apply watched by the spy,
// plain apply), and every pod gateway then reaches every other one. This
// also proves `plan -o commands` prints exactly what apply runs on an empty
// host.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { ovlnet } from '../lib/cli.js';
import { makeSpy } from '../lib/spy.js';
import { route } from '../lib/kernel.js';
import { clusterYAML, defaultNodes, ping, sh, withTopology, type Topology, type TestNode } from '../lib/netns.js';

/** Runs `tool args` lines as ovlnet would: consecutive lines of one tool in one -batch. */
async function runBatchLines(ns: string, lines: string[]): Promise<void> {
  let i = 0;
  while (i < lines.length) {
    const tool = lines[i].split(' ')[0];
    const chunk: string[] = [];
    while (i < lines.length && lines[i].split(' ')[0] === tool) chunk.push(lines[i++].slice(tool.length + 1));
    if (tool === 'sysctl') {
      // The pinned settings (accept_ra): one sysctl inside the namespace.
      for (const l of chunk) await sh('ip', ['netns', 'exec', ns, 'sysctl', ...l.split(' ')]);
      continue;
    }
    assert.ok(tool === 'ip' || tool === 'bridge', `unexpected tool in: ${chunk[0]}`);
    await sh(tool, ['-n', ns, '-batch', '-'], chunk.join('\n') + '\n');
  }
}

async function allPairsPing(t: Topology): Promise<void> {
  const failed: string[] = [];
  for (const a of t.nodes) for (const b of t.nodes) {
    if (a !== b && !(await ping(a, b.podGateway))) failed.push(`${a.name} -> ${b.name} (${b.podGateway})`);
  }
  assert.equal(failed, [], 'pod gateways that did not answer');
}

// The ip and bridge lines are compared with what apply runs; iptables goes
// through iptables-restore, not these commands (forward-rules.test.ts and
// unit/netfilter.test.ts cover its rules).
const NO_FWD = ['--iptables-forward-rules=false'];

async function planCommands(src: string, n: TestNode): Promise<string[]> {
  const r = await ovlnet(['plan', '--source', src, '--node', n.name, '--netns', n.ns, '-o', 'commands', ...NO_FWD]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, '', 'plan on a valid cluster warns about nothing');
  return r.stdout.split('\n').filter(Boolean);
}

async function threeWays(backend: string, expectLines: (lines: string[]) => void): Promise<void> {
  const specs = defaultNodes(3);
  await withTopology(specs, async (t) => {
    const src = `file:${t.file('cluster.yaml', clusterYAML(specs, backend))}`;
    const [a, b, c] = t.nodes;

    // node-a: the printed commands, run by hand, give a host diff finds clean.
    const linesA = await planCommands(src, a);
    expectLines(linesA);
    await runBatchLines(a.ns, linesA);
    const d = await ovlnet(['diff', '--source', src, '--node', a.name, '--netns', a.ns, ...NO_FWD]);
    assert.is(d.code, 0, `diff after running plan -o commands by hand:\n${d.stdout}${d.stderr}`);
    assert.match(d.stdout, /No changes/);

    // node-b: apply runs exactly the printed commands, in that order.
    const linesB = await planCommands(src, b);
    const spy = makeSpy(join(t.tmp, 'spy'));
    const r = await ovlnet(['apply', '--source', src, '--node', b.name, '--netns', b.ns, ...NO_FWD], { env: spy.env });
    assert.is(r.code, 0, r.stdout + r.stderr);
    // apply runs independent batches at the same time (neighbours, fdb, routes):
    // the same lines, each process's lines in the printed order.
    const writes = spy.writes().map((w) => w.lines.map((l) => `${w.tool} ${l}`));
    assert.equal(writes.flat().sort(), linesB.filter((l) => /^(ip|bridge) /.test(l)).sort(), 'apply on an empty host runs what plan -o commands prints');
    // The sysctl line runs as printed, inside the namespace.
    for (const l of linesB.filter((x) => x.startsWith('sysctl '))) {
      assert.ok(spy.calls().some((c) => c.args.join(' ') === `netns exec ${b.ns} ${l}`), `${l} run by apply`);
    }
    for (const w of writes) {
      const at = w.map((l) => linesB.indexOf(l));
      assert.equal(at, [...at].sort((x, y) => x - y), `one process's lines keep the printed order: ${w.join(' | ')}`);
    }
    const entries = linesB.filter((l) => !/^ip link set \S+ up$/.test(l)).length;
    assert.match(r.stdout, new RegExp(`Apply complete: ${entries} added, 0 changed, 0 removed`));

    // node-c: plain apply.
    const rc = await ovlnet(['apply', '--source', src, '--node', c.name, '--netns', c.ns]);
    assert.is(rc.code, 0, rc.stdout + rc.stderr);

    await allPairsPing(t);
    // Never a route for the node's own subnet, other than the CNI bridge's.
    for (const n of t.nodes) {
      const own = await route(n.ns, n.subnet);
      assert.is(own?.dev, 'cni0', `${n.name}: own subnet stays on cni0`);
      assert.is(own?.protocol, 'kernel');
    }
  });
}

test('vxlan: three nodes converge three ways and every pod gateway reaches every other', async () => {
  await threeWays('{ type: vxlan, vni: 1, port: 8472 }', (lines) => {
    assert.match(lines[0], /^ip link add flannel\.1 address [0-9a-f:]{17} mtu 1450 type vxlan id 1 local 192\.0\.2\.10 dev eth0 dstport 8472 nolearning$/);
    assert.ok(lines.includes('ip addr replace 198.18.0.0/32 dev flannel.1'), lines.join('\n'));
    assert.ok(lines.includes('ip route add 198.18.1.0/24 via 198.18.1.0 dev flannel.1 onlink proto 244'), lines.join('\n'));
    assert.ok(lines.some((l) => /^bridge fdb replace [0-9a-f:]{17} dev flannel\.1 dst 192\.0\.2\.12 self permanent$/.test(l)), lines.join('\n'));
    // Routes last, so the kernel never has a route through a peer it would ARP for.
    // (The sysctl line, accept_ra, is no ip/bridge line and follows them.)
    const ipLines = lines.filter((l) => /^(ip|bridge) /.test(l));
    const firstRoute = ipLines.findIndex((l) => l.startsWith('ip route'));
    assert.ok(ipLines.slice(firstRoute).every((l) => l.startsWith('ip route')), 'routes come last');
    assert.ok(lines.includes('sysctl -q -w net/ipv6/conf/flannel.1/accept_ra=0'), lines.join('\n'));
  });
});

test('host-gw: three nodes converge three ways and every pod gateway reaches every other', async () => {
  await threeWays('{ type: host-gw }', (lines) => {
    assert.equal(lines, [
      'ip route add 198.18.1.0/24 via 192.0.2.11 dev eth0 proto 244',
      'ip route add 198.18.2.0/24 via 192.0.2.12 dev eth0 proto 244',
    ]);
  });
});

test.run();
