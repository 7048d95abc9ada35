// Issue 3, whole-run refusals: a bad config or an unparsable / oversized /
// explosive file refuses the run with exit 1 and one clear line, starts no
// write, and leaves the converged node byte-identical. And the mass-deletion
// guard: refuses removing most peers (exit 1, nothing changed) unless
// --force, with --max-delete as a count or a percentage.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertOneLineError, type Cluster, nodeLine, pool, sharedCluster } from '../lib/e2e.js';
import { kernelSnapshot, routes, settledSnapshot, type KernelSnapshot } from '../lib/kernel.js';
import { makeSpy } from '../lib/spy.js';
import type { NodeSpec, TestNode, Topology } from '../lib/netns.js';

const local: NodeSpec = { name: 'node-a', publicIP: '192.0.2.10', subnet: '198.18.0.0/24' };
const peers: NodeSpec[] = Array.from({ length: 9 }, (_, i) => ({ name: `peer-${i + 1}`, publicIP: `192.0.2.${11 + i}`, subnet: `198.18.${i + 1}.0/24` }));
const NODES = 'nodes:\n' + [local, ...peers].map((n) => nodeLine({ ...n })).join('\n') + '\n';
const doc = (top: string) => `${top}\n${NODES}`;
const vx = (backend: string) => doc(`network: 198.18.0.0/16\nbackend: ${backend}`);

const env = sharedCluster(test, [local], { fileNodes: [local, ...peers] });
let t: Topology;
let c: Cluster;
let a: TestNode;
let converged: KernelSnapshot;
test.before(async () => {
  ({ t, c } = env);
  a = env.nodes[0];
  await c.apply(a);
  converged = await settledSnapshot(a.ns);
});

function aliasBomb(): string {
  const lines = ['network: 198.18.0.0/16', 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(', ')}]`);
  return lines.join('\n') + '\n' + NODES;
}

const BAD: Array<{ name: string; file: string; text: string | (() => string); error: RegExp }> = [
  { name: 'network 0.0.0.0/0', file: 'c.yaml', text: doc('network: 0.0.0.0/0'), error: /Network 0\.0\.0\.0\/0 is a default route; refusing it/ },
  { name: 'network holding the underlay', file: 'c.yaml', text: doc('network: 192.0.2.128/25'), error: /Network 192\.0\.2\.128\/25 overlaps this host's network 192\.0\.2\.0\/24/ },
  { name: 'network around the underlay', file: 'c.yaml', text: doc('network: 192.0.0.0/8'), error: /192\.0\.2\.10 lies inside the pod network 192\.0\.0\.0\/8|overlaps this host's network/ },
  { name: 'multicast network', file: 'c.yaml', text: doc('network: 224.1.0.0/16'), error: /overlaps reserved range 224\.0\.0\.0\/4/ },
  { name: 'loopback network', file: 'c.yaml', text: doc('network: 127.0.0.0/16'), error: /overlaps reserved range 127\.0\.0\.0\/8/ },
  { name: 'v6 network', file: 'c.yaml', text: doc('network: 2001:db8::/32'), error: /only IPv4 pod networks/ },
  { name: 'network not a CIDR', file: 'c.yaml', text: doc('network: "198.18.0.0/16 dev eth0"'), error: /Network "198\.18\.0\.0\/16 dev eth0" is not a CIDR/ },
  { name: 'network host bits', file: 'c.yaml', text: doc('network: 198.18.0.1/16'), error: /has host bits set/ },
  { name: 'network missing', file: 'c.yaml', text: NODES, error: /Network is missing/ },
  { name: 'subnetLen 8', file: 'c.yaml', text: doc('network: 198.18.0.0/16\nsubnetLen: 8'), error: /SubnetLen must be an integer from 18 to 30, got 8/ },
  // flannel: at least four subnets in the network, so a /16 can not have /17s
  { name: 'subnetLen 17', file: 'c.yaml', text: doc('network: 198.18.0.0/16\nsubnetLen: 17'), error: /SubnetLen must be an integer from 18 to 30, got 17/ },
  { name: 'subnetLen 31', file: 'c.yaml', text: doc('network: 198.18.0.0/16\nsubnetLen: 31'), error: /SubnetLen must be an integer from 18 to 30, got 31/ },
  { name: 'backend unknown', file: 'c.yaml', text: vx('{ type: "vxlan\\ndev eth0" }'), error: /unknown backend type "vxlan\\ndev eth0"; use vxlan, host-gw, udp or wireguard/ },
  { name: 'backend ipip', file: 'c.yaml', text: vx('{ type: ipip }'), error: /backend "ipip" is a flannel backend ovlnet does not support/ },
  { name: 'udp port 0x10000', file: 'c.yaml', text: vx('{ type: udp, port: 65536 }'), error: /Backend\.Port must be an integer from 1 to 65535, got 65536/ },
  // VNI 0 is valid, as in flannel (flannel.0): the lower edge is -1.
  { name: 'VNI -1', file: 'c.yaml', text: vx('{ type: vxlan, vni: -1 }'), error: /Backend\.VNI must be an integer from 0 to 16777215, got -1/ },
  { name: 'VNI 2^24', file: 'c.yaml', text: vx('{ type: vxlan, vni: 16777216 }'), error: /Backend\.VNI must be an integer from 0 to 16777215/ },
  { name: 'VNI with keywords', file: 'c.yaml', text: vx('{ type: vxlan, vni: "1 dev eth0" }'), error: /Backend\.VNI must be an integer/ },
  { name: 'port 70000', file: 'c.yaml', text: vx('{ type: vxlan, port: 70000 }'), error: /Backend\.Port must be an integer from 1 to 65535, got 70000/ },
  { name: 'port -1', file: 'c.yaml', text: vx('{ type: vxlan, port: -1 }'), error: /Backend\.Port must be an integer from 1 to 65535/ },
  { name: 'MTU 20', file: 'c.yaml', text: vx('{ type: vxlan, mtu: 20 }'), error: /Backend\.MTU must be an integer from 68 to 65535, got 20/ },
  { name: 'flannel spelling, bad VNI', file: 'c.json', text: JSON.stringify({ Network: '198.18.0.0/16', Backend: { Type: 'vxlan', VNI: 99999999 }, nodes: [local] }), error: /Backend\.VNI must be an integer/ },
  { name: 'alias bomb', file: 'c.yaml', text: aliasBomb, error: /too many YAML aliases \(more than \d+\); refusing a possible alias bomb/ },
  { name: 'huge file', file: 'c.yaml', text: () => doc('network: 198.18.0.0/16') + '#' + 'x'.repeat(33 * 1024 * 1024) + '\n', error: /c\.yaml: larger than \d+ bytes/ },
  { name: 'deep JSON', file: 'c.json', text: () => `{"network":"198.18.0.0/16","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, error: /nested deeper than \d+ levels/ },
  { name: 'invalid YAML', file: 'c.yaml', text: 'network: [198.18.0.0/16\n', error: /invalid YAML/ },
  { name: 'invalid JSON', file: 'c.json', text: '{"network": ', error: /invalid JSON/ },
  { name: 'not a mapping', file: 'c.yaml', text: '- 1\n- 2\n', error: /expected a mapping with network, backend and nodes/ },
  { name: 'nodes not a list', file: 'c.yaml', text: 'network: 198.18.0.0/16\nnodes: { a: 1 }\n', error: /"nodes" must be a list/ },
  { name: 'empty file', file: 'c.yaml', text: '', error: /expected a mapping/ },
];

