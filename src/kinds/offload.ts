// A device offload feature ovlnet pins (--disable-tx-offload: the vxlan
// checksum workaround). Written by ethtool, one process per feature; read
// again by every snapshot that plans one, so the daemon needs no model of it.
import { setFeatureArgs } from '../host/ethtool.js';
import type { OffloadEntry } from '../model/types.js';
import type { Difference, KindSpec } from './types.js';

const NONE: Difference[] = [];
const state = (on: boolean) => (on ? 'on' : 'off');

export const offload: KindSpec<OffloadEntry> = {
  kind: 'offload',
  key: (e) => `offload:${e.dev}/${e.feature}`,
  compare: (d, a) => (a.enabled === d.enabled ? NONE : [{ field: d.feature, from: state(a.enabled), to: state(d.enabled) }]),
  // Never deleted (keepStale); set once its device exists.
  order: { delete: -1, add: 11 },
  writer: 'ethtool',
  describe: (e) => `offload ${e.dev} ${e.feature} ${e.enabled ? 'on' : 'off'}`,
  onDevice: {
    device: (e) => e.dev,
    drop(m, dev) {
      if (m.offload) m.offload = m.offload.filter((o) => o.dev !== dev);
      return undefined;
    },
  },
  collectOwned(ctx, onFreshDevice) {
    // A recreated device starts with the driver's defaults: the feature is to be set again.
    for (const o of ctx.actual.offload ?? []) if (ctx.policy.ownsDevice(o.dev) && !onFreshDevice(o.dev)) ctx.owned.set(offload.key(o), o);
  },
  // Dropping the option leaves the device as it is.
  keepStale: true,
  phases: (changes) => changes.flatMap((c) => (c.desired ? [[{ tool: 'ethtool' as const, lines: [{ line: setFeatureArgs(c.desired).join(' '), change: c }] }]] : [])),
  model: 'reread',
};
