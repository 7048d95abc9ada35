// Issue 3, per node: a converged node is fed hostile cluster states (one bad
// node appended to a healthy cluster of ten) and nothing reaches the kernel:
// each apply starts no write at all, names the bad node and field in a
// warning, and the namespace's links, routes, neighbours and fdb are
// byte-identical afterwards.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { type Cluster, nodeLine, pool, sharedCluster } from '../lib/e2e.js';
import { kernelSnapshot, settledSnapshot, type KernelSnapshot } from '../lib/kernel.js';
import { makeSpy } from '../lib/spy.js';
import { macFromName } from '../../src/model/mac.js';
import type { NodeSpec, TestNode, Topology } from '../lib/netns.js';

// One real node; nine peers that exist only in the file (vxlan needs no reply to program them).
const local: NodeSpec = { name: 'node-a', publicIP: '192.0.2.10', subnet: '198.18.0.0/24' };
const peers: NodeSpec[] = Array.from({ length: 9 }, (_, i) => ({ name: `peer-${i + 1}`, publicIP: `192.0.2.${11 + i}`, subnet: `198.18.${i + 1}.0/24` }));
const HEAD = 'network: 198.18.0.0/16\nbackend: { type: vxlan, vni: 1, port: 8472 }\nnodes:\n';

const env = sharedCluster(test, [local], { fileNodes: [local, ...peers] });
let t: Topology;
let c: Cluster;
let a: TestNode;
let converged: KernelSnapshot;
test.before(async () => {
  ({ t, c } = env);
  a = env.nodes[0];
  const r = await c.apply(a);
  // 30 kernel entries (accept_ra among them) and flannel's FORWARD rules (two rules and the jump).
  assert.match(r.stdout, /Apply complete: 33 added/);
  converged = await settledSnapshot(a.ns);
});


