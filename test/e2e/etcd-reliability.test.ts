// The etcd source under ordinary faults, against a real etcd on 127.0.0.1:
// a stray lease with this node's public IP, a corrupted own lease, an etcd
// reset (wiped data dir, snapshot restore), large unrelated keys under the
// prefix, and flannel's dual-stack leases.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { Logger } from '../../src/daemon/logger.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { Reconciler } from '../../src/daemon/reconciler.js';
import { parseMaxDelete } from '../../src/reconcile/guard.js';
import { openSource } from '../../src/sources/index.js';
import { ovlnet } from '../lib/cli.js';
import { flannelLease, grantLease, withEtcd, type EtcdCluster } from '../lib/etcd.js';
import { ipn, withTopology } from '../lib/netns.js';

const P = '/coreos.com/network';

async function until(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function getValue(c: EtcdCluster, key: string): Promise<string | undefined> {
  const out = await c.ctl(['get', key, '--print-value-only']);
  return out === '' ? undefined : out.replace(/\n$/, '');
}

async function leaseKeys(c: EtcdCluster): Promise<string[]> {
  return (await c.ctl(['get', `${P}/subnets/`, '--prefix', '--keys-only'])).split('\n').filter(Boolean);
}

test('a stray lease with this node\'s public IP is a reported conflict, never the local node', async () => {
  await withEtcd(async (c) => {
    await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","SubnetMin":"198.18.10.0","Backend":{"Type":"vxlan","VNI":1}}']);
    await withTopology([{ name: 'node-a', publicIP: '192.0.2.10', subnet: '198.18.10.0/24' }], async (t) => {
      const ns = t.nodes[0].ns;
      const lines: string[] = [];
      const log = new Logger({ format: 'json', level: 'debug', write: (s) => lines.push(s) });
      const source = await openSource(c.uri());
      const stop = source.watch!({ onChange() {}, onError() {} });
      try {
        const subnetFile = join(t.tmp, 'subnet.env');
        const r = new Reconciler({
          source, cycle: { netns: ns, publicIP: '192.0.2.10' }, maxDelete: parseMaxDelete(undefined), subnetFile, leaseTTLSeconds: 3600, log, metrics: new DaemonMetrics(),
        });
        assert.is(await r.run(['start']), true, lines.join(''));
        const reg = r.registered!;
        const ownKey = `${P}/subnets/${reg.subnet.replace('/', '-')}`;
        const ownValue = await getValue(c, ownKey);
        const env = readFileSync(subnetFile, 'utf8');
        assert.match(env, new RegExp(`FLANNEL_SUBNET=${reg.subnet.replace('.0/', '.1/').replace(/\./g, '\\.')}`));
        const mac = () => ipn(ns, 'link', 'show', 'flannel.1').then((s) => /link\/ether (\S+)/.exec(s)?.[1]);
        assert.is(await mac(), reg.vtepMAC);

        // A stray writer puts a lease with our public IP, first in key order.
        await c.ctl(['put', `${P}/subnets/198.18.1.0-24`, flannelLease('192.0.2.10', '0e:00:00:00:66:66')]);
        assert.is(await r.run(['resync']), true, lines.join(''));
        assert.is(readFileSync(subnetFile, 'utf8'), env, 'subnet.env still names the subnet this daemon holds');
        assert.is(await mac(), reg.vtepMAC, 'the VTEP MAC is still ours');
        assert.not.match(await ipn(ns, 'route', 'show'), /198\.18\.1\.0\/24/, 'the stray is not a peer either');
        assert.ok(lines.some((l) => l.includes('198.18.1.0-24') && l.includes("claims this node's public IP 192.0.2.10")), lines.join(''));

      } finally {
        stop();
        await source.close();
      }
    });
  });
});

test('a corrupted own lease is rewritten in place at once, never a reason to renumber', async () => {
  await withEtcd(async (c) => {
    await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","Backend":{"Type":"vxlan","VNI":1}}']);
    await c.ctl(['put', `${P}/subnets/198.18.1.0-24`, flannelLease('192.0.2.11', '0e:00:00:00:00:0b')]);
    const source = await openSource(c.uri());
    const stop = source.watch!({ onChange() {}, onError() {} });
    try {
      const reg = await source.register!({ publicIP: '192.0.2.10', leaseTTLSeconds: 600 });
      const ownKey = `${P}/subnets/${reg.subnet.replace('/', '-')}`;
      const ownValue = await getValue(c, ownKey);
      const keys = (await leaseKeys(c)).sort();
      for (const corrupt of ['{"PublicIP": garbage', JSON.stringify({ PublicIP: '192.0.2.10', BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '0e:00:00:00:99:99' } })]) {
        await c.ctl(['put', ownKey, corrupt]);
        // Well before the minute between routine checks: the watch event triggers it.
        await until('the own lease rewritten', async () => (await getValue(c, ownKey)) === ownValue, 20_000);
        assert.equal((await leaseKeys(c)).sort(), keys, 'no new lease: never renumbered');
      }
      const me = (await source.load({ fresh: true })).nodes.filter((n) => n.publicIP === '192.0.2.10');
      assert.equal(me.map((n) => [n.subnet, n.vtepMAC]), [[reg.subnet, reg.vtepMAC]]);
    } finally {
      stop();
      await source.close();
    }
  });
});

