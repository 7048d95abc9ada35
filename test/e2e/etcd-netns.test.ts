// Three nodes in network namespaces apply from a real etcd holding flannel's
// data, reach each other, and drop a peer whose lease is deleted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ovlnet } from '../lib/cli.js';
import { flannelLease, grantLease, withEtcd } from '../lib/etcd.js';
import { defaultNodes, ipn, ping, withTopology } from '../lib/netns.js';

const P = '/coreos.com/network';
const macOf = (i: number) => `0e:00:00:00:0a:0${i}`;
const key = (subnet: string) => `${P}/subnets/${subnet.replace('/', '-')}`;

test('three nodes apply from etcd, ping across, and drop a deleted lease', async () => {
  const specs = defaultNodes(3);
  await withEtcd(async (c) => {
    await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","Backend":{"Type":"vxlan"}}']);
    const id = await grantLease(c, 3600);
    for (const [i, s] of specs.entries()) {
      await c.ctl(['put', `--lease=${id}`, key(s.subnet), flannelLease(s.publicIP, macOf(i))]);
    }
    await withTopology(specs, async (t) => {
      for (const [i, n] of t.nodes.entries()) {
        // node-a names its public IP; the others are found by their address in --netns.
        const args = ['apply', '--source', c.uri(), '--netns', n.ns, ...(i === 0 ? ['--public-ip', n.publicIP] : [])];
        const r = await ovlnet(args);
        assert.is(r.code, 0, `${n.name}: ${r.stdout}${r.stderr}`);
        const link = JSON.parse(await ipn(n.ns, '-j', 'link', 'show', 'flannel.1'))[0];
        assert.is(link.address, macOf(i), `${n.name}: the vxlan device carries the lease's VtepMAC`);
      }
      for (const a of t.nodes) for (const b of t.nodes) {
        if (a !== b) assert.ok(await ping(a, b.podGateway), `${a.name} -> ${b.name}`);
      }
      const d = await ovlnet(['diff', '--source', c.uri(), '--netns', t.nodes[0].ns]);
      assert.is(d.code, 0, `in sync after apply: ${d.stdout}${d.stderr}`);

      // The lease of node-c goes away (node removed, lease expired).
      await c.ctl(['del', key(specs[2].subnet)]);
      const drift = await ovlnet(['diff', '--source', c.uri(), '--netns', t.nodes[0].ns]);
      assert.is(drift.code, 2, drift.stdout + drift.stderr);
      const r = await ovlnet(['apply', '--source', c.uri(), '--netns', t.nodes[0].ns]);
      assert.is(r.code, 0, r.stdout + r.stderr);
      const routes = await ipn(t.nodes[0].ns, 'route', 'show', 'dev', 'flannel.1');
      assert.not.match(routes, /198\.18\.2\.0\/24/);
      assert.match(routes, /198\.18\.1\.0\/24/);
      const fdb = await ipn(t.nodes[0].ns, 'neigh', 'show', 'dev', 'flannel.1');
      assert.not.match(fdb, new RegExp(macOf(2)));
      assert.ok(await ping(t.nodes[0], t.nodes[1].podGateway), 'node-a still reaches node-b');
    });
  });
});

test.run();
