// The udp backend's TUN device (persistent, no packet information header).
// Like the vxlan device, a hook: a recreated one takes its entries along.
import type { HostLink, TunEntry } from '../model/types.js';
import { dev, dropLink, formatDifferences, int, upDown, type Difference, type KindSpec } from './types.js';

/** Why the host's device can not be ours as it is, or undefined when it can. */
function unusable(l: HostLink): string | undefined {
  if (l.kind !== 'tun' || !l.tun) return `not a tun device (${l.kind ?? 'plain'})`;
  if (l.tun.type !== 'tun') return `a ${l.tun.type} device, not tun`;
  // A non-persistent device belongs to the process holding it (flanneld's own
  // flannel0): it vanishes with that process, and our routes with it.
  if (!l.tun.persist) return 'not persistent';
  if (l.tun.multiQueue) return 'multi-queue';
  return undefined;
}

function compare(d: TunEntry, a: TunEntry): Difference[] {
  const out: Difference[] = [];
  if (a.mtu !== d.mtu) out.push({ field: 'mtu', from: String(a.mtu), to: String(d.mtu) });
  if (a.up !== d.up) out.push(upDown(a.up, d.up));
  return out;
}

export const tun: KindSpec<TunEntry> = {
  kind: 'tun',
  key: (e) => `link:${e.name}`,
  compare,
  order: { delete: 6, add: 8 },
  writer: 'ip',
  lines: {
    // Persistent, so it outlives the daemon that attaches to it; `mode tun` gives IFF_NO_PI.
    add: (e) => [
      ['ip', `tuntap add dev ${dev(e.name)} mode tun`],
      ['ip', `link set ${dev(e.name)} mtu ${int(e.mtu)} up`],
    ],
    delete: (e) => [['ip', `link del ${dev(e.name)}`]],
    change: (t, was) => {
      const attrs: string[] = [];
      if (!was || was.mtu !== t.mtu) attrs.push(`mtu ${int(t.mtu)}`);
      if (!was || was.up !== t.up) attrs.push(t.up ? 'up' : 'down');
      return [['ip', `link set ${dev(t.name)} ${attrs.join(' ')}`]];
    },
  },
  describe: (e) => `link ${e.name} tun persistent mtu ${e.mtu}`,
  onDevice: { device: (e) => e.name, drop: dropLink },
  device(d, ctx) {
    const key = tun.key(d);
    const l = ctx.actual.links.get(d.name);
    const why = l && unusable(l);
    if (!l || why) {
      ctx.changes.push(l ? { action: 'replace', kind: 'tun', key, desired: d, detail: why } : { action: 'add', kind: 'tun', key, desired: d });
      ctx.fresh.add(d.name);
      return;
    }
    const a: TunEntry = { kind: 'tun', name: d.name, mtu: l.mtu, up: l.up };
    const ds = compare(d, a);
    if (ds.length) ctx.changes.push({ action: 'change', kind: 'tun', key, desired: d, actual: a, detail: formatDifferences(ds) });
    else ctx.inSync++;
  },
};