test(`each of ${BAD.length} bad configs or files: exit 1, one line, no write, kernel byte-identical`, async () => {
  await pool(BAD, 3, async (b, i) => {
    const dir = join(t.tmp, `bad-${i}`);
    const spy = makeSpy(dir);
    const path = join(dir, b.file);
    writeFileSync(path, typeof b.text === 'function' ? b.text() : b.text);
    const r = await c.run('apply', a, ['--source', `file:${path}`], { env: spy.env });
    try {
      assertOneLineError(r, b.error);
    } catch (e) {
      (e as Error).message = `${b.name}: ${(e as Error).message}`;
      throw e;
    }
    assert.not.match(r.stderr, /^warning:/m, `${b.name}: the run is refused as a whole`);
    assert.equal(spy.writes(), [], `${b.name}: no write`);
  });
  assert.equal(await kernelSnapshot(a.ns), converged);
});

const ownRoutes = async () => (await routes(a.ns)).filter((r) => r.protocol === '244').length;

test('mass-deletion guard: refuses removing most peers, --force and --max-delete allow it', async () => {
  const keep = (n: number) => c.writeNodes([local, ...peers.slice(0, n)]);
  const full = async () => {
    c.writeNodes([local, ...peers]);
    await c.apply(a, ['--force']);
    assert.is(await ownRoutes(), 9);
  };
  const refused = async (extra: string[], removing: number, allowed: number) => {
    const spy = makeSpy(join(t.tmp, `spy-guard-${extra.join('')}-${removing}`));
    const r = await c.run('apply', a, extra, { env: spy.env });
    assertOneLineError(r, new RegExp(`refusing to remove ${removing} of 9 peers \\(more than the ${allowed} allowed by --max-delete\\); nothing was changed`));
    assert.match(r.stderr, /^hint: .*--force/m);
    assert.equal(spy.writes(), [], 'no write');
    assert.equal(await kernelSnapshot(a.ns), converged, 'nothing changed');
  };
  const allowed = async (extra: string[], removing: number) => {
    const r = await c.apply(a, extra);
    assert.match(r.stdout, new RegExp(`0 added, 0 changed, ${removing * 3} removed`), extra.join(' '));
    assert.is(await ownRoutes(), 9 - removing);
    await full();
  };

  keep(4); // 5 of 9 peers would go: more than half.
  await refused([], 5, 4);
  // diff and plan show the deletions; only writing is guarded.
  const d = await c.run('diff', a);
  assert.is(d.code, 2);
  assert.match(d.stdout, /Diff: 0 to add, 0 to change, 15 to destroy/);
  await refused(['--max-delete', '4'], 5, 4);
  await refused(['--max-delete', '50%'], 5, 4);
  await allowed(['--force'], 5);
  keep(4);
  await allowed(['--max-delete', '5'], 5);
  keep(4);
  await allowed(['--max-delete', '60%'], 5);
  keep(5); // 4 of 9: within the default.
  await allowed([], 4);
  keep(0); // An emptied file.
  await refused([], 9, 4);
  keep(8);
  await refused(['--max-delete', '0'], 1, 0);
  assertOneLineError(await c.run('apply', a, ['--max-delete', 'lots']), /--max-delete lots: expected a number of peers \(e\.g\. 10\) or a percentage/);
  c.writeNodes([local, ...peers]);
  assert.equal(await kernelSnapshot(a.ns), converged);
});

test.run();
