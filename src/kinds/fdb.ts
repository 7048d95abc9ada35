// A forwarding entry on ovlnet's vxlan device: a peer's VTEP MAC -> its public IP.
import type { FdbEntry } from '../model/types.js';
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
  collectOwned(ctx, onFreshDevice) {
    for (const f of ctx.actual.fdb) if (ctx.policy.ownsDevice(f.dev) && !onFreshDevice(f.dev)) ctx.owned.set(fdb.key(f), f);
  },
  model: {
    unknown(actual, changes) {
      // `fdb replace MAC dst B` rewrites the first destination the kernel has for
      // MAC; which one that is when there are several is not in the model.
      const adds = new Set<string>();
      const addMACs = new Set<string>();
      const deletes = new Set<string>();
      for (const c of changes) {
        if (c.action === 'delete') deletes.add(fdbKey(c.actual));
        else {
          adds.add(`${c.desired.dev}/${c.desired.mac.text}`);
          addMACs.add(c.desired.mac.text);
        }
      }
      if (!adds.size) return undefined;
      // Most entries have another MAC: test it (a property) before building a key.
      for (const f of actual.fdb) {
        if (!addMACs.has(f.mac.text)) continue;
        if (adds.has(`${f.dev}/${f.mac.text}`) && !deletes.has(fdbKey(f))) return `fdb replace over ${f.mac.text} dst ${f.dst.text} on ${f.dev}`;
      }
      return undefined;
    },
    apply(next, actual, changes) {
      const drop = new Set<string>();
      const puts: FdbEntry[] = [];
      for (const c of changes) {
        drop.add(fdbKey(c.action === 'delete' ? c.actual : c.desired));
        if (c.action !== 'delete') puts.push(c.desired);
      }
      const macs = new Set([...drop].map((k) => k.split('/')[1]));
      next.fdb = actual.fdb.filter((f) => !(macs.has(f.mac.text) && drop.has(fdbKey(f)))).concat(puts);
    },
  },
};
