// `ovlnet cleanup` through the engine's write path: the desired state is
// "none of ours", decided by reconcile/cleanup.ts from a host read; the
// deletions are ordered and written by the same Host as apply's, then the
// host is read again and asked the same question (what is still ours?).
import type { Failure } from '../host/write.js';
import { isIpBatchChange, toBatches } from './batches.js';
import { driverPhases } from './phases.js';
import { renderCleanup } from '../host/iptables.js';
import { deleteOf } from '../kinds/index.js';
import type { Change } from '../model/types.js';
import { chainName, planCleanup, type CleanupInput, type CleanupPlan } from '../reconcile/cleanup.js';
import { orderChanges } from '../reconcile/order.js';
import type { Host, WritePhases } from './host.js';

export type CleanupBase = Omit<CleanupInput, 'actual' | 'netfilter'>;

/** The host as cleanup sees it: every link, address and route (no fdb), and both families' tables when iptables is installed. */
export async function readForCleanup(host: Host, base: CleanupBase): Promise<CleanupInput> {
  const r = await host.read({ kernel: { fdbDevices: [] }, netfilter: { families: [4, 6], ifInstalled: true } });
  return { ...base, actual: r.kernel!, netfilter: r.netfilter };
}

/** The iptables rules a cleanup removes, as changes (for listing and for failures). */
export function ruleChanges(p: CleanupPlan, family?: 4 | 6): Change[] {
  return p.netfilter.filter((c) => family === undefined || c.family === family).flatMap((c) => c.rules.map((r) => deleteOf(r)));
}

/** The chains a cleanup removes whole: `nat chain FLANNEL-POSTRTG`, `ip6 filter chain FLANNEL-FWD`. */
export const chainsRemoved = (p: CleanupPlan): string[] => p.netfilter.filter((c) => c.deleteChain).map(chainName);

/** Every change of a cleanup, in the order it runs. */
export function cleanupChanges(p: CleanupPlan): Change[] {
  return orderChanges([...ruleChanges(p), ...p.changes]);
}

/** Routes and devices one batch after the other, then one restore per family for the rules (and the chains). */
export function cleanupPhases(p: CleanupPlan): WritePhases {
  const ordered = orderChanges(p.changes);
  const phases: WritePhases = toBatches(ordered.filter(isIpBatchChange)).map((b) => [b]);
  // Devices a driver deletes (WireGuard's), after the routes through them.
  phases.push(...driverPhases(ordered, 'phases', [], { links: new Map(), routes: [], neighbors: [], fdb: [] }));
  for (const family of [4, 6] as const) {
    const input = renderCleanup(p.netfilter.filter((c) => c.family === family));
    if (!input) continue;
    const tool = family === 6 ? 'ip6tables-restore' as const : 'iptables-restore' as const;
    phases.push([{ tool, input, lines: ruleChanges(p, family).map((change) => ({ line: tool, change })) }]);
  }
  return phases;
}

export interface CleanupResult {
  failures: Failure[];
  /** What is still ours after the write, from a fresh read. */
  remaining: Change[];
  /** Chains that were to go and are still there. */
  chainsLeft: string[];
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
  // Devices of any kind (vxlan link, TUN, WireGuard device) by name.
  const linksLeft = plan.changes.filter((c) => c.action === 'delete' && 'name' in c.actual && reread.actual.links.has(c.actual.name));
  const remaining = [...after.changes.filter((c) => c.kind === 'route'), ...linksLeft, ...ruleChanges(after)];
  return { failures, remaining, chainsLeft: chainsRemoved(after), after };
}
