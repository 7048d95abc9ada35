// `ethtool -k` output and `ethtool -K` arguments. Pure.
import { isValidDeviceName } from '../model/keys.js';
import type { OffloadEntry } from '../model/types.js';

export interface Feature {
  enabled: boolean;
  /** `[fixed]`: the driver does not let it change. */
  fixed: boolean;
}

/** `\ttx-checksum-ip-generic: on [fixed]` lines into a map; the header and unknown lines are skipped. */
export function parseFeatures(text: string): Map<string, Feature> {
  const out = new Map<string, Feature>();
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z0-9-]+): (on|off)( \[fixed\])?/.exec(line);
    if (m) out.set(m[1], { enabled: m[2] === 'on', fixed: Boolean(m[3]) });
  }
  return out;
}

export function setFeatureArgs(e: OffloadEntry): string[] {
  if (!isValidDeviceName(e.dev) || !/^[a-z0-9-]{1,40}$/.test(e.feature)) throw new Error(`refusing to render ethtool arguments for ${JSON.stringify(e)}`);
  return ['-K', e.dev, e.feature, e.enabled ? 'on' : 'off'];
}