for (const how of ['wiped data dir', 'snapshot restore'] as const) {
  test(`after an etcd reset (${how}) the watch reports changes again without a resync`, async () => {
    await withEtcd(async (c) => {
      await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","Backend":{"Type":"vxlan","VNI":1}}']);
      await c.ctl(['put', `${P}/subnets/198.18.1.0-24`, flannelLease('192.0.2.11', '0e:00:00:00:00:0b')]);
      const source = await openSource(c.uri());
      let changes = 0;
      const errors: string[] = [];
      const stop = source.watch!({ onChange() { changes++; }, onError(e) { errors.push(e.message); } });
      try {
        await until('the watch in sync', async () => (await source.load()).nodes.length === 1 && changes > 0);
        // Move the revision on through watch events only (no listing sees it),
        // past what the reset store will have.
        const mac = (i: number) => `0e:00:00:00:01:${(16 + i).toString(16)}`;
        const snapshot = join(c.tmp, 'snap.db');
        for (let i = 0; i < 30; i++) {
          await c.ctl(['put', `${P}/subnets/198.18.2.0-24`, flannelLease('192.0.2.12', mac(i))]);
          if (i === 4 && how === 'snapshot restore') await c.ctl(['snapshot', 'save', snapshot]);
        }
        await until('the watch saw every put', async () => (await source.load()).nodes.some((n) => n.vtepMAC === mac(29)));
        await c.kill(0);
        await c.restart(0, how === 'wiped data dir' ? { wipe: true } : { snapshot });
        if (how === 'wiped data dir') await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","Backend":{"Type":"vxlan","VNI":1}}']);
        // The reconnected watch settles, then a new lease must be reported.
        await until('the watch reconnected', async () => errors.length > 0);
        await new Promise((r) => setTimeout(r, 3000));
        const before = changes;
        await c.ctl(['put', `${P}/subnets/198.18.3.0-24`, flannelLease('192.0.2.13', '0e:00:00:00:00:0d')]);
        await until('a change reported for the new lease', async () => changes > before, 30_000);
        await until('the watch cache has the new lease', async () => (await source.load()).nodes.some((n) => n.publicIP === '192.0.2.13'));
        assert.ok(errors.some((e) => /etcd went back \(the revision went back from \d+ to \d+\)/.test(e)), errors.join('\n'));
      } finally {
        stop();
        await source.close();
      }
    });
  });
}

