// The cluster file's keys, checked by a schema (zod) before the file is
// mapped: a misspelt key (`bakend:`, `publicIp:`) would otherwise be dropped
// silently and the node planned without it. Only the keys are checked here;
// the values are the validation layer's (src/validate/), which knows the rules.
//
// The network config part is flannel's net-conf.json, whose keys Go's JSON
// decoder matches case-insensitively (`Directrouting`, `mTu`): those keys are
// renamed to their canonical spelling first, so the mapper reads them. The
// nodes list is ovlnet's own: its keys are exact.
import { SourceError } from '../errors.js';
import { closest } from '../suggest.js';
import { BACKEND_LIST } from '../backends/registry.js';
import { keySchema, type KeyCheck } from './key-schema.js';

/** ovlnet's camelCase keys; flannel's spelling (PascalCase) is the same key case-insensitively. */
export const CONFIG_KEYS = [
  'network', 'subnetLen', 'subnetMin', 'subnetMax', 'backend', 'nodes',
  'enableIPv4', 'enableIPv6', 'ipv6Network', 'ipv6SubnetLen', 'ipv6SubnetMin', 'ipv6SubnetMax',
  // flannel net-conf keys ovlnet reads as flannel does or reports through validation.
  'backendType', 'enableNFTables', 'networks', 'ipv6Networks',
] as const;

/** The keys flannel's backends read (each backend's block is parsed by that backend). */
export const BACKEND_KEYS = [
  'type', 'vni', 'port', 'mtu', 'directRouting', 'learning', 'gbp', 'macPrefix',
  'listenPort', 'listenPortV6', 'psk', 'persistentKeepaliveInterval', 'mode',
] as const;

/** The backends' own node fields (Backend.nodeFields), whatever the file's backend type. */
const BACKEND_NODE_FIELDS = BACKEND_LIST.flatMap((b) => (b.nodeFields ? [b.nodeFields] : []));

/** ovlnet's node entries, in ovlnet's spelling and in flannel's lease spelling; then the backends' own. */
export const NODE_KEYS: readonly string[] = [
  'name', 'publicIP', 'subnet', 'vtepMAC', 'publicIPv6', 'ipv6Subnet', 'vtepMACv6',
  'Name', 'PublicIP', 'Subnet', 'VtepMAC', 'PublicIPv6', 'IPv6Subnet', 'VtepMACv6',
  ...BACKEND_NODE_FIELDS.flatMap((f) => f.keys),
];

/** The node's BackendData and BackendV6Data from the backends' own fields (file.ts), each undefined when none gives one. */
export function nodeBackendData(n: Readonly<Record<string, unknown>>): { data?: Record<string, unknown>; data6?: Record<string, unknown> } {
  let data: Record<string, unknown> | undefined;
  let data6: Record<string, unknown> | undefined;
  for (const f of BACKEND_NODE_FIELDS) {
    const d = f.backendData(n);
    if (d?.data) data = { ...data, ...d.data };
    if (d?.data6) data6 = { ...data6, ...d.data6 };
  }
  return { ...(data ? { data } : {}), ...(data6 ? { data6 } : {}) };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The mapping with keys that match a known key case-insensitively spelt as
 * that key (`Network` and `NETWORK` become `network`), as Go reads flannel's
 * config. A key given twice in two spellings keeps the first, as Go does.
 */
function canonicalKeys(obj: Record<string, unknown>, known: readonly string[]): Record<string, unknown> {
  const byLower = new Map(known.map((k) => [k.toLowerCase(), k]));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    const canon = byLower.get(k.toLowerCase()) ?? k;
    if (!(canon in out)) out[canon] = v;
  }
  return out;
}

function pathText(path: ReadonlyArray<PropertyKey>): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : `${s ? '.' : ''}${String(p)}`;
  return s;
}

/**
 * The document with its config keys in canonical spelling, after refusing any
 * key no part of the format knows: the error names the key, where it is and
 * the closest known key ("did you mean backend?").
 */
