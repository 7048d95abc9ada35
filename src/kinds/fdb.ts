// A forwarding entry on ovlnet's vxlan device: a peer's VTEP MAC -> its public IP.
import type { FdbEntry } from '../model/types.js';
import { fdbByMac, ListEdit } from '../model/keyed-list.js';
import { dev, type KindSpec } from './types.js';

function fdbKey(f: FdbEntry): string {
  return `${f.dev}/${f.mac.text}/${f.dst.text}`;
}

export const fdb: KindSpec<FdbEntry> = {
  kind: 'fdb',
  key: (e) => `fdb:${fdbKey(e)}`,
  // The key holds all its fields.
  compare: () => [],
  order: { delete: 3, add: 13 },
  writer: 'bridge',
  lines: {
    add: (e) => [['bridge', `fdb replace ${e.mac.text} dev ${dev(e.dev)} dst ${e.dst.text} self permanent`]],
    delete: (e) => [['bridge', `fdb del ${e.mac.text} dev ${dev(e.dev)} dst ${e.dst.text} self`]],
  },
  describe: (e) => `fdb ${e.mac.text} dev ${e.dev} dst ${e.dst.text} self permanent`,
  onDevice: {
    device: (e) => e.dev,
    drop: (_m, dev, lists) => void lists.fdb.removeWhere((f) => f.dev === dev),
  },
  collectOwned(ctx, onFreshDevice) {
    for (const f of ctx.actual.fdb) if (ctx.policy.ownsDevice(f.dev) && !onFreshDevice(f.dev)) ctx.owned.set(fdb.key(f), f);
  },
  model: {
    unknown(actual, changes) {
      // `fdb replace MAC dst B` rewrites the first destination the kernel has for
      // MAC; which one that is when there are several is not in the model.
      const adds = new Set<string>();
      const deletes = new Set<string>();
      for (const c of changes) {
        if (c.action === 'delete') deletes.add(fdbKey(c.actual));
        else adds.add(`${c.desired.dev}/${c.desired.mac.text}`);
      }
      if (!adds.size) return undefined;
      const held = new ListEdit(actual.fdb, fdbByMac);
      for (const k of adds) {
        const f = held.get(k).find((x) => !deletes.has(fdbKey(x)));
        if (f) return `fdb replace over ${f.mac.text} dst ${f.dst.text} on ${f.dev}`;
      }
      return undefined;
    },
    apply(next, actual, changes) {
      const entries = new ListEdit(actual.fdb, fdbByMac);
      const puts: FdbEntry[] = [];
      for (const c of changes) {
        const f = c.action === 'delete' ? c.actual : c.desired;
        for (const x of entries.get(`${f.dev}/${f.mac.text}`)) if (x.dst.text === f.dst.text) entries.remove(x);
        if (c.action !== 'delete') puts.push(c.desired);
      }
      for (const f of puts) entries.add(f);
      next.fdb = entries.result();
    },
  },
};