test('large unrelated keys under the prefix: reads and registration still work', async () => {
  await withEtcd(async (c) => {
    await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","Backend":{"Type":"vxlan","VNI":1}}']);
    await c.ctl(['put', `${P}/subnets/198.18.1.0-24`, flannelLease('192.0.2.11', '0e:00:00:00:00:0b')]);
    // 48 values of 1.4 MB (under etcd's default request limit): 67 MB, over
    // the client's 64 MB receive limit when read in one answer.
    const etcd = new Etcd3({ hosts: c.members.map((m) => m.clientURL) });
    try {
      const blob = Buffer.alloc(1_400_000, 'x');
      for (let i = 0; i < 48; i++) await etcd.put(`${P}/backup/blob-${String(i).padStart(2, '0')}`).value(blob);
    } finally {
      etcd.close();
    }
    const r = await ovlnet(['nodes', '--source', c.uri(), '-o', 'json'], { timeoutMs: 60_000 });
    assert.is(r.code, 0, r.stderr);
    assert.is(JSON.parse(r.stdout).nodes.length, 1);
    const source = await openSource(c.uri());
    try {
      const reg = await source.register!({ publicIP: '192.0.2.10', leaseTTLSeconds: 600 });
      assert.match(reg.subnet, /^198\.18\.\d+\.0\/24$/);
    } finally {
      await source.close();
    }
  });
});

test('dual-stack leases in flannel\'s format are read, and the own lease is republished with its IPv6 half', async () => {
  await withEtcd(async (c) => {
    await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","IPv6Network":"2001:db8:100::/48","EnableIPv6":true,"Backend":{"Type":"vxlan","VNI":1}}']);
    const dual = (ip: string, ip6: string, mac: string, mac6: string) => JSON.stringify({
      PublicIP: ip, PublicIPv6: ip6, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: mac }, BackendV6Data: { VNI: 1, VtepMAC: mac6 },
    });
    await c.ctl(['put', `${P}/subnets/198.18.1.0-24&2001:db8:100:1::-64`, dual('192.0.2.11', '2001:db8:1::11', '0e:00:00:00:00:0b', '0e:00:00:00:06:0b')]);
    const ownKey = `${P}/subnets/198.18.5.0-24&2001:db8:100:5::-64`;
    const ownValue = dual('192.0.2.10', '2001:db8:1::10', '0e:00:00:00:00:0a', '0e:00:00:00:06:0a');
    const id = await grantLease(c, 600);
    await c.ctl(['put', `--lease=${id}`, ownKey, ownValue]);

    const r = await ovlnet(['nodes', '--source', c.uri(), '-o', 'json']);
    assert.is(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.is(out.nodes.length, 2, r.stdout + r.stderr);
    assert.not.match(r.stderr, /not a valid name/);

    const source = await openSource(c.uri());
    try {
      const reg = await source.register!({ publicIP: '192.0.2.10', publicIPv6: '2001:db8:1::10', leaseTTLSeconds: 600 });
      assert.is(reg.subnet, '198.18.5.0/24');
      assert.is(reg.subnet6, '2001:db8:100:5::/64');
      assert.is(reg.localNode, '198.18.5.0-24&2001:db8:100:5::-64');
      // Republished in place with its IPv6 half: flannel peers keep the node.
      assert.equal(JSON.parse((await getValue(c, ownKey))!), JSON.parse(ownValue));
      assert.equal(await leaseKeys(c), [`${P}/subnets/198.18.1.0-24&2001:db8:100:1::-64`, ownKey]);
    } finally {
      await source.close();
    }
    // A new dual-stack node gets a key with both halves.
    const fresh = await openSource(c.uri());
    try {
      const reg = await fresh.register!({ publicIP: '192.0.2.12', publicIPv6: '2001:db8:1::12', leaseTTLSeconds: 600 });
      assert.match(reg.subnet6 ?? '', /^2001:db8:100:[0-9a-f]+::\/64$/);
      const v = JSON.parse((await getValue(c, `${P}/subnets/${reg.subnet.replace('/', '-')}&${reg.subnet6!.replace('/', '-')}`))!);
      assert.is(v.PublicIPv6, '2001:db8:1::12');
      assert.is(v.BackendV6Data.VNI, 1);
      assert.match(v.BackendV6Data.VtepMAC, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    } finally {
      await fresh.close();
    }
  });
});

test.run();
