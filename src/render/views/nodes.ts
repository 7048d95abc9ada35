// `ovlnet nodes` output: the source's valid nodes as a table and as the
// versioned JSON document (docs/output.md). Pure.
import type { ChalkInstance } from 'chalk';
import type { Node, NetworkConfig, Problem } from '../../model/types.js';
import { problemJSON } from '../problems.js';
import { renderTable, type TableKind } from '../table.js';

/** 2: summary counts (nodes, problems), problems with their fields (docs/output.md). */
export const NODES_JSON_VERSION = 2;

export interface NodesView {
  config: NetworkConfig;
  /** The backend as one line (Backend.describe). */
  backend: string;
  /** The backend's own columns (Backend.table.nodeColumns: VTEP MAC, public key); none for host-gw and udp. */
  columns?: Array<{ head: string; cell(n: Node): string }>;
  nodes: Node[];
  problems: Problem[];
  now: number;
}

export function expiry(n: Node, now: number): string {
  if (n.expiresAt === undefined) return '';
  if (n.expiresAt === null) return 'reservation';
  const s = Math.round((n.expiresAt.getTime() - now) / 1000);
  if (s <= 0) return 'expired';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}

export function nodesJSON(v: NodesView): object {
  return {
    version: NODES_JSON_VERSION,
    network: v.config.network.text,
    subnetLen: v.config.subnetLen,
    backend: v.config.backend,
    summary: { nodes: v.nodes.length, problems: v.problems.length },
    nodes: v.nodes.map((n) => ({ name: n.name, subnet: n.subnet.text, publicIP: n.publicIP.text, vtepMAC: n.vtepMAC.text, expires: n.expiresAt === undefined ? undefined : n.expiresAt?.toISOString() ?? 'never' })),
    problems: v.problems.map(problemJSON),
  };
}

export function nodesText(v: NodesView, c: ChalkInstance, table: TableKind): string {
  const withExpiry = v.nodes.some((n) => n.expiresAt !== undefined);
  const own = v.columns ?? [];
  const head = ['Name', 'Subnet', 'Public IP', ...own.map((c) => c.head), ...(withExpiry ? ['Expires'] : [])];
  const rows = v.nodes.map((n) => [n.name, n.subnet.text, n.publicIP.text, ...own.map((c) => c.cell(n)), ...(withExpiry ? [expiry(n, v.now)] : [])]);
  const np = v.problems.length;
  return [
    `${c.bold('Network')} ${v.config.network.text}  subnet length /${v.config.subnetLen}  ${c.bold('Backend')} ${v.backend}`,
    v.nodes.length ? renderTable(table, head, rows) : '(no nodes)',
    `${v.nodes.length} node${v.nodes.length === 1 ? '' : 's'}${np ? `, ${np} problem${np === 1 ? '' : 's'} (above)` : ''}.`,
  ].join('\n');
}
