// `ovlnet cleanup` through the engine's write path: the desired state is
// "none of ours", decided by reconcile/cleanup.ts from a host read; the
// deletions are ordered and written by the same Host as apply's, then the
// host is read again and asked the same question (what is still ours?).
import type { Failure } from '../host/write.js';
import { toBatches } from './batches.js';
import { renderNatCleanup } from '../host/iptables.js';
import type { Change } from '../model/types.js';
import { planCleanup, type CleanupInput, type CleanupPlan } from '../reconcile/cleanup.js';
import { orderChanges } from '../reconcile/order.js';
import type { Host, WritePhases } from './host.js';

export type CleanupBase = Omit<CleanupInput, 'actual' | 'nat'>;

/** The host as cleanup sees it: every link, address and route (no fdb), and the nat table when iptables is installed. */
export async function readForCleanup(host: Host, base: CleanupBase): Promise<CleanupInput> {
  const r = await host.read({ kernel: { fdbDevices: [] }, nat: 'if-installed' });
  return { ...base, actual: r.kernel!, nat: r.nat };
}

/** The masquerade rules a cleanup removes, as changes (for listing and for failures). */
export function natChanges(p: CleanupPlan): Change[] {
  return p.nat.rules.map((r) => ({ action: 'delete', kind: 'nat', key: `nat:${r.chain}/${r.spec}`, actual: r }));
}

/** Every change of a cleanup, in the order it runs. */
export function cleanupChanges(p: CleanupPlan): Change[] {
  return orderChanges([...natChanges(p), ...p.changes]);
}

/** Routes and devices one batch after the other, then one iptables-restore for the rules (and the chain). */
export function cleanupPhases(p: CleanupPlan): WritePhases {
  const phases: WritePhases = toBatches(orderChanges(p.changes)).map((b) => [b]);
  const input = renderNatCleanup(p.nat);
  if (input) phases.push([{ tool: 'iptables-restore', input, lines: natChanges(p).map((change) => ({ line: 'iptables-restore', change })) }]);
  return phases;
}

export interface CleanupResult {
  failures: Failure[];
  /** What is still ours after the write, from a fresh read. */
  remaining: Change[];
  /** The masquerade chain is still there though it was to go. */
  chainLeft: boolean;
  /** The fresh read (the caller checks its own files against it). */
  after: CleanupPlan;
}

/**
 * Writes a cleanup plan and verifies it against a fresh read. `between` runs
 * after the write and before the read (the caller's file removals). A device
 * removed for carrying ovlnet routes no longer carries them, so devices are
 * checked by name.
 */
export async function applyCleanup(host: Host, plan: CleanupPlan, base: () => CleanupBase, between?: () => void): Promise<CleanupResult> {
  const { failures } = await host.write(cleanupPhases(plan));
  between?.();
  const reread = await readForCleanup(host, base());
  const after = planCleanup(reread);
  const linksLeft = plan.changes.filter((c) => c.kind === 'link' && c.actual?.kind === 'link' && reread.actual.links.has(c.actual.name));
  const remaining = [...after.changes.filter((c) => c.kind === 'route'), ...linksLeft, ...natChanges(after)];
  return { failures, remaining, chainLeft: after.nat.deleteChain, after };
}
