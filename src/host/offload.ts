// Reads and sets device offload features with ethtool: one `ethtool -k`
// per cycle, only when a feature is pinned. (`ethtool -K`, only when it
// differs, is a write: host/write.ts.)
import { HostError } from '../errors.js';
import type { OffloadEntry } from '../model/types.js';
import { run } from './exec.js';
import { parseFeatures } from './ethtool.js';

/** The device's current value of each feature asked for. */
export async function readOffload(netns: string | undefined, dev: string, features: string[]): Promise<OffloadEntry[]> {
  const r = await run('ethtool', ['-k', dev], { netns });
  if (r.exitCode !== 0) throw new HostError(`reading the offload features of ${dev} failed: ${r.stderr.trim().split('\n')[0] || `ethtool exited ${r.exitCode}`}`);
  const all = parseFeatures(r.stdout);
  const out: OffloadEntry[] = [];
  for (const feature of features) {
    const f = all.get(feature);
    if (f) out.push({ kind: 'offload', dev, feature, enabled: f.enabled });
  }
  return out;
}
