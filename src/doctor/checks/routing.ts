// Routing: an address in each peer's subnet must resolve through ovlnet's
// route. A more specific route, a blackhole or a policy rule that takes part
// of a peer's subnet elsewhere is a failure naming that peer. Pure.
import { prefixContains, prefixesOverlap, type Prefix } from '../../model/ip.js';
import { OVLNET_ROUTE_PROTO } from '../../model/keys.js';
import type { HostRoute } from '../../model/types.js';
import { fail, pass, type CheckResult } from '../types.js';

/** One `ip route get ADDR` answer, as recorded. */
export interface RouteLookup {
  addr: string;
  answer?: { dev?: string; gateway?: string; table?: string; type?: string };
  /** The kernel's refusal ("No route to host", "Invalid argument" for a blackhole...). */
  error?: string;
}

export interface PeerRouting {
  name: string;
  subnet: Prefix;
  /** ovlnet's route for it: the device and (unless a device route) the gateway. */
  expect: { dev: string; via?: string };
  lookups: RouteLookup[];
}

/** One `ip rule`: its destination selector (absent: all) and the table it looks up (or its action). */
export interface PolicyRule {
  priority: number;
  dst?: Prefix;
  table: string;
}

export interface RoutingFacts {
  peers: PeerRouting[];
  /** The main table's routes (all of them; ovlnet's own are skipped here). */
  mainRoutes: HostRoute[];
  /** The policy rules of both families (each compared with the peer subnets of its family). */
  rules?: PolicyRule[];
}

/** The kernel's own rules' tables: local first, main, default last. */
const OWN_TABLES = new Set(['local', 'main', 'default', '255', '254', '253']);

const MAIN = new Set(['254', 'main']);
const UNICAST = new Set(['1', 'unicast']);

function describe(a: NonNullable<RouteLookup['answer']>): string {
  const type = a.type && !UNICAST.has(a.type) ? `${a.type} ` : '';
  return `${type}${a.gateway ? `via ${a.gateway} ` : ''}${a.dev ? `dev ${a.dev} ` : ''}table ${a.table ?? 'main'}`.trim();
}

/** What is wrong with one lookup, or undefined when it resolves through ovlnet's route. */
export function lookupProblem(l: RouteLookup, expect: PeerRouting['expect']): string | undefined {
  if (l.error || !l.answer) return `ip route get ${l.addr}: ${l.error ?? 'no answer'}`;
  const a = l.answer;
  const ok = (a.table === undefined || MAIN.has(a.table)) && (a.type === undefined || UNICAST.has(a.type))
    && a.dev === expect.dev && (expect.via === undefined || a.gateway === expect.via);
  if (ok) return undefined;
  const theirs = `${expect.via ? `via ${expect.via} ` : ''}dev ${expect.dev}`;
  const why = a.table !== undefined && !MAIN.has(a.table) ? ' (a policy rule selects that table)' : '';
  return `${l.addr} resolves ${describe(a)}${why}, not through ovlnet's route ${theirs}`;
}

function routeText(r: HostRoute): string {
  const type = r.type && r.type !== 'unicast' ? `${r.type} ` : '';
  return `${type}${r.dst.text}${r.via ? ` via ${r.via.text}` : ''}${r.dev ? ` dev ${r.dev}` : ''}`;
}

export function routingChecks(f: RoutingFacts): CheckResult[] {
  const out: CheckResult[] = [];
  const foreign = f.mainRoutes.filter((r) => r.proto !== OVLNET_ROUTE_PROTO);
  for (const p of f.peers) {
    const problems: string[] = [];
    // More specific routes inside the subnet shadow a part no single lookup may hit.
    for (const r of foreign) {
      if (r.dst.family === p.subnet.family && r.dst.len > p.subnet.len && prefixContains(p.subnet, r.dst)) problems.push(`${routeText(r)} shadows part of ${p.subnet.text}`);
    }
    // A rule for part of the subnet sends that part elsewhere, whichever addresses the lookups tried.
    for (const r of f.rules ?? []) {
      if (!r.dst || OWN_TABLES.has(r.table) || r.dst.family !== p.subnet.family || !prefixesOverlap(r.dst, p.subnet)) continue;
      problems.push(`policy rule ${r.priority}: to ${r.dst.text} lookup ${r.table} takes ${prefixContains(r.dst, p.subnet) ? 'all' : 'part'} of ${p.subnet.text} past the main table`);
    }
    for (const l of p.lookups) {
      const problem = lookupProblem(l, p.expect);
      if (problem) problems.push(problem);
    }
    if (problems.length) {
      out.push(fail('routing.peer', problems.join('; '), `ip route get ${p.lookups[0]?.addr ?? p.subnet.addr.text}; ip rule show; ip route show table all match ${p.subnet.text}`, { peer: p.name }));
    }
  }
  if (!out.length) out.push(pass('routing', f.peers.length === 1 ? "1 peer subnet resolves through ovlnet's route" : `${f.peers.length} peer subnets resolve through ovlnet's routes`));
  return out;
}
