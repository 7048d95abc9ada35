// Mass-deletion guard: a source that suddenly lists far fewer peers (a wrong
// prefix, an emptied file, a half-synced API) must not wipe the node.
import { UsageError } from '../errors.js';
import { specOf } from '../kinds/index.js';
import type { Change } from '../model/types.js';

export type MaxDelete = { kind: 'default' } | { kind: 'count'; n: number } | { kind: 'percent'; p: number };

export function parseMaxDelete(s: string | undefined): MaxDelete {
  if (s === undefined) return { kind: 'default' };
  const m = /^([0-9]{1,9})(%?)$/.exec(s.trim());
  if (!m) throw new UsageError(`--max-delete ${s}: expected a number of peers (e.g. 10) or a percentage (e.g. 30%)`);
  return m[2] ? { kind: 'percent', p: Math.min(100, Number(m[1])) } : { kind: 'count', n: Number(m[1]) };
}

export interface GuardVerdict {
  removing: number;
  current: number;
  allowed: number;
  refused: boolean;
}

/**
 * Peers are counted by their per-peer objects (the kinds marked `peer`: a
 * route, or a WireGuard peer where one route serves them all). Default:
 * refuse removing more than half of the current peers, when that is at least 2.
 */
export function checkMassDeletion(changes: Change[], currentPeers: number, max: MaxDelete): GuardVerdict {
  const removing = changes.filter((c) => c.action === 'delete' && specOf(c.kind).peer).length;
  let allowed: number;
  switch (max.kind) {
    case 'default':
      allowed = Math.max(1, Math.floor(currentPeers / 2));
      break;
    case 'count':
      allowed = max.n;
      break;
    case 'percent':
      allowed = Math.floor((currentPeers * max.p) / 100);
      break;
  }
  return { removing, current: currentPeers, allowed, refused: removing > allowed };
}