export async function checkClusterKeys(doc: unknown, origin: string, unchanged?: NodeUnchanged | OnlyNodes): Promise<unknown> {
  if (!isObject(doc)) return doc;
  const top = canonicalKeys(doc, CONFIG_KEYS);
  if (isObject(top.backend)) top.backend = canonicalKeys(top.backend, BACKEND_KEYS);

  // Each part whose keys matter is checked on its own; entries that are not
  // mappings (a backend string, a node that is a number) are the mapper's and
  // the validation layer's to report.
  const problems: Array<{ path: PropertyKey[]; key: string; known: readonly string[] }> = [];
  const check = (schema: KeyCheck, value: unknown, prefix: PropertyKey[], known: readonly string[]) => {
    for (const u of schema(value)) problems.push({ path: [...prefix, ...u.path], key: u.key, known });
  };
  const keysOf = keySchema;
  check(keysOf(CONFIG_KEYS), top, [], CONFIG_KEYS);
  if (isObject(top.backend)) check(keysOf(BACKEND_KEYS), top.backend, ['backend'], BACKEND_KEYS);
  if (Array.isArray(top.nodes)) {
    // Nodes come in a few shapes (sets of keys): the schema checks the first
    // node of each shape, so 10 000 nodes cost a few checks, not 10 000.
    const node = keysOf(NODE_KEYS);
    const seen = new Set<string>();
    eachChecked(top.nodes, unchanged, (n, i) => {
      const shape = Object.keys(n).join('\0');
      if (seen.has(shape)) return;
      seen.add(shape);
      check(node, n, ['nodes', i], NODE_KEYS);
    });
  }
  if (problems.length) throw unknownKeyError(problems, origin);
  if (Array.isArray(top.nodes)) checkNodeFields(top.nodes, origin, unchanged);
  return top;
}

/**
 * Whether the i-th node is, to the value, one that passed these checks at
 * the same place in the file before (file-memo.ts): its checks are skipped.
 */
export type NodeUnchanged = (n: unknown, i: number) => boolean;

/**
 * Only these places of the nodes list changed since a read that passed
 * these checks (in file order; file-step.ts): the same as a NodeUnchanged
 * true everywhere else, without a call per node.
 */
export interface OnlyNodes {
  only: readonly number[];
}

/** Calls fn on each mapping of `nodes` that is to be checked, in file order. */
function eachChecked(nodes: unknown[], skip: NodeUnchanged | OnlyNodes | undefined, fn: (n: Record<string, unknown>, i: number) => void): void {
  if (skip && typeof skip !== 'function') {
    for (const i of skip.only) if (isObject(nodes[i])) fn(nodes[i] as Record<string, unknown>, i);
    return;
  }
  nodes.forEach((n, i) => {
    if (isObject(n) && !skip?.(n, i)) fn(n, i);
  });
}

/** The backends' own node fields, each refused with the file, the node and the field named (Backend.nodeFields check). */
function checkNodeFields(nodes: unknown[], origin: string, unchanged?: NodeUnchanged | OnlyNodes): void {
  const checks = BACKEND_NODE_FIELDS.flatMap((f) => (f.check ? [f.check] : []));
  eachChecked(nodes, unchanged, (n, i) => {
    for (const check of checks) {
      const bad = check(n);
      if (!bad) continue;
      const name = n.name ?? n.Name;
      const who = typeof name === 'string' ? ` (node ${JSON.stringify(name.slice(0, 253))})` : '';
      throw new SourceError(`${origin}: nodes[${i}].${bad.field}${who}: ${bad.message}`, bad.hint);
    }
  });
}

function unknownKeyError(problems: Array<{ path: PropertyKey[]; key: string; known: readonly string[] }>, origin: string): SourceError {
  const p = problems[0];
  const where = pathText(p.path);
  const near = closest(p.key, p.known);
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more unknown key${problems.length > 2 ? 's' : ''})` : '';
  return new SourceError(`${origin}: ${where ? `${where}: ` : ''}unknown key "${p.key}"${near ? ` (did you mean ${near}?)` : ''}${more}`,
    `known keys${where ? ` in ${where.replace(/\[\d+\]$/, '[]')}` : ''}: ${p.known.filter((k) => /^[a-z]/.test(k)).join(', ')}`);
}
