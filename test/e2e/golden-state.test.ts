// The kernel state ovlnet writes, for every backend and kind of kernel
// object, against golden snapshots recorded from an earlier build
// (test/fixtures/golden/*.json): the whole namespace (links, addresses,
// routes of every table, permanent neighbours, the fdb, the nat table, the
// vxlan device's offload features) after apply on an empty host, after a
// second apply that removes, changes and moves peers, and after cleanup; and
// the ip/bridge batch lines each step ran. A refactoring that changes any of
// it fails here. What legitimately varies between runs (interface indexes,
// the random MACs of veth and bridge devices, packet counters) is
// normalised. OVLNET_RECORD_GOLDEN=1 writes the fixtures instead
// (OVLNET_RECORD_GOLDEN=DIR: into DIR, to compare with `diff -r`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ovlnet, ROOT } from '../lib/cli.js';
import { settledSnapshot } from '../lib/kernel.js';
import { clusterYAML, dualStackNodes, sh, withTopology, type NodeSpec } from '../lib/netns.js';
import { makeSpy } from '../lib/spy.js';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'golden');
/** `1`: record into the fixtures; a directory: record there (to diff against the fixtures). */
const RECORD = process.env.OVLNET_RECORD_GOLDEN;

const MACS = ['0a:58:c6:12:00:01', '0a:58:c6:12:01:01', '0a:58:c6:12:02:01', '0a:58:c6:12:03:01'];
/** node-a (this host) and three peers with fixed VTEP MACs: the vxlan device's address is then known. */
const NODES: NodeSpec[] = dualStackNodes(4).map((n, i) => ({ ...n, vtepMAC: MACS[i] }));
/** The second cluster: node-d gone, node-b with a new MAC, node-c on a new public IP. */
const NODES2: NodeSpec[] = [
  NODES[0],
  { ...NODES[1], vtepMAC: '0a:58:c6:12:01:99' },
  { ...NODES[2], publicIP: '192.0.2.42' },
];

interface Scenario {
  name: string;
  backend: string;
  /** Dual stack: the IPv6 network. */
  ipv6Network?: string;
  extra: string[];
}

const SCENARIOS: Scenario[] = [
  { name: 'vxlan', backend: '{ type: vxlan, vni: 1, port: 8472 }', extra: ['--ip-masq', '--disable-tx-offload', 'on'] },
  { name: 'vxlan-dualstack', backend: '{ type: vxlan, vni: 4, port: 4789 }', ipv6Network: '2001:db8:100::/48', extra: [] },
  { name: 'vxlan-directrouting', backend: '{ type: vxlan, vni: 1, port: 8472, directRouting: true }', extra: [] },
  { name: 'host-gw', backend: '{ type: host-gw }', extra: ['--ip-masq'] },
  { name: 'host-gw-dualstack', backend: '{ type: host-gw }', ipv6Network: '2001:db8:100::/48', extra: [] },
  { name: 'udp', backend: '{ type: udp, port: 8285 }', extra: ['--ip-masq'] },
];

const MAC_RE = /\b[0-9a-f]{2}(?::[0-9a-f]{2}){5}\b/gi;

/** Everything ovlnet may write in a namespace, as one normalised text. */
async function namespaceState(ns: string): Promise<Record<string, unknown>> {
  const k = await settledSnapshot(ns);
  const [addrs, nat, offload] = await Promise.all([
    sh('ip', ['-n', ns, '-j', 'addr', 'show']),
    sh('ip', ['netns', 'exec', ns, 'iptables-save', '-t', 'nat']),
    sh('ip', ['-n', ns, 'link', 'show', 'flannel.1']).then(() => sh('ip', ['netns', 'exec', ns, 'ethtool', '-k', 'flannel.1']), () => ''),
  ]);
  const keepMACs = new Set([...MACS, NODES2[1].vtepMAC!, '00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff']);
  const norm = (json: string) => JSON.parse(
    json.replace(MAC_RE, (m) => (keepMACs.has(m.toLowerCase()) ? m : 'xx:xx:xx:xx:xx:xx')),
    (key, v) => (['ifindex', 'link_index', 'link_netnsid', 'valid_life_time', 'preferred_life_time'].includes(key) ? undefined : v),
  );
  const addrList = (norm(addrs) as Array<{ ifname: string; addr_info?: Array<{ local: string }> }>).map((l) => ({
    ...l, addr_info: (l.addr_info ?? []).filter((a) => !/^fe80:/i.test(a.local)),
  }));
  // The kernel lists neighbours and fdb entries in hash order: sorted, they compare.
  const sorted = (arr: unknown[]) => arr.map((x) => JSON.stringify(x)).sort().map((x) => JSON.parse(x) as unknown);
  return {
    links: norm(k.links),
    addrs: addrList,
    routes: k.routes.split('\n').map(norm),
    neigh: sorted((norm(k.neigh) as Array<{ state?: string[] }>).filter((n) => n.state?.includes('PERMANENT'))),
    fdb: sorted(norm(k.fdb)),
    nat: nat.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/, '[n:n]')),
    offload: offload.split('\n'),
  };
}

/** The write processes a step ran, each as its lines; sorted, as processes of one phase run together. */
function writesOf(spy: ReturnType<typeof makeSpy>): string[][] {
  const w = spy.writes().map((c) => c.lines.map((l) => `${c.tool} ${l}`));
  spy.reset();
  return w.sort((a, b) => (a.join('\n') < b.join('\n') ? -1 : 1));
}

for (const s of SCENARIOS) {
  test(`${s.name}: the namespace after apply, a changing apply and cleanup is the recorded one`, async () => {
    await withTopology([NODES[0]], async (t) => {
      const [a] = t.nodes;
      const spy = makeSpy(join(t.tmp, 'spy'));
      const file = (nodes: NodeSpec[]) => t.file('cluster.yaml', clusterYAML(nodes, s.backend, '198.18.0.0/16', s.ipv6Network));
      const run = async (args: string[]) => {
        const r = await ovlnet(args, { env: spy.env });
        assert.is(r.code, 0, `${args.join(' ')}\n${r.stdout}${r.stderr}`);
      };
      const steps: Record<string, unknown> = {};
      const src = `file:${file(NODES)}`;
      const apply = () => run(['apply', '--source', src, '--node', a.name, '--netns', a.ns, ...s.extra]);
      await apply();
      steps.apply = { writes: writesOf(spy), state: await namespaceState(a.ns) };
      file(NODES2);
      await apply();
      steps.change = { writes: writesOf(spy), state: await namespaceState(a.ns) };
      await run(['cleanup', '--netns', a.ns]);
      steps.cleanup = { writes: writesOf(spy), state: await namespaceState(a.ns) };

      const path = join(FIXTURES, `${s.name}.json`);
      const text = JSON.stringify(steps, null, 1) + '\n';
      if (RECORD) {
        const dir = RECORD === '1' ? FIXTURES : RECORD;
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, `${s.name}.json`), text);
        return;
      }
      assert.ok(existsSync(path), `no golden snapshot ${path}: record one with OVLNET_RECORD_GOLDEN=1 on a known-good build`);
      assert.fixture(text, readFileSync(path, 'utf8'), `${s.name}: the kernel state differs from the recorded one`);
    });
  });
}

test.run();