const ok = { publicIP: '192.0.2.40', subnet: '198.18.40.0/24' };
const HOSTILE: Array<{ name: string; node: Record<string, unknown>; warning: RegExp }> = [
  // Subnets
  { name: 'subnet outside the network', node: { name: 'evil', publicIP: '192.0.2.40', subnet: '10.0.0.0/24' }, warning: /node evil .*\.subnet: 10\.0\.0\.0\/24 is not a subnet inside the network 198\.18\.0\.0\/16/ },
  { name: 'subnet = the whole network', node: { name: 'evil', publicIP: '192.0.2.40', subnet: '198.18.0.0/16' }, warning: /\.subnet: 198\.18\.0\.0\/16 is not a subnet inside the network/ },
  { name: 'subnet with host bits', node: { name: 'evil', publicIP: '192.0.2.40', subnet: '198.18.40.1/24' }, warning: /\.subnet: 198\.18\.40\.1\/24 has host bits set/ },
  { name: 'subnet of a working peer', node: { name: 'evil', publicIP: '192.0.2.40', subnet: '198.18.1.0/24' }, warning: /node evil .*\.subnet: 198\.18\.1\.0\/24 overlaps programmed peer peer-1 198\.18\.1\.0\/24; left out/ },
  { name: 'half of a working peer', node: { name: 'evil', publicIP: '192.0.2.40', subnet: '198.18.2.128/25' }, warning: /node evil .*\.subnet: 198\.18\.2\.128\/25 overlaps programmed peer peer-2 198\.18\.2\.0\/24; left out/ },
  { name: 'a range over several working peers', node: { name: 'evil', publicIP: '192.0.2.40', subnet: '198.18.4.0/22' }, warning: /node evil .*\.subnet: 198\.18\.4\.0\/22 overlaps programmed peers peer-4 198\.18\.4\.0\/24, peer-5 198\.18\.5\.0\/24, peer-6 198\.18\.6\.0\/24, peer-7 198\.18\.7\.0\/24; left out/ },
  { name: 'a range over ours and working peers', node: { name: 'evil', publicIP: '192.0.2.40', subnet: '198.18.0.0/20' }, warning: /node evil .*\.subnet: 198\.18\.0\.0\/20 overlaps this node node-a 198\.18\.0\.0\/24; left out/ },
  { name: 'our subnet', node: { name: 'evil', publicIP: '192.0.2.40', subnet: '198.18.0.0/24' }, warning: /node evil .*\.subnet: 198\.18\.0\.0\/24 overlaps this node node-a/ },
  { name: 'half of our subnet', node: { name: 'evil', publicIP: '192.0.2.40', subnet: '198.18.0.128/25' }, warning: /overlaps this node node-a 198\.18\.0\.0\/24; left out/ },
  // Issue 16.5: an identical copy under another name made both look programmed, and both were left out as ambiguous.
  { name: 'an identical copy of a working peer under another name', node: { name: 'evil', publicIP: '192.0.2.11', subnet: '198.18.1.0/24', vtepMAC: macFromName('peer-1').text },
    warning: /node evil .*\.subnet: 198\.18\.1\.0\/24, public IP and VTEP MAC are those of node peer-1; duplicate left out/ },
  // Issue 16.6: one VTEP MAC for two peers moved the fdb entry between them on every write.
  { name: 'a working peer\'s VTEP MAC', node: { name: 'evil', publicIP: '192.0.2.40', subnet: '198.18.40.0/24', vtepMAC: macFromName('peer-3').text },
    warning: new RegExp(`node evil .*\\.vtepMAC: ${macFromName('peer-3').text} is the VTEP MAC of programmed peer peer-3; left out`) },
  { name: 'this node\'s VTEP MAC', node: { name: 'evil', publicIP: '192.0.2.40', subnet: '198.18.40.0/24', vtepMAC: macFromName('node-a').text },
    warning: /node evil .*\.vtepMAC: .* is this node's \(node-a\) VTEP MAC; left out/ },
  { name: 'a working peer\'s name, hijacking its address', node: { name: 'peer-1', publicIP: '192.0.2.66', subnet: '198.18.1.0/24' }, warning: /node peer-1 .*nodes\[10\]\)\.name: duplicate name; left out/ },
  // Public IPs
  ...([
    ['127.0.0.1', /not a unicast address \(loopback\)/], ['239.1.2.3', /not a unicast address \(multicast\)/],
    ['255.255.255.255', /not a unicast address \(broadcast\)/], ['0.0.0.0', /not a unicast address \(unspecified\)/],
    ['169.254.3.3', /not a unicast address \(link-local\)/], ['198.18.50.5', /lies inside the pod network 198\.18\.0\.0\/16/],
    ['2001:db8::1', /is not IPv4/], ['192.0.2.40 dev eth0', /"192\.0\.2\.40 dev eth0" is not an IP address/],
    ['192.0.2.40\nlink del eth0', /"192\.0\.2\.40\\nlink del eth0" is not an IP address/], ['0300.0.2.40', /is not an IP address/],
  ] as Array<[string, RegExp]>).map(([ip, w]) => ({ name: `public IP ${JSON.stringify(ip)}`, node: { name: 'evil', publicIP: ip, subnet: '198.18.40.0/24' }, warning: new RegExp(`node evil .*\\.publicIP: .*${w.source}`) })),
  { name: 'subnet with extra keywords', node: { name: 'evil', publicIP: '192.0.2.40', subnet: '198.18.40.0/24 via 192.0.2.66' }, warning: /\.subnet: "198\.18\.40\.0\/24 via 192\.0\.2\.66" is not a CIDR/ },
  { name: 'subnet with a newline', node: { name: 'evil', publicIP: '192.0.2.40', subnet: '198.18.40.0/24\nroute flush table main' }, warning: /\.subnet: "198\.18\.40\.0\/24\\nroute flush table main" is not a CIDR/ },
  // MACs
  ...([
    ['01:00:5e:00:00:01', /is not a unicast MAC \(multicast\)/], ['ff:ff:ff:ff:ff:ff', /is not a unicast MAC \(broadcast\)/],
    ['00:00:00:00:00:00', /is not a unicast MAC \(all zero\)/], ['zz:zz', /"zz:zz" is not a MAC address/],
    ['02:00:00:00:00:01 dev eth0', /"02:00:00:00:00:01 dev eth0" is not a MAC address/],
  ] as Array<[string, RegExp]>).map(([mac, w]) => ({ name: `MAC ${mac}`, node: { name: 'evil', ...ok, vtepMAC: mac }, warning: new RegExp(`node evil .*\\.vtepMAC: .*${w.source}`) })),
  // Names
  ...['evil\nroute add default via 192.0.2.66', 'evil dev eth0', 'evil"\'', 'evil;reboot', 'x'.repeat(300), ''].map((name) => ({
    name: `name ${JSON.stringify(name).slice(0, 30)}`, node: { name, ...ok }, warning: /nodes\[10\]\.name: .* is not a valid name/,
  })),
  { name: 'name not a string', node: { name: { dev: 'eth0' }, ...ok }, warning: /nodes\[10\]\.name: .* is not a valid name/ },
];

test(`each of ${HOSTILE.length} hostile nodes is left out with a warning; no write, kernel byte-identical`, async () => {
  await pool(HOSTILE, 3, async (h, i) => {
    const file = `hostile-${i}.yaml`;
    t.file(file, HEAD + [local, ...peers].map((n) => nodeLine({ ...n })).join('\n') + '\n' + nodeLine(h.node) + '\n');
    const spy = makeSpy(join(t.tmp, `spy-${i}`));
    const r = await c.run('apply', a, ['--source', `file:${t.tmp}/${file}`], { env: spy.env });
    assert.is(r.code, 0, `${h.name}: ${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /Apply complete: 0 added, 0 changed, 0 removed/, h.name);
    const warnings = r.stderr.split('\n').filter(Boolean);
    assert.is(warnings.length, 1, `${h.name}: one warning:\n${r.stderr}`);
    assert.match(warnings[0], /^warning: /, h.name);
    assert.match(warnings[0], h.warning, h.name);
    assert.equal(spy.writes(), [], `${h.name}: no write`);
  });
  assert.equal(await kernelSnapshot(a.ns), converged);
});

test.run();
