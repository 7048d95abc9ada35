// Registration through the Source interface against a real etcd: what the
// daemon does at start (allocate or reuse this node's lease) and afterwards
// (renew it, put it back).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flannelLease, withEtcd, type EtcdCluster } from '../lib/etcd.js';
import { openSource } from '../../src/sources/index.js';
import type { Source } from '../../src/sources/types.js';

const P = '/coreos.com/network';

async function getKV(c: EtcdCluster, key: string): Promise<{ value: any; lease: bigint } | undefined> {
  const text = await c.ctl(['get', key, '-w', 'json']);
  const kv = JSON.parse(text).kvs?.[0];
  if (!kv) return undefined;
  // Lease IDs are int64: read the digits, JSON numbers would round them.
  const lease = BigInt(/"lease":(\d+)/.exec(text)?.[1] ?? '0');
  return { value: JSON.parse(Buffer.from(kv.value, 'base64').toString()), lease };
}

async function leaseKeys(c: EtcdCluster): Promise<string[]> {
  return (await c.ctl(['get', `${P}/subnets/`, '--prefix', '--keys-only'])).split('\n').filter(Boolean);
}

async function withSources<T>(n: number, uri: string, fn: (s: Source[]) => Promise<T>): Promise<T> {
  const s = await Promise.all(Array.from({ length: n }, () => openSource(uri)));
  try {
    return await fn(s);
  } finally {
    await Promise.all(s.map((x) => x.close()));
  }
}

function isLocalUnicast(mac: string): boolean {
  const b = parseInt(mac.slice(0, 2), 16);
  return /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(mac) && (b & 2) === 2 && (b & 1) === 0;
}

async function until(what: string, cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('register creates a lease in flannel format, inside SubnetMin..SubnetMax, with a TTL', async () => {
  await withEtcd(async (c) => {
    await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","Backend":{"Type":"vxlan","VNI":1}}']);
    await withSources(1, c.uri(), async ([s]) => {
      const reg = await s.register!({ publicIP: '192.0.2.10', leaseTTLSeconds: 3600 });
      assert.is(reg.publicIP, '192.0.2.10');
      assert.match(reg.subnet, /^198\.18\.\d+\.0\/24$/);
      assert.is.not(reg.subnet, '198.18.0.0/24', 'flannel never hands out the first subnet by default');
      assert.ok(reg.vtepMAC && isLocalUnicast(reg.vtepMAC), `random locally administered unicast MAC: ${reg.vtepMAC}`);
      const key = `${P}/subnets/${reg.subnet.replace('/', '-')}`;
      const kv = await getKV(c, key);
      assert.ok(kv, `${key} written`);
      assert.equal(kv!.value, { PublicIP: '192.0.2.10', PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: reg.vtepMAC } });
      assert.ok(kv!.lease !== 0n, 'attached to an etcd lease');
      const ttl = await c.ctl(['lease', 'timetolive', kv!.lease.toString(16)]);
      const remaining = Number(/remaining\((\d+)s\)/.exec(ttl)?.[1]);
      assert.ok(remaining > 3500 && remaining <= 3600, ttl);
      // The source reads it back as the node with that public IP.
      const state = await s.load();
      const me = state.nodes.find((n) => n.publicIP === '192.0.2.10');
      assert.is(me?.vtepMAC, reg.vtepMAC);
    });
  });
});

test('never takes a reserved or leased subnet; a full range is a clear error', async () => {
  await withEtcd(async (c) => {
    // /28 -> /30 subnets; SubnetMin..SubnetMax holds .4, .8 and .12.
    await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/28"}']);
    await c.ctl(['put', `${P}/subnets/198.18.0.4-30`, flannelLease('192.0.2.20', '0e:00:00:00:00:20')]);
    const id = /lease ([0-9a-f]+) granted/.exec(await c.ctl(['lease', 'grant', '600']))![1];
    await c.ctl(['put', `--lease=${id}`, `${P}/subnets/198.18.0.12-30`, flannelLease('192.0.2.21', '0e:00:00:00:00:21')]);
    await withSources(2, c.uri(), async ([a, b]) => {
      const reg = await a.register!({ publicIP: '192.0.2.10' });
      assert.is(reg.subnet, '198.18.0.8/30');
      try {
        await b.register!({ publicIP: '192.0.2.11' });
        assert.unreachable('registered with no free subnet');
      } catch (e) {
        assert.instance(e, Error);
        assert.match((e as Error).message, /no free \/30 subnet left in 198\.18\.0\.4\.\.198\.18\.0\.12/);
      }
      assert.equal((await leaseKeys(c)).sort(), [`${P}/subnets/198.18.0.12-30`, `${P}/subnets/198.18.0.4-30`, `${P}/subnets/198.18.0.8-30`]);
    });
  });
});

