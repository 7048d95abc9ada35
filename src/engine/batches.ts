// Renders ordered changes into `ip -batch` / `bridge -batch` lines (each
// kind's lines are in its spec, src/kinds/), grouped into processes. Pure.
// Every token comes from a typed, validated value (IP, Prefix, MAC, integer,
// device name checked against the IFNAMSIZ grammar): a source string never
// reaches a batch line as it was written.
import { specOf } from '../kinds/index.js';
import type { KindSpec, Lines } from '../kinds/types.js';
import type { Change, Entry } from '../model/types.js';

/**
 * The -batch tools; then the drivers with their own write: one ethtool per
 * line, one sysctl and one iptables-restore per batch; and a kind's own
 * driver (KindSpec.driver), whose batches it names `<its name>:<batch>`
 * (WireGuard: `wireguard:link`, `wireguard:sync`) so no list here grows.
 */
export type Tool = 'ip' | 'bridge' | 'ethtool' | 'sysctl' | 'iptables-restore' | 'ip6tables-restore' | `${string}:${string}`;

export interface BatchLine {
  line: string;
  change: Change;
}

export interface Batch {
  tool: Tool;
  lines: BatchLine[];
  /** iptables-restore / ip6tables-restore: the whole input, one transaction for every line's change. */
  input?: string;
  /** A driver's typed input (WireGuard's device state), for its writer alone. */
  payload?: unknown;
}

/** Whether a change is written by ip/bridge batches (the others have their own writers). */
export function isIpBatchChange(c: Change): boolean {
  const { writer } = specOf(c.kind);
  return writer === 'ip' || writer === 'bridge';
}

function linesOf(kind: Change['kind']): NonNullable<KindSpec<Entry>['lines']> {
  const lines = specOf(kind).lines;
  // Offload features, sysctl settings and netfilter rules have their own writers (engine/phases.ts); reaching here is a wiring bug.
  if (!lines) throw new Error(`${kind} entries are not written with ip/bridge -batch`);
  return lines;
}

/** Lines for one change, in execution order. */
export function linesFor(c: Change): Lines {
  const lines = linesOf(c.kind);
  switch (c.action) {
    case 'add':
      return lines.add(c.desired, false);
    case 'delete':
      return lines.delete(c.actual);
    case 'change':
      return lines.change ? lines.change(c.desired, c.actual) : lines.add(c.desired, true);
    case 'replace':
      // Ordered changes put a replacement with the additions; its delete half goes first there.
      return [...lines.delete(c.desired), ...lines.add(c.desired, false)];
  }
}

/** Groups ordered changes into as few processes as the tool switches allow. */
export function toBatches(ordered: Change[]): Batch[] {
  const batches: Batch[] = [];
  for (const c of ordered) {
    for (const [tool, line] of linesFor(c)) {
      const last = batches[batches.length - 1];
      if (last && last.tool === tool) last.lines.push({ line, change: c });
      else batches.push({ tool, lines: [{ line, change: c }] });
    }
  }
  return batches;
}

/**
 * Groups ordered changes into phases: every batch of a phase runs at the same
 * time, a phase starts when the one before has ended.
 *
 * The first phases hold what other entries depend on: devices and addresses,
 * with their deletions, as toBatches would run them (a recreated device must
 * exist before anything is put on it). The last phase holds the neighbours,
 * fdb entries and routes, deletions before additions within each process:
 * one `ip` and one `bridge` run at once, since none of them needs another
 * (an onlink route names its gateway's device, not its neighbour or fdb
 * entry; the fdb is keyed by MAC; a deletion and an addition of the same
 * key are one change, never two). A changed peer is thus one `ip` and one
 * `bridge`, started together.
 *
 * When both are large, neighbours and routes go to two `ip` processes: the
 * kernel takes routes slowly (their cost grows faster than their number),
 * and `ip`'s own parsing and the neighbour and fdb writes then overlap them.
 * Measured on 2 idle cores at 10 000 peers: 2.2-2.5 s against 2.7 s. Below
 * SPLIT_LINES each, the extra process costs more than it saves.
 */
export function toPhases(ordered: Change[]): Batch[][] {
  const first: Change[] = [];
  // Deletions and additions apart, so each process removes before it adds.
  const lists = { neigh: [[], []], route: [[], []], fdb: [[], []] } as Record<'neigh' | 'route' | 'fdb', [BatchLine[], BatchLine[]]>;
  // Indexed loops, no destructuring: this runs once per change (15 000 at
  // 5 000 peers) in a fresh process, mostly before the JIT has optimised it,
  // where each iterator and destructuring step is a call of its own.
  for (let i = 0; i < ordered.length; i++) {
    const c = ordered[i];
    if (c.kind !== 'neigh' && c.kind !== 'fdb' && c.kind !== 'route') {
      first.push(c);
      continue;
    }
    const stage = c.action === 'delete' ? 0 : 1;
    const lines = linesFor(c);
    for (let j = 0; j < lines.length; j++) {
      const tool = lines[j][0];
      lists[tool === 'bridge' ? 'fdb' : c.kind][stage].push({ line: lines[j][1], change: c });
    }
  }
  const phases: Batch[][] = toBatches(first).map((b) => [b]);
  const [neighDel, neigh] = lists.neigh;
  const [routeDel, route] = lists.route;
  const fdb = lists.fdb[0].concat(lists.fdb[1]);
  const last: Batch[] = [];
  if (neigh.length >= SPLIT_LINES && route.length >= SPLIT_LINES) {
    last.push({ tool: 'ip', lines: neighDel.concat(neigh) }, { tool: 'ip', lines: routeDel.concat(route) });
  } else if (neighDel.length + routeDel.length + neigh.length + route.length) {
    last.push({ tool: 'ip', lines: neighDel.concat(routeDel, neigh, route) });
  }
  if (fdb.length) last.push({ tool: 'bridge', lines: fdb });
  // Failures are reported in batch order: neighbours, routes, then fdb.
  if (last.length) phases.push(last);
  return phases;
}

/** Lines of neighbours and of routes from which each gets an `ip` process of its own. */
export const SPLIT_LINES = 2000;
