// The etcd source's cache (sources/etcd/source.ts): one copy per lease, no
// lease-expiry cache when expiries are off (the daemon), and a changed value
// read anew. The etcd calls are stubbed: no etcd runs here.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { IKeyValue } from 'etcd3';
import type { Listing } from '../../../../src/sources/etcd/client.js';
import { EtcdSource } from '../../../../src/sources/etcd/source.js';
import { parseEtcdURI } from '../../../../src/sources/etcd/uri.js';

const P = '/coreos.com/network';
const CONFIG = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}';

function kv(key: string, value: string, lease: string): IKeyValue {
  return { key: Buffer.from(key), value: Buffer.from(value), lease, mod_revision: '5', create_revision: '5', version: '1' } as IKeyValue;
}

function leaseValue(i: number, mac = `0a:00:00:00:00:${(i % 256).toString(16).padStart(2, '0')}`): string {
  return JSON.stringify({ PublicIP: `192.0.2.${i + 1}`, PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: mac } });
}

interface Stubbed {
  source: EtcdSource;
  listing: Listing;
  ttlCalls: () => number;
  internals: Record<string, unknown>;
  ttlCache: () => Map<string, unknown>;
}

/** A source whose client answers from `listing` and counts LeaseTimeToLive calls. */
function stubbed(leases: number, leaseExpiries: boolean): Stubbed {
  const uri = 'etcd://127.0.0.1:1';
  const source = new EtcdSource(uri, parseEtcdURI(uri), { hosts: '127.0.0.1:1' }, leaseExpiries);
  const internals = source as unknown as Record<string, unknown>;
  const client = internals.client as Record<string, unknown> & { etcd: { leaseClient: Record<string, unknown> } };
  const listing: Listing = {
    revision: '5',
    config: kv(`${P}/config`, CONFIG, '0'),
    subnets: Array.from({ length: leases }, (_, i) => kv(`${P}/subnets/10.244.${i + 1}.0-24`, leaseValue(i), String(100 + i))),
  };
  client.list = async () => listing;
  let calls = 0;
  client.etcd.leaseClient.leaseTimeToLive = async () => { calls++; return { TTL: '60' }; };
  return { source, listing, ttlCalls: () => calls, internals, ttlCache: () => client.ttlCache as Map<string, unknown> };
}

/** The source's own maps holding an entry per lease (the client's are counted apart). */
function perLeaseMaps(internals: Record<string, unknown>, leases: number): Map<string, unknown>[] {
  return Object.entries(internals)
    .filter(([name, v]) => name !== 'client' && v instanceof Map && v.size === leases)
    .map(([, v]) => v as Map<string, unknown>);
}

/** Whether an object graph holds a parsed lease value (its JSON tree: a PublicIP key). */
function holdsJSONTree(v: unknown, seen = new Set<unknown>()): boolean {
  if (typeof v !== 'object' || v === null || seen.has(v)) return false;
  seen.add(v);
  if (Object.prototype.hasOwnProperty.call(v, 'PublicIP')) return true;
  return Object.values(v).some((x) => holdsJSONTree(x, seen));
}

test('the source keeps one cached entry per lease, without the value\'s JSON tree', async () => {
  for (const leases of [3, 50]) {
    const s = stubbed(leases, false);
    try {
      for (let round = 0; round < 2; round++) {
        const state = await s.source.load({ fresh: true });
        assert.is(state.nodes.length, leases);
        const maps = perLeaseMaps(s.internals, leases);
        assert.is(maps.length, 1, `${leases} leases, round ${round}: maps with an entry per lease`);
        assert.not.ok([...maps[0].values()].some((e) => holdsJSONTree(e)), 'a cached lease keeps its JSON tree');
      }
    } finally {
      await s.source.close();
    }
  }
});

test('a value changed between listings is read anew; an unchanged one reuses its parse', async () => {
  const s = stubbed(3, false);
  try {
    const first = await s.source.load({ fresh: true });
    s.listing.subnets[1] = kv(`${P}/subnets/10.244.2.0-24`, leaseValue(1, '0a:00:00:00:00:ee'), '101');
    s.listing.revision = '6';
    const second = await s.source.load({ fresh: true });
    assert.equal(second.nodes.map((n) => n.vtepMAC), ['0a:00:00:00:00:00', '0a:00:00:00:00:ee', '0a:00:00:00:00:02']);
    assert.is(second.nodes[0].origin, first.nodes[0].origin);
    assert.is(second.nodes[0].backendData, first.nodes[0].backendData, 'the unchanged lease was parsed again');
    assert.is.not(second.nodes[1].backendData, first.nodes[1].backendData);
  } finally {
    await s.source.close();
  }
});

test('lease expiries: looked up and cached only when on', async () => {
  const rows: Array<{ leaseExpiries: boolean; calls: number; cached: number; expiresAt: string }> = [
    { leaseExpiries: false, calls: 0, cached: 0, expiresAt: 'undefined' },
    { leaseExpiries: true, calls: 4, cached: 4, expiresAt: 'object' },
  ];
  for (const row of rows) {
    const s = stubbed(4, row.leaseExpiries);
    try {
      const state = await s.source.load({ fresh: true });
      assert.is(s.ttlCalls(), row.calls, `expiries ${row.leaseExpiries}: LeaseTimeToLive calls`);
      assert.is(s.ttlCache().size, row.cached, `expiries ${row.leaseExpiries}: cached expiries`);
      assert.ok(state.nodes.every((n) => typeof n.expiresAt === row.expiresAt), `expiries ${row.leaseExpiries}: expiresAt`);
    } finally {
      await s.source.close();
    }
  }
});

test.run();
