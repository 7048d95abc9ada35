// Renders ordered changes into `ip -batch` / `bridge -batch` lines. Pure.
// Every token comes from a typed, validated value (IP, Prefix, MAC, integer,
// device name checked against the IFNAMSIZ grammar): a source string never
// reaches a batch line as it was written.
import { isValidDeviceName } from '../model/keys.js';
import type { Change, Entry } from '../model/types.js';

export type Tool = 'ip' | 'bridge';

export interface BatchLine {
  line: string;
  change: Change;
}

export interface Batch {
  tool: Tool;
  lines: BatchLine[];
}

function dev(name: string): string {
  if (!isValidDeviceName(name)) throw new Error(`refusing to render device name ${JSON.stringify(name)}`);
  return name;
}

function int(n: number): string {
  if (!Number.isInteger(n) || n < 0) throw new Error(`refusing to render number ${n}`);
  return String(n);
}

function addLines(e: Entry, replace: boolean): Array<[Tool, string]> {
  switch (e.kind) {
    case 'link':
      return [
        ['ip', `link add ${dev(e.name)} address ${e.mac.text} mtu ${int(e.mtu)} type vxlan id ${int(e.vni)} local ${e.local.text} dev ${dev(e.underlay)} dstport ${int(e.port)} ${e.learning ? 'learning' : 'nolearning'}${e.gbp ? ' gbp' : ''}`],
        ['ip', `link set ${dev(e.name)} up`],
      ];
    case 'tun':
      // Persistent, so it outlives the daemon that attaches to it; `mode tun` gives IFF_NO_PI.
      return [
        ['ip', `tuntap add dev ${dev(e.name)} mode tun`],
        ['ip', `link set ${dev(e.name)} mtu ${int(e.mtu)} up`],
      ];
    case 'addr':
      // nodad: an IPv6 VTEP address is usable at once (no neighbour answers DAD on a vxlan device anyway).
      return [['ip', `addr replace ${e.addr.text} dev ${dev(e.dev)}${e.addr.family === 6 ? ' nodad' : ''}`]];
    case 'neigh':
      return [['ip', `neigh replace ${e.ip.text} lladdr ${e.mac.text} dev ${dev(e.dev)} nud permanent`]];
    case 'fdb':
      return [['bridge', `fdb replace ${e.mac.text} dev ${dev(e.dev)} dst ${e.dst.text} self permanent`]];
    case 'route':
      // `add` for a new route: if a foreign route appeared meanwhile, the
      // kernel refuses instead of ovlnet overwriting it.
      return [['ip', `route ${replace ? 'replace' : 'add'} ${e.dst.text}${e.via ? ` via ${e.via.text}` : ''} dev ${dev(e.dev)}${e.onlink ? ' onlink' : ''} proto ${int(e.proto)}`]];
    case 'offload':
    case 'sysctl':
    case 'nat':
    case 'filter':
      return notIpBatch(e);
  }
}

// Offload features go through ethtool (host/ethtool.ts), sysctl settings through
// sysctl (host/sysctl.ts) and netfilter rules through one iptables-restore per
// family (host/iptables.ts); reaching here is a wiring bug.
function notIpBatch(e: Entry): never {
  throw new Error(`${e.kind} entries are not written with ip/bridge -batch`);
}

/** Whether a change is written by ip/bridge batches (the others have their own writers). */
export function isIpBatchChange(c: Change): boolean {
  return c.kind !== 'offload' && c.kind !== 'sysctl' && c.kind !== 'nat' && c.kind !== 'filter';
}

function deleteLines(e: Entry): Array<[Tool, string]> {
  switch (e.kind) {
    case 'link':
    case 'tun':
      return [['ip', `link del ${dev(e.name)}`]];
    case 'addr':
      return [['ip', `addr del ${e.addr.text} dev ${dev(e.dev)}`]];
    case 'neigh':
      return [['ip', `neigh del ${e.ip.text} dev ${dev(e.dev)}`]];
    case 'fdb':
      return [['bridge', `fdb del ${e.mac.text} dev ${dev(e.dev)} dst ${e.dst.text} self`]];
    case 'route':
      // Naming the protocol makes the kernel match only ovlnet's route.
      return [['ip', `route del ${e.dst.text}${e.via ? ` via ${e.via.text}` : ''}${e.dev ? ` dev ${dev(e.dev)}` : ''} proto ${int(e.proto)}`]];
    case 'offload':
    case 'sysctl':
    case 'nat':
    case 'filter':
      return notIpBatch(e);
  }
}

function linkChangeLine(c: Change): string {
  if (c.kind === 'tun') {
    const t = c.desired as Extract<Entry, { kind: 'tun' }>;
    const was = c.actual as Extract<Entry, { kind: 'tun' }> | undefined;
    const attrs: string[] = [];
    if (!was || was.mtu !== t.mtu) attrs.push(`mtu ${int(t.mtu)}`);
    if (!was || was.up !== t.up) attrs.push(t.up ? 'up' : 'down');
    return `link set ${dev(t.name)} ${attrs.join(' ')}`;
  }
  const d = c.desired as Extract<Entry, { kind: 'link' }>;
  const a = c.actual as Extract<Entry, { kind: 'link' }> | undefined;
  // Only what differs: setting the address, even to the same value, makes
  // the kernel flush every neighbour of the device, permanent ones included.
  const attrs: string[] = [];
  if (!a || a.mtu !== d.mtu) attrs.push(`mtu ${int(d.mtu)}`);
  if (!a || a.mac.text !== d.mac.text) attrs.push(`address ${d.mac.text}`);
  if (!a || a.up !== d.up) attrs.push(d.up ? 'up' : 'down');
  return `link set ${dev(d.name)} ${attrs.join(' ')}`;
}

/** Lines for one change, in execution order. */
export function linesFor(c: Change): Array<[Tool, string]> {
  switch (c.action) {
    case 'add':
      return addLines(c.desired!, false);
    case 'delete':
      return deleteLines(c.actual!);
    case 'change':
      if (c.kind === 'link' || c.kind === 'tun') return [['ip', linkChangeLine(c)]];
      return addLines(c.desired!, true);
    case 'replace':
      // Ordered changes put a replacement with the additions; its delete half goes first there.
      return [['ip', `link del ${dev((c.desired as { name: string }).name)}`], ...addLines(c.desired!, false)];
  }
}

/** Groups ordered changes into as few processes as the tool switches allow; the kinds with writers of their own are skipped. */
export function toBatches(ordered: Change[]): Batch[] {
  const batches: Batch[] = [];
  for (const c of ordered) {
    if (!isIpBatchChange(c)) continue;
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
  for (const c of ordered) {
    if (!isIpBatchChange(c)) continue;
    if (c.kind !== 'neigh' && c.kind !== 'fdb' && c.kind !== 'route') {
      first.push(c);
      continue;
    }
    const stage = c.action === 'delete' ? 0 : 1;
    for (const [tool, line] of linesFor(c)) lists[tool === 'bridge' ? 'fdb' : c.kind][stage].push({ line, change: c });
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
