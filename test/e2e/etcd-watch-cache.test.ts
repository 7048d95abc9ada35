// The etcd source answers event-driven loads from what its watch reported,
// without listing the prefix again; full listings (one-shot commands, the
// daemon's start and resync cycles, after the watch was stopped) still read
// etcd. Range requests are counted with etcd's own gRPC metrics.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Logger } from '../../src/daemon/logger.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { Reconciler } from '../../src/daemon/reconciler.js';
import { parseMaxDelete } from '../../src/reconcile/guard.js';
import type { ClusterState } from '../../src/model/types.js';
import { openSource } from '../../src/sources/index.js';
import type { Source } from '../../src/sources/types.js';
import { etcdCalls, flannelLease, grantLease, withEtcd, type EtcdCluster } from '../lib/etcd.js';
import { ipn, withTopology } from '../lib/netns.js';

const P = '/coreos.com/network';
const key = (name: string) => `${P}/subnets/${name}`;

/** Range requests of one listing of a small cluster: the config key, then one page of subnets/. */
const LIST = 2;

/** Range requests etcd has answered so far (every status code). */
function ranges(c: EtcdCluster): Promise<number> {
  return etcdCalls(c, 'etcdserverpb.KV', 'Range');
}

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What validation sees; expiries only by kind (two lookups a moment apart differ: see sameExpiries). */
function comparable(s: ClusterState) {
  return {
    config: s.config,
    warnings: s.warnings,
    nodes: s.nodes.map((n) => ({ ...n, expiresAt: n.expiresAt ? 'date' : n.expiresAt })),
  };
}

function sameExpiries(a: ClusterState, b: ClusterState, what: string): void {
  for (const [i, n] of a.nodes.entries()) {
    const x = n.expiresAt?.getTime();
    const y = b.nodes[i]?.expiresAt?.getTime();
    assert.ok(x === y || (x !== undefined && y !== undefined && Math.abs(x - y) < 5000), `${what}: expiry of ${n.name}: ${x} vs ${y}`);
  }
}

async function seed(c: EtcdCluster): Promise<string> {
  await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","Backend":{"Type":"vxlan"}}']);
  const id = await grantLease(c, 3600);
  await c.ctl(['put', `--lease=${id}`, key('198.18.1.0-24'), flannelLease('192.0.2.11', '0e:00:00:00:01:01')]);
  await c.ctl(['put', `--lease=${id}`, key('198.18.2.0-24'), flannelLease('192.0.2.12', '0e:00:00:00:01:02')]);
  await c.ctl(['put', key('198.18.3.0-24'), flannelLease('192.0.2.13', '0e:00:00:00:01:03')]);
  // Reported and skipped, by either kind of load alike.
  await c.ctl(['put', key('not-a-lease'), '{}']);
  await c.ctl(['put', key('198.18.9.0-24'), 'not json']);
  return id;
}

/**
 * A seeded etcd, the source under test and another client for full
 * listings (both closed after `fn`); `watch()` starts the source's watch,
 * counting its changes and keeping its errors in `w`.
 */
async function withSources(fn: (f: { c: EtcdCluster; src: Source; other: Source; w: { changes: number; errors: Error[] }; watch(): () => void }) => Promise<void>): Promise<void> {
  await withEtcd(async (c) => {
    await seed(c);
    const src = await openSource(c.uri());
    const other = await openSource(c.uri());
    const w = { changes: 0, errors: [] as Error[] };
    try {
      await fn({ c, src, other, w, watch: () => src.watch!({ onChange: () => { w.changes++; }, onError: (e) => { w.errors.push(e); } }) });
    } finally {
      await src.close();
      await other.close();
    }
  });
}

