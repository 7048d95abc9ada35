// `ovlnet cleanup` of vxlan devices. ovlnet's flannel.<VNI> is indistinguishable
// from flannel's except by what uses it, so a device is removed when
//   a. --all-flannel-devices, or --vni <VNI> names it (the operator says so);
//   b. ovlnet routes go through it and no foreign route does;
//   c. the source says ovlnet uses this VNI and no foreign route goes through it;
// otherwise kept (it may be flannel's), with the reason. Pure.
import { actualLink } from '../../kinds/link.js';
import type { CleanupContext } from '../types.js';

// flannel.<VNI>, and flannel-v6.<VNI> of dual-stack and IPv6-only clusters.
const FLANNEL_DEV_RE = /^flannel(?:-v6)?\.([0-9]{1,8})$/;

export function cleanupVxlan(ctx: CleanupContext): void {
  for (const l of ctx.actual.links.values()) {
    const m = FLANNEL_DEV_RE.exec(l.name);
    if (!m || l.kind !== 'vxlan') continue;
    const vni = Number(m[1]);
    const foreign = ctx.foreignOn(l.name);
    const ovlnetRoutes = ctx.ours.some((r) => r.dev === l.name);
    let reason: string | undefined;
    if (ctx.allFlannelDevices) reason = '--all-flannel-devices';
    else if (ctx.vni === vni) reason = `--vni ${vni}`;
    else if (foreign.length === 0 && ovlnetRoutes) reason = 'carries ovlnet routes';
    else if (foreign.length === 0 && ctx.sourceVni === vni) reason = 'the source configures this VNI';
    if (!reason) {
      const why = foreign.length
        ? `${foreign.length} route${foreign.length === 1 ? '' : 's'} not ovlnet's use it (e.g. ${foreign[0].dst.text}, protocol ${foreign[0].proto}): it may be flannel's`
        : 'no ovlnet route uses it: it may be flannel\'s';
      ctx.kept.push({ subject: `link ${l.name}`, message: `kept: ${why}; remove it with --vni ${vni}` });
      continue;
    }
    const link = actualLink(ctx.actual, l.name);
    if (link && typeof link !== 'string') {
      ctx.changes.push({ action: 'delete', kind: 'link', key: `link:${l.name}`, actual: link, detail: reason });
    }
  }
}
