// `ovlnet doctor` on a dual-stack vxlan node checks both families: it probes
// each peer's IPv4 and IPv6 halves (through flannel.1 and flannel-v6.1), and
// it reads the IPv6 policy rules as it reads the IPv4 ones, so a rule taking
// part of a peer's IPv6 subnet to another table is named even where the
// addresses `ip route get` tries are not in that part. The daemon's own
// probes do the same: a peer whose IPv6 overlay is down is unreachable on
// IPv6 (not healthy because IPv4 answers), counted once however many of its
// families are down, and doctor names it once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execa } from 'execa';
import { join } from 'node:path';
import { ovlnet } from '../lib/cli.js';
import { DaemonProcess, eventually, httpGet } from '../lib/daemon.js';
import { clusterYAML, dualStackNodes, ipn, withTopology } from '../lib/netns.js';

interface Report {
  ok: boolean;
  checks: Array<{ name: string; status: string; peer?: string; message: string }>;
}

const specs = dualStackNodes(2);

test('dual stack: doctor probes both families and reads the IPv6 policy rules', async () => {
  await withTopology(specs, async (t) => {
    const src = `file:${t.file('cluster.yaml', clusterYAML(specs, undefined, '198.18.0.0/16', '2001:db8:100::/48'))}`;
    for (const [i, n] of t.nodes.entries()) {
      const r = await ovlnet(['apply', '--source', src, '--node', specs[i].name, '--netns', n.ns]);
      assert.is(r.code, 0, `apply ${n.name}: ${r.stdout}${r.stderr}`);
    }
    const a = t.nodes[0];
    const doctor = async (): Promise<{ code: number; report: Report; out: string }> => {
      const r = await ovlnet(['doctor', '--source', src, '--node', specs[0].name, '--netns', a.ns, '--subnet-file', '', '-o', 'json']);
      return { code: r.code, report: JSON.parse(r.stdout) as Report, out: `${r.stdout}\n${r.stderr}` };
    };

    const healthy = await doctor();
    assert.is(healthy.code, 0, healthy.out);
    const probed = healthy.report.checks.find((c) => c.name === 'peers.probed');
    assert.match(probed?.message ?? '', /^probed 1 of 1 peers: 1 answer through flannel\.1 and flannel-v6\.1/, healthy.out);

    // node-b's IPv6 half stops answering (its IPv4 half is fine): the IPv6 probe names it.
    const b = t.nodes[1];
    const drop6 = ['INPUT', '-d', '2001:db8:100:1::', '-p', 'ipv6-icmp', '--icmpv6-type', 'echo-request', '-j', 'DROP'];
    await execa('ip', ['netns', 'exec', b.ns, 'ip6tables', '-A', ...drop6]);
    try {
      const v6down = await doctor();
      assert.is(v6down.code, 2, v6down.out);
      const fails = v6down.report.checks.filter((c) => c.status === 'fail');
      assert.equal(fails.map((c) => `${c.name} ${c.peer}`), ['peer.overlay node-b'], v6down.out);
      assert.match(fails[0].message, /2001:db8:100:1::/, v6down.out);
    } finally {
      await execa('ip', ['netns', 'exec', b.ns, 'ip6tables', '-D', ...drop6]);
    }

    // Part of node-b's IPv6 subnet sent to another table by a policy rule; the
    // first and last addresses of the subnet (what route get tries) are outside it.
    await ipn(a.ns, '-6', 'route', 'add', 'blackhole', '2001:db8:100:1:4000::/66', 'table', '100');
    await ipn(a.ns, '-6', 'rule', 'add', 'to', '2001:db8:100:1:4000::/66', 'table', '100', 'priority', '100');
    const faulty = await doctor();
    assert.is(faulty.code, 2, faulty.out);
    const routing = faulty.report.checks.filter((c) => c.status === 'fail');
    assert.equal(routing.map((c) => `${c.name} ${c.peer}`), ['routing.peer node-b'], faulty.out);
    assert.match(routing[0].message, /policy rule 100: to 2001:db8:100:1:4000::\/66 lookup 100 takes part of 2001:db8:100:1::\/64/);
  });
});

