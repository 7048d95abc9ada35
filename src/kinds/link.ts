// The vxlan device (flannel.<VNI>, flannel-v6.<VNI>). Recreating it wipes
// everything on it, and a new MAC makes the kernel flush its neighbours:
// its diff is a hook that tells the other kinds so.
import type { ActualState, LinkEntry } from '../model/types.js';
import { dev, dropLink, formatDifferences, int, upDown, type Difference, type DiffContext, type KindSpec } from './types.js';

const macChanged = (ctx: DiffContext) => ctx.flushes.macChanged as Set<string>;

/** The host's link as a LinkEntry, or the reason it can not be one of ours. */
export function actualLink(actual: ActualState, name: string): LinkEntry | string | undefined {
  const l = actual.links.get(name);
  if (!l) return undefined;
  if (l.kind !== 'vxlan' || !l.vxlan) return `not a vxlan device (${l.kind ?? 'plain'})`;
  return {
    kind: 'link', name, vni: l.vxlan.id, local: l.vxlan.local ?? { family: 4, value: 0n, text: '(none)' },
    underlay: l.vxlan.link ?? '', port: l.vxlan.port, learning: l.vxlan.learning, ...(l.vxlan.gbp ? { gbp: true } : {}), mtu: l.mtu,
    mac: l.mac ?? { text: '(none)' }, up: l.up,
  };
}

function compare(d: LinkEntry, a: LinkEntry): Difference[] {
  const out: Difference[] = [];
  const field = (name: string, from: string, to: string, recreate: boolean, text?: string) => out.push({ field: name, from, to, ...(recreate ? { recreate } : {}), ...(text ? { text } : {}) });
  if (a.vni !== d.vni) field('id', String(a.vni), String(d.vni), true);
  if (a.local.text !== d.local.text) field('local', a.local.text, d.local.text, true);
  if (a.underlay !== d.underlay) field('dev', a.underlay || '(none)', d.underlay, true);
  if (a.port !== d.port) field('dstport', String(a.port), String(d.port), true);
  if (a.learning !== d.learning) field('learning', String(a.learning), String(d.learning), true, d.learning ? 'learning' : 'learning -> nolearning');
  // As flanneld (vxlanLinksIncompat): the kernel can not toggle GBP on a live device.
  if (Boolean(a.gbp) !== Boolean(d.gbp)) field('gbp', String(Boolean(a.gbp)), String(Boolean(d.gbp)), true, d.gbp ? 'gbp' : 'gbp -> nogbp');
  if (a.mtu !== d.mtu) field('mtu', String(a.mtu), String(d.mtu), false);
  if (a.mac.text !== d.mac.text) field('address', a.mac.text, d.mac.text, false);
  if (a.up !== d.up) out.push(upDown(a.up, d.up));
  return out;
}

export const link: KindSpec<LinkEntry> = {
  kind: 'link',
  // One key per device name, whatever its type: the kernel has one.
  key: (e) => `link:${e.name}`,
  compare,
  order: { delete: 5, add: 7 },
  writer: 'ip',
  lines: {
    add: (e) => [
      ['ip', `link add ${dev(e.name)} address ${e.mac.text} mtu ${int(e.mtu)} type vxlan id ${int(e.vni)} local ${e.local.text} dev ${dev(e.underlay)} dstport ${int(e.port)} ${e.learning ? 'learning' : 'nolearning'}${e.gbp ? ' gbp' : ''}`],
      ['ip', `link set ${dev(e.name)} up`],
    ],
    delete: (e) => [['ip', `link del ${dev(e.name)}`]],
    change: (d, a) => {
      // Only what differs: setting the address, even to the same value, makes
      // the kernel flush every neighbour of the device, permanent ones included.
      const attrs: string[] = [];
      if (!a || a.mtu !== d.mtu) attrs.push(`mtu ${int(d.mtu)}`);
      if (!a || a.mac.text !== d.mac.text) attrs.push(`address ${d.mac.text}`);
      if (!a || a.up !== d.up) attrs.push(d.up ? 'up' : 'down');
      return [['ip', `link set ${dev(d.name)} ${attrs.join(' ')}`]];
    },
  },
  describe: (e) => `link ${e.name} vxlan id ${e.vni} local ${e.local.text} dev ${e.underlay} dstport ${e.port}${e.learning ? '' : ' nolearning'}${e.gbp ? ' gbp' : ''} mtu ${e.mtu} address ${e.mac.text}`,
  // Its addresses are held by the link and go with it.
  onDevice: { device: (e) => e.name, drop: dropLink },
  device(d, ctx) {
    const a = actualLink(ctx.actual, d.name);
    const key = link.key(d);
    if (a === undefined) {
      ctx.changes.push({ action: 'add', kind: 'link', key, desired: d });
      ctx.fresh.add(d.name);
    } else if (typeof a === 'string') {
      ctx.changes.push({ action: 'replace', kind: 'link', key, desired: d, detail: a });
      ctx.fresh.add(d.name);
    } else {
      const ds = compare(d, a);
      if (ds.some((x) => x.recreate)) {
        ctx.changes.push({ action: 'replace', kind: 'link', key, desired: d, actual: a, detail: formatDifferences(ds) });
        ctx.fresh.add(d.name);
      } else if (ds.length) {
        ctx.changes.push({ action: 'change', kind: 'link', key, desired: d, actual: a, detail: formatDifferences(ds) });
        if (a.mac.text !== d.mac.text) macChanged(ctx).add(d.name);
      } else {
        ctx.inSync++;
      }
    }
  },
};
