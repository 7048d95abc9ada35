// flannel's FORWARD accept rules (--iptables-forward-rules, on by default):
// pods behind cni0 on three nodes, every node namespace with FORWARD policy
// DROP (what Docker sets). Set inside the namespaces only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { ovlnet } from '../lib/cli.js';
import { DaemonProcess, eventually } from '../lib/daemon.js';
import { clusterYAML, defaultNodes, sh, withTopology, type TestPod } from '../lib/netns.js';

const specs = defaultNodes(3);

async function reaches(from: TestPod, to: TestPod): Promise<boolean> {
  const r = await execa('ip', ['netns', 'exec', from.ns, 'ping', '-n', '-q', '-c', '1', '-W', '2', to.addr], { reject: false });
  return r.exitCode === 0;
}

/** Every ordered pair of pods: which reach each other. */
async function mesh(pods: TestPod[]): Promise<string[]> {
  const out: string[] = [];
  for (const a of pods) for (const b of pods) if (a !== b && (await reaches(a, b))) out.push(`${a.addr}->${b.addr}`);
  return out;
}

const nsIptables = (ns: string, ...args: string[]) => sh('ip', ['netns', 'exec', ns, 'iptables', ...args]);

test('pods on three nodes reach each other under FORWARD policy DROP, through FLANNEL-FWD', async () => {
  await withTopology(specs, async (t) => {
    const src = `file:${t.file('cluster.yaml', clusterYAML(specs))}`;
    const pods: TestPod[] = [];
    for (const n of t.nodes) {
      await nsIptables(n.ns, '-P', 'FORWARD', 'DROP');
      pods.push(await t.addPod(n));
    }
    const run = (cmd: string, n: (typeof t.nodes)[number], extra: string[] = []) => ovlnet([cmd, '--source', src, '--node', n.name, '--netns', n.ns, ...extra]);

    // Turned off: routes are all there, yet the DROP policy stops every forwarded packet.
    for (const n of t.nodes) {
      const r = await run('apply', n, ['--iptables-forward-rules=false']);
      assert.is(r.code, 0, r.stdout + r.stderr);
    }
    assert.equal(await mesh(pods), [], 'control: FORWARD DROP drops pod traffic without the rules');
    const off = await run('diff', t.nodes[0], ['--iptables-forward-rules=false']);
    assert.is(off.code, 0, off.stdout + off.stderr);
    assert.match(off.stderr, /FORWARD policy is DROP/, 'turned off, diff still says forwarded pod traffic is dropped');
    // The default (on): the same host is not in sync.
    const pending = await run('diff', t.nodes[0]);
    assert.is(pending.code, 2, pending.stdout + pending.stderr);
    assert.match(pending.stdout, '+ filter FLANNEL-FWD -s 198.18.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT');

    for (const n of t.nodes) {
      const r = await run('apply', n);
      assert.is(r.code, 0, r.stdout + r.stderr);
    }
    assert.is((await mesh(pods)).length, 6, 'every pod reaches every other');
    const save = await sh('ip', ['netns', 'exec', t.nodes[1].ns, 'iptables-save', '-t', 'filter']);
    assert.match(save, ':FORWARD DROP');
    assert.match(save, '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD');
    assert.match(save, '-A FLANNEL-FWD -s 198.18.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT\n-A FLANNEL-FWD -d 198.18.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT');
    const clean = await run('diff', t.nodes[1]);
    assert.is(clean.code, 0, clean.stdout + clean.stderr);

    // The jump removed by hand: diff sees it, apply puts it back, traffic flows again.
    await nsIptables(t.nodes[1].ns, '-D', 'FORWARD', '-m', 'comment', '--comment', 'flanneld forward', '-j', 'FLANNEL-FWD');
    assert.not.ok(await reaches(pods[0], pods[1]), 'control: without the jump node-b drops');
    const drift = await run('diff', t.nodes[1]);
    assert.is(drift.code, 2, drift.stdout + drift.stderr);
    assert.match(drift.stdout, '+ filter FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD');
    const fix = await run('apply', t.nodes[1]);
    assert.is(fix.code, 0, fix.stdout + fix.stderr);
    assert.ok(await reaches(pods[0], pods[1]));
    assert.is((await run('diff', t.nodes[1])).code, 0);

    // cleanup removes the chain and the jump, and leaves the policy as it was.
    const cu = await ovlnet(['cleanup', '--netns', t.nodes[1].ns]);
    assert.is(cu.code, 0, cu.stdout + cu.stderr);
    const after = await sh('ip', ['netns', 'exec', t.nodes[1].ns, 'iptables-save', '-t', 'filter']);
    assert.not.ok(after.includes('FLANNEL-FWD'), after);
    assert.match(after, ':FORWARD DROP');
  });
});

test('daemon: rules flushed by another tool are back within --iptables-resync, long before the next full resync', async () => {
  await withTopology(specs, async (t) => {
    const [a] = t.nodes;
    const file = t.file('cluster.yaml', clusterYAML(specs));
    const d = new DaemonProcess(['--source', `file:${file}`, '--node', a.name, '--netns', a.ns, '--log-format', 'json',
      '--subnet-file', '', '--interval', '1h', '--iptables-resync', '1', '--ip-masq']);
    try {
      await d.ready(30_000);
      const save = () => sh('ip', ['netns', 'exec', a.ns, 'iptables-save']);
      const jump = '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD';
      assert.match(await save(), jump);
      // What a firewall reload does to them: the chains flushed, the jumps gone.
      await nsIptables(a.ns, '-D', 'FORWARD', '-m', 'comment', '--comment', 'flanneld forward', '-j', 'FLANNEL-FWD');
      await nsIptables(a.ns, '-t', 'nat', '-F', 'FLANNEL-POSTRTG');
      const from = d.lines.length;
      await d.waitForMsg(/^iptables rules drifted: resyncing$/, 30_000, from);
      await eventually(save, (s) => s.includes(jump) && s.includes('-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000'), 'the rules back', 30_000, 200);
      // Restored once: one jump each.
      const after = await save();
      assert.is(after.split('\n').filter((l) => l === jump).length, 1, after);
      assert.is(after.split('\n').filter((l) => l === '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG').length, 1, after);
    } finally {
      await d.kill();
    }
  });
});

test.run();