// The daemon's event cycles ask update(): the leases the watch changed since the last state given out, parsed
// alone; anything else (the config, a lease the last state warned about, a bad value) gives the whole state.
test('update(): the changed leases by name, applied to the last state, equal a full listing; everything else is a full state', async () => {
  await withSources(async ({ c, src, other, w, watch }) => {
    const stop = watch();
    try {
      await until('the watch to list', () => w.changes > 0);
      let last = await src.load();
      const step = async (what: string, write: () => Promise<unknown>, delta: boolean) => {
        const before = w.changes;
        await write();
        await until(`the watch to report ${what}`, () => w.changes > before);
        const u = await src.update!();
        const full = await other.load({ fresh: true });
        if (!delta) {
          assert.is(u.delta, undefined, `${what}: no delta`);
          last = await u.state();
          assert.equal(comparable(last), comparable(full), `${what}: the whole state`);
          return;
        }
        assert.ok(u.delta, `${what}: a delta`);
        const byName = new Map(last.nodes.map((n) => [n.name as string, n]));
        for (const name of u.delta!.deletes) byName.delete(name);
        for (const n of u.delta!.upserts) byName.set(n.name as string, n);
        const applied = { ...last, nodes: [...byName.values()].sort((a, b) => ((a.name as string) < (b.name as string) ? -1 : 1)) };
        assert.equal(comparable(applied), comparable(full), `${what}: the last state with the delta is a full listing`);
        sameExpiries(applied, full, what);
        last = await u.state();
      };
      await step('a new lease', async () => c.ctl(['put', key('198.18.4.0-24'), flannelLease('192.0.2.14', '0e:00:00:00:01:04')]), true);
      const short = await grantLease(c, 600);
      await step('a changed MAC under a new etcd lease', async () => c.ctl(['put', `--lease=${short}`, key('198.18.2.0-24'), flannelLease('192.0.2.12', '0e:00:00:00:02:02')]), true);
      await step('a delete', async () => c.ctl(['del', key('198.18.1.0-24')]), true);
      await step('a lease the last state warned about, fixed', async () => c.ctl(['put', key('198.18.9.0-24'), flannelLease('192.0.2.19', '0e:00:00:00:01:09')]), false);
      await step('a lease whose value turns bad', async () => c.ctl(['put', key('198.18.4.0-24'), 'not json']), false);
      await step('a config change', async () => c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","Backend":{"Type":"host-gw"}}']), false);
      await step('a lease after all that', async () => c.ctl(['put', key('198.18.5.0-24'), flannelLease('192.0.2.15', '0e:00:00:00:01:05')]), true);
    } finally {
      stop();
    }
    assert.equal(w.errors.map((e) => e.message), []);
  });
});

test('event-driven loads read no range from etcd and equal a full listing; fresh loads list', async () => {
  await withSources(async ({ c, src, other, w, watch }) => {
    let r = await ranges(c);
    await src.load();
    await src.load();
    assert.is(await ranges(c), r + 2 * LIST, 'without a watch every load lists');

    const stop = watch();
    try {
      // Each step: a change, its event, then a load from the watch, compared with a full listing by another client.
      const step = async (what: string, write: () => Promise<unknown>) => {
        const before = w.changes;
        await write();
        await until(`the watch to report ${what}`, () => w.changes > before);
        const n = await ranges(c);
        const cached = await src.load();
        assert.is(await ranges(c), n, `${what}: the event-driven load sent no range request`);
        const full = await other.load({ fresh: true });
        assert.equal(comparable(cached), comparable(full), `${what}: same state as a full listing`);
        sameExpiries(cached, full, what);
        return cached;
      };
      let s = await step('a new lease', async () => c.ctl(['put', key('198.18.4.0-24'), flannelLease('192.0.2.14', '0e:00:00:00:01:04')]));
      assert.ok(s.nodes.some((x) => x.name === '198.18.4.0-24' && x.expiresAt === null));
      assert.ok(s.warnings.some((w) => /not-a-lease/.test(w)) && s.warnings.some((w) => /198\.18\.9\.0-24: value is not a JSON object/.test(w)), s.warnings.join('; '));

      // A restarted flanneld: a new MAC under a new etcd lease (its expiry is looked up, the key listed in place).
      const short = await grantLease(c, 600);
      s = await step('a changed MAC under a new etcd lease', async () =>
        c.ctl(['put', `--lease=${short}`, key('198.18.2.0-24'), flannelLease('192.0.2.12', '0e:00:00:00:02:02')]));
      const changed = s.nodes.find((x) => x.name === '198.18.2.0-24')!;
      assert.is(changed.vtepMAC, '0e:00:00:00:02:02');
      const left = changed.expiresAt!.getTime() - Date.now();
      assert.ok(left > 500_000 && left <= 601_000, `the new lease's expiry: ${left} ms`);
      assert.equal(s.nodes.map((x) => x.name), ['198.18.1.0-24', '198.18.2.0-24', '198.18.3.0-24', '198.18.4.0-24'], 'etcd key order');

      s = await step('a delete', async () => c.ctl(['del', key('198.18.1.0-24')]));
      assert.not.ok(s.nodes.some((x) => x.name === '198.18.1.0-24'));
      s = await step('a config change', async () => c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","Backend":{"Type":"host-gw"}}']));
      assert.match(JSON.stringify(s.config), /host-gw/);

      r = await ranges(c);
      const fresh = await src.load({ fresh: true });
      assert.is(await ranges(c), r + LIST, 'a fresh load lists again while the watch is live');
      assert.equal(comparable(fresh), comparable(await src.load()));
    } finally {
      stop();
    }

    // Stopped watch: a change it never saw is found by the next load, which lists.
    await c.ctl(['put', key('198.18.3.0-24'), flannelLease('192.0.2.13', '0e:00:00:00:03:03')]);
    r = await ranges(c);
    const s = await src.load();
    assert.is(await ranges(c), r + LIST, 'without a live watch, load lists');
    assert.is(s.nodes.find((x) => x.name === '198.18.3.0-24')?.vtepMAC, '0e:00:00:00:03:03');
    assert.equal(w.errors.map((e) => e.message), []);
  });
});

test('daemon cycles: a watch cycle applies an event without listing; a resync lists and picks up a change made while the watch was stopped', async () => {
  const local = { ip: '192.0.2.10', subnet: '198.18.5.0/24', mac: '0e:00:00:00:00:0a' };
  await withEtcd(async (c) => {
    const id = await seed(c);
    // This node's lease as flanneld left it: register() renews it in place.
    await c.ctl(['put', `--lease=${id}`, key('198.18.5.0-24'), flannelLease(local.ip, local.mac)]);
    await withTopology([{ name: 'node-a', publicIP: local.ip, subnet: local.subnet }], async (t) => {
      const ns = t.nodes[0].ns;
      const lines: string[] = [];
      const log = new Logger({ format: 'json', level: 'debug', write: (s) => lines.push(s) });
      const source = await openSource(c.uri());
      let changes = 0;
      let stop: (() => void) | undefined;
      try {
        const rec = new Reconciler({ source, cycle: { netns: ns, publicIP: local.ip }, maxDelete: parseMaxDelete('100%'), log, metrics: new DaemonMetrics() });
        const neigh = async () => ipn(ns, 'neigh', 'show', 'dev', 'flannel.1');
        let r = await ranges(c);
        assert.ok(await rec.run(['start']), lines.join(''));
        assert.ok(await ranges(c) > r, 'the start cycle lists');
        assert.match(await neigh(), /198\.18\.2\.0 lladdr 0e:00:00:00:01:02/);
        stop = source.watch!({ onChange: () => changes++, onError: () => {} });

        // An event: the watch cycle needs no listing.
        let before = changes;
        await c.ctl(['put', `--lease=${id}`, key('198.18.2.0-24'), flannelLease('192.0.2.12', '0e:00:00:00:02:02')]);
        await until('the watch to report the change', () => changes > before);
        r = await ranges(c);
        assert.ok(await rec.run(['watch']), lines.join(''));
        assert.is(await ranges(c), r, 'a watch cycle sends no range request');
        assert.match(await neigh(), /198\.18\.2\.0 lladdr 0e:00:00:00:02:02/);

        // The watch is stopped: a change it never delivers.
        stop();
        stop = undefined;
        await c.ctl(['put', `--lease=${id}`, key('198.18.2.0-24'), flannelLease('192.0.2.12', '0e:00:00:00:03:02')]);
        r = await ranges(c);
        assert.ok(await rec.run(['resync']), lines.join(''));
        assert.ok(await ranges(c) > r, 'a resync lists');
        assert.match(await neigh(), /198\.18\.2\.0 lladdr 0e:00:00:00:03:02/, 'the resync picked up the change');

        // A live watch again; a resync still lists while it is in sync.
        before = changes;
        stop = source.watch!({ onChange: () => changes++, onError: () => {} });
        await c.ctl(['put', `--lease=${id}`, key('198.18.3.0-24'), flannelLease('192.0.2.13', '0e:00:00:00:03:03')]);
        await until('the new watch to report a change', () => changes > before);
        r = await ranges(c);
        assert.ok(await rec.run(['watch']), lines.join(''));
        assert.is(await ranges(c), r, 'a watch cycle sends no range request');
        assert.match(await neigh(), /198\.18\.3\.0 lladdr 0e:00:00:00:03:03/);
        assert.ok(await rec.run(['resync']), lines.join(''));
        assert.is(await ranges(c), r + LIST, 'a resync lists even with the watch in sync');
      } finally {
        stop?.();
        await source.close();
      }
    });
  });
});

test.run();
