// One-line descriptions of kernel entries, shared by every renderer.
import type { Change, Entry } from '../model/types.js';

export function describeEntry(e: Entry): string {
  switch (e.kind) {
    case 'link':
      return `link ${e.name} vxlan id ${e.vni} local ${e.local.text} dev ${e.underlay} dstport ${e.port}${e.learning ? '' : ' nolearning'}${e.gbp ? ' gbp' : ''} mtu ${e.mtu} address ${e.mac.text}`;
    case 'tun':
      return `link ${e.name} tun persistent mtu ${e.mtu}`;
    case 'addr':
      return `addr ${e.addr.text} dev ${e.dev}`;
    case 'neigh':
      return `neigh ${e.ip.text} lladdr ${e.mac.text} dev ${e.dev} permanent`;
    case 'fdb':
      return `fdb ${e.mac.text} dev ${e.dev} dst ${e.dst.text} self permanent`;
    case 'route':
      return `route ${e.dst.text}${e.via ? ` via ${e.via.text}` : ''}${e.dev ? ` dev ${e.dev}` : ''}${e.onlink ? ' onlink' : ''}`;
    case 'offload':
      return `offload ${e.dev} ${e.feature} ${e.enabled ? 'on' : 'off'}`;
    case 'sysctl':
      return `sysctl net/ipv6/conf/${e.dev}/${e.name} = ${e.value}`;
    case 'nat':
    case 'filter':
      return `${e.family === 6 ? 'ip6 ' : ''}${e.kind} ${e.chain} ${e.spec}`;
  }
}

export const SYMBOL: Record<Change['action'], string> = { add: '+', change: '~', delete: '-', replace: '-/+' };

export function describeChange(c: Change): string {
  const e = c.desired ?? c.actual!;
  return `${describeEntry(e)}${c.detail ? `  (${c.detail})` : ''}`;
}

export interface Counts {
  add: number;
  change: number;
  destroy: number;
}

export function countChanges(changes: Change[]): Counts {
  const n = { add: 0, change: 0, destroy: 0 };
  for (const c of changes) {
    if (c.action === 'add') n.add++;
    else if (c.action === 'delete') n.destroy++;
    else n.change++;
  }
  return n;
}
