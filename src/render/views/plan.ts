// `ovlnet plan` output: the desired state as a table, a versioned JSON
// object, or the exact batch lines apply would run on an empty host.
import type { ChalkInstance } from 'chalk';
import { isIpBatchChange, toBatches } from '../../engine/batches.js';
import { setFeatureArgs } from '../../host/ethtool.js';
import { sysctlWriteArgs } from '../../host/sysctl-text.js';
import { ruleCommands } from '../../host/iptables.js';
import type { Change, DesiredState, Entry, LinkEntry, NetfilterRuleEntry, Problem, RouteEntry, SysctlEntry, TunEntry } from '../../model/types.js';
import { orderChanges } from '../../reconcile/order.js';
import { backendOf } from '../../backends/registry.js';
import { addOf, KIND_LIST } from '../../kinds/index.js';
import { describeEntry } from '../describe.js';
import { entryJSON } from '../json.js';
import { problemJSON } from '../problems.js';
import { renderTable, type TableKind } from '../table.js';

/** 2: problems carry fields (code, node, field, value, conflictsWith, hint). */
export const PLAN_JSON_VERSION = 2;

export function planJSON(d: DesiredState, problems: Problem[]): object {
  return {
    version: PLAN_JSON_VERSION,
    backend: d.backend,
    device: d.device ?? null,
    underlay: d.underlay,
    local: { name: d.local.name, publicIP: d.local.publicIP.text, subnet: d.local.subnet.text, vtepMAC: d.local.vtepMAC.text },
    peers: d.peers.map((p) => ({ name: p.node.name, publicIP: p.node.publicIP.text, subnet: p.node.subnet.text, vtepMAC: p.node.vtepMAC.text, via: p.via })),
    entries: d.entries.map(entryJSON),
    problems: problems.map(problemJSON),
  };
}

/** Batch lines for an empty host, each prefixed with its tool: runnable as shell commands. */
export function planCommands(d: DesiredState): string[] {
  const changes = d.entries.map((e) => addOf(e));
  // Driver kinds that render their own lines (WireGuard), each hook once, for the kinds planned.
  const hooks = new Set(KIND_LIST.filter((s) => s.commands && d.entries.some((e) => e.kind === s.kind)).map((s) => s.commands!));
  const own = [...hooks].map((h) => h(d.entries));
  const lines = [...own.flatMap((o) => o.first), ...toBatches(orderChanges(changes.filter(isIpBatchChange))).flatMap((b) => b.lines.map((l) => `${b.tool} ${l.line}`))];
  for (const e of d.entries) if (e.kind === 'offload') lines.push(`ethtool ${setFeatureArgs(e).join(' ')}`);
  const pinned = d.entries.filter((e): e is SysctlEntry => e.kind === 'sysctl');
  if (pinned.length) lines.push(`sysctl ${sysctlWriteArgs(pinned).join(' ')}`);
  lines.push(...own.flatMap((o) => o.last));
  return [...lines, ...ruleCommands(d.entries.filter((e) => e.kind === 'nat' || e.kind === 'filter') as NetfilterRuleEntry[])];
}

function plural(n: number, one: string, many = one + 's'): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function planTable(d: DesiredState, c: ChalkInstance, kind: TableKind = 'plain'): string {
  const out: string[] = [];
  const l = d.local;
  const { table } = backendOf(d.backend);
  out.push(`${c.bold('Node')} ${l.name}  public IP ${l.publicIP.text}  subnet ${l.subnet.text}${table.nodeNote?.(l) ?? ''}`);
  // One pass over the entries (3 per peer) for the first link and tun device, the routes and the counts.
  let link: LinkEntry | undefined;
  let tun: TunEntry | undefined;
  const routes = new Map<string, RouteEntry>();
  const counts: Partial<Record<Entry['kind'], number>> = {};
  for (const e of d.entries) {
    counts[e.kind] = (counts[e.kind] ?? 0) + 1;
    if (e.kind === 'route') routes.set(e.dst.text, e);
    else if (e.kind === 'link') link ??= e;
    else if (e.kind === 'tun') tun ??= e;
  }
  const own = table.devices?.(d);
  const dev = link ? `  device ${link.name} (VNI ${link.vni}, port ${link.port}, MTU ${link.mtu})`
    : tun ? `  device ${tun.name} (tun, MTU ${tun.mtu})` : own ? `  device ${own}` : '';
  out.push(`${c.bold('Backend')} ${d.backend}${dev}`);
  out.push(`${c.bold('Underlay')} ${d.underlay.dev}  MTU ${d.underlay.mtu}${d.underlay.found ? '' : c.yellow('  (not on this host: assumed; use --iface)')}`);
  const head = ['Peer', 'Subnet', 'Public IP', ...table.columns.map((col) => col.head), 'Route'];
  const rows: string[][] = [];
  for (const p of d.peers) {
    const r = routes.get(p.node.subnet.text);
    const route = r ? `${r.via ? `via ${r.via.text} ` : ''}dev ${r.dev}${r.onlink ? ' onlink' : ''}`
      : table.unroutedPeer?.(p, d) ?? '';
    const row = [p.node.name, p.node.subnet.text, p.node.publicIP.text];
    for (const col of table.columns) row.push(col.cell(p));
    row.push(route);
    rows.push(row);
  }
  out.push(d.peers.length ? renderTable(kind, head, rows) : '(no peers)');
  const n = (k: Entry['kind']) => counts[k] ?? 0;
  out.push(`${plural(d.peers.length, 'peer')}: ${[
    // Every kind with a device hook is a device (link, tun, a backend's own).
    d.device ? plural(KIND_LIST.reduce((sum, k) => sum + (k.device ? n(k.kind) : 0), 0), 'device') : '',
    d.device ? plural(n('addr'), 'address', 'addresses') : '',
    d.device ? plural(n('neigh'), 'neighbor') : '',
    d.device ? plural(n('fdb'), 'fdb entry', 'fdb entries') : '',
    plural(n('route'), 'route'),
    // A backend's own kinds, by the noun their spec gives (WireGuard peers).
    ...KIND_LIST.flatMap((k) => (k.noun && n(k.kind) ? [plural(n(k.kind), ...k.noun)] : [])),
    n('offload') ? plural(n('offload'), 'pinned offload feature') : '',
    n('sysctl') ? plural(n('sysctl'), 'device setting') : '',
    n('nat') ? plural(n('nat'), 'masquerade rule') : '',
    n('filter') ? plural(n('filter'), 'forward rule') : '',
  ].filter(Boolean).join(', ')}.`);
  return out.join('\n');
}

export { describeEntry };
