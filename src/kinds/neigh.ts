// A permanent neighbour on ovlnet's vxlan device: a peer's gateway address -> its VTEP MAC.
import type { NeighEntry } from '../model/types.js';
import { ListEdit, neighborsByAddress } from '../model/keyed-list.js';
import { dev, type Difference, type KindSpec } from './types.js';

const NONE: Difference[] = [];

function neighKey(n: NeighEntry): string {
  return `${n.dev}/${n.ip.text}`;
}

export const neigh: KindSpec<NeighEntry> = {
  kind: 'neigh',
  key: (e) => `neigh:${e.dev}/${e.ip.text}`,
  compare: (d, a) => (a.mac.text === d.mac.text ? NONE : [{ field: 'lladdr', from: a.mac.text, to: d.mac.text }]),
  order: { delete: 4, add: 12 },
  writer: 'ip',
  lines: {
    add: (e) => [['ip', `neigh replace ${e.ip.text} lladdr ${e.mac.text} dev ${dev(e.dev)} nud permanent`]],
    delete: (e) => [['ip', `neigh del ${e.ip.text} dev ${dev(e.dev)}`]],
  },
  describe: (e) => `neigh ${e.ip.text} lladdr ${e.mac.text} dev ${e.dev} permanent`,
  onDevice: {
    device: (e) => e.dev,
    drop: (_m, dev, lists) => void lists.neighbors.removeWhere((n) => n.dev === dev),
  },
  collectOwned(ctx, onFreshDevice) {
    for (const n of ctx.actual.neighbors) if (ctx.policy.ownsDevice(n.dev) && !onFreshDevice(n.dev)) ctx.owned.set(neigh.key(n), n);
  },
  model: {
    apply(next, actual, changes) {
      const neighbors = new ListEdit(actual.neighbors, neighborsByAddress);
      const puts: NeighEntry[] = [];
      for (const c of changes) {
        for (const n of neighbors.get(neighKey(c.action === 'delete' ? c.actual : c.desired))) neighbors.remove(n);
        if (c.action !== 'delete') puts.push(c.desired);
      }
      for (const n of puts) neighbors.add(n);
      next.neighbors = neighbors.result();
    },
  },
};