test('dual stack: the daemon probes each family; an IPv6-only outage is seen, a peer down on both is one', async () => {
  await withTopology(specs, async (t) => {
    const src = `file:${t.file('cluster.yaml', clusterYAML(specs, undefined, '198.18.0.0/16', '2001:db8:100::/48'))}`;
    const [a, b] = t.nodes;
    const r = await ovlnet(['apply', '--source', src, '--node', specs[1].name, '--netns', b.ns]);
    assert.is(r.code, 0, `apply ${b.name}: ${r.stdout}${r.stderr}`);
    const daemon = new DaemonProcess(['--source', src, '--node', specs[0].name, '--netns', a.ns, '--log-format', 'json', '--interval', '60s',
      '--subnet-file', join(t.tmp, 'daemon-a.env'), '--metrics-addr', '127.0.0.1:0', '--probe-interval', '1s']);
    const drop6 = ['INPUT', '-d', '2001:db8:100:1::', '-p', 'ipv6-icmp', '--icmpv6-type', 'echo-request', '-j', 'DROP'];
    const drop4 = ['INPUT', '-d', '198.18.1.0', '-p', 'icmp', '--icmp-type', 'echo-request', '-j', 'DROP'];
    const dropped: Array<[string, string[]]> = [];
    const drop = async (tool: string, rule: string[]) => {
      await execa('ip', ['netns', 'exec', b.ns, tool, '-A', ...rule]);
      dropped.push([tool, rule]);
    };
    const peers = async () => (JSON.parse((await httpGet(`${url}/peers`)).body) as { peers: Array<{ name: string; family: number; state: string }> }).peers.map((p) => `${p.name} ${p.family} ${p.state}`);
    const unreachable = async () => Number(/^ovlnet_peers_unreachable (\S+)$/m.exec((await httpGet(`${url}/metrics`)).body)?.[1]);
    let url = '';
    try {
      await daemon.ready();
      url = await daemon.metricsURL();
      await eventually(peers, (p) => p.join() === 'node-b 4 reachable,node-b 6 reachable', 'node-b reachable on both families', 30_000, 200);

      const from = daemon.lines.length;
      await drop('ip6tables', drop6);
      await eventually(peers, (p) => p.join() === 'node-b 4 reachable,node-b 6 unreachable', 'node-b unreachable on IPv6 alone', 30_000, 200);
      assert.is(await unreachable(), 1);
      const line = await daemon.waitForMsg(/^peer unreachable through the overlay$/, 5000, from);
      assert.equal([line.peer, line.family, line.target], ['node-b', 6, '2001:db8:100:1::']);

      await drop('iptables', drop4);
      await eventually(peers, (p) => p.join() === 'node-b 4 unreachable,node-b 6 unreachable', 'node-b unreachable on both families', 30_000, 200);
      assert.is(await unreachable(), 1, 'one peer, however many of its families are down');
      const d = await ovlnet(['doctor', '--source', src, '--node', specs[0].name, '--netns', a.ns, '--subnet-file', '', '-o', 'json', '--metrics-addr', url.replace('http://', '')]);
      const report = JSON.parse(d.stdout) as Report;
      const view = report.checks.find((c) => c.name === 'daemon.probes');
      assert.is(view?.message, 'the daemon probes 1 peer: 1 unreachable (node-b over IPv4 and IPv6)', d.stdout);
      // doctor probed node-b itself (one row per family that failed): the daemon's word on it adds no row.
      assert.equal(report.checks.filter((c) => c.peer === 'node-b' && c.status === 'fail').map((c) => c.name), ['peer.overlay', 'peer.overlay'], d.stdout);
    } finally {
      for (const [tool, rule] of dropped) await execa('ip', ['netns', 'exec', b.ns, tool, '-D', ...rule]);
      await daemon.kill();
    }
  });
});

test.run();