test('registrations racing for few subnets all get distinct ones', async () => {
  await withEtcd(async (c) => {
    await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","SubnetMin":"198.18.1.0","SubnetMax":"198.18.6.0"}']);
    await withSources(6, c.uri(), async (srcs) => {
      const regs = await Promise.all(srcs.map((s, i) => s.register!({ publicIP: `192.0.2.${30 + i}` })));
      const subnets = regs.map((r) => r.subnet).sort();
      assert.equal(subnets, ['198.18.1.0/24', '198.18.2.0/24', '198.18.3.0/24', '198.18.4.0/24', '198.18.5.0/24', '198.18.6.0/24']);
      const keys = await leaseKeys(c);
      assert.is(keys.length, 6);
      for (const [i, r] of regs.entries()) {
        const kv = await getKV(c, `${P}/subnets/${r.subnet.replace('/', '-')}`);
        assert.is(kv?.value.PublicIP, `192.0.2.${30 + i}`, `${r.subnet} belongs to its registrant`);
      }
    });
  });
});

test('a restart keeps the subnet and the MAC; so does the subnet file after the lease is gone', async () => {
  await withEtcd(async (c) => {
    await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16"}']);
    const tmp = mkdtempSync(join(tmpdir(), 'ovlnet-reg-'));
    try {
      const first = await withSources(1, c.uri(), ([s]) => s.register!({ publicIP: '192.0.2.10' }));
      const again = await withSources(1, c.uri(), ([s]) => s.register!({ publicIP: '192.0.2.10' }));
      assert.equal(again, first);
      // Lease expired or deleted while the node was down: the subnet file and
      // the MAC still on the vxlan device bring back the same identity.
      await c.ctl(['del', `${P}/subnets/`, '--prefix']);
      const env = join(tmp, 'subnet.env');
      writeFileSync(env, `FLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=${first.subnet.replace('.0/', '.1/')}\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`);
      const back = await withSources(1, c.uri(), ([s]) => s.register!({ publicIP: '192.0.2.10', subnetFile: env, existingVtepMAC: first.vtepMAC }));
      assert.equal(back, first);
      // Another node holding that subnet now: a new subnet, never the other's.
      await c.ctl(['del', `${P}/subnets/`, '--prefix']);
      await c.ctl(['put', `${P}/subnets/${first.subnet.replace('/', '-')}`, flannelLease('192.0.2.99', '0e:00:00:00:00:99')]);
      const moved = await withSources(1, c.uri(), ([s]) => s.register!({ publicIP: '192.0.2.10', subnetFile: env, existingVtepMAC: first.vtepMAC }));
      assert.is.not(moved.subnet, first.subnet);
      assert.is(moved.vtepMAC, first.vtepMAC);
      assert.is((await getKV(c, `${P}/subnets/${first.subnet.replace('/', '-')}`))?.value.PublicIP, '192.0.2.99');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

test('an own lease that no longer fits the config is replaced; the MAC is kept', async () => {
  await withEtcd(async (c) => {
    await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","SubnetLen":25}']);
    await c.ctl(['put', `${P}/subnets/198.18.7.0-24`, flannelLease('192.0.2.10', '0e:00:00:00:00:10')]);
    const reg = await withSources(1, c.uri(), ([s]) => s.register!({ publicIP: '192.0.2.10' }));
    assert.match(reg.subnet, /\/25$/);
    assert.is(reg.vtepMAC, '0e:00:00:00:00:10');
    assert.is(await getKV(c, `${P}/subnets/198.18.7.0-24`), undefined, 'the stale lease is removed');
  });
});

test('the lease is renewed ahead of expiry and put back when deleted', async () => {
  await withEtcd(async (c) => {
    await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16"}']);
    await withSources(1, c.uri(), async ([s]) => {
      await s.load();
      const stop = s.watch!({ onChange: () => {}, onError: () => {} });
      try {
        const reg = await s.register!({ publicIP: '192.0.2.10', leaseTTLSeconds: 6 });
        const key = `${P}/subnets/${reg.subnet.replace('/', '-')}`;
        const firstLease = (await getKV(c, key))!.lease;
        // Renewed at half the TTL (short TTLs) with a new etcd lease, as flannel does.
        await until('a renewal', async () => ((await getKV(c, key))?.lease ?? firstLease) !== firstLease);
        // Well past the first lease's TTL: still there.
        await new Promise((r) => setTimeout(r, 4000));
        assert.ok(await getKV(c, key), 'lease still present after its first TTL');
        await c.ctl(['del', key]);
        await until('the lease put back', async () => (await getKV(c, key))?.value.PublicIP === '192.0.2.10');
        assert.is((await getKV(c, key))!.value.BackendData.VtepMAC, reg.vtepMAC);
      } finally {
        stop();
      }
    });
  });
});

test.run();
