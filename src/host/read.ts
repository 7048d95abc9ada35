// Snapshot of the kernel state ovlnet cares about, in two processes: one
// `ip -batch` for links, addresses, routes and neighbours, one `bridge` for
// the fdb of ovlnet's device.
import { HostError } from '../errors.js';
import type { ActualState } from '../model/types.js';
import { run } from './exec.js';
import { parseFdb, parseLinks, parseNeighbors, parseRoutes, splitJsonArrays } from './parse.js';

/** Links, addresses, routes and permanent neighbours; the fdb is read by readFdb once the device is known. */
export async function readHost(netns: string | undefined): Promise<ActualState> {
  const r = await run('ip', ['-j', '-d', '-N', '-batch', '-'], {
    netns,
    // `table all` is the one way to list both families from one batch (a
    // table filter makes `ip route` IPv4-only); the main table is kept below.
    input: 'addr show\nroute show table all\nneigh show nud permanent\n',
  });
  if (r.exitCode !== 0) throw new HostError(`reading the host failed: ${r.stderr.trim().split('\n')[0] || `ip exited ${r.exitCode}`}`);
  const parts = splitJsonArrays(r.stdout);
  if (parts.length !== 3) throw new HostError(`reading the host failed: unexpected output from ip (${parts.length} of 3 answers)`);
  const [addrs, routes, neighs] = parts;
  const links = parseLinks(addrs);
  const state: ActualState = { links, routes: parseRoutes(mainTable(routes)), neighbors: parseNeighbors(neighs), fdb: [] };
  return state;
}

/** Fills in the fdb of ovlnet's device(s) (two in a dual-stack cluster), those that exist, in one process. */
export async function readFdb(state: ActualState, netns: string | undefined, device: string | readonly string[] | undefined): Promise<void> {
  state.fdb = [];
  const devices = (typeof device === 'string' ? [device] : device ?? []).filter((d) => state.links.has(d));
  if (devices.length === 0) return;
  if (devices.length === 1) {
    const [dev] = devices;
    const b = await run('bridge', ['-j', 'fdb', 'show', 'dev', dev], { netns });
    if (b.exitCode !== 0) throw new HostError(`reading the fdb of ${dev} failed: ${b.stderr.trim().split('\n')[0]}`);
    state.fdb = parseFdb(splitJsonArrays(b.stdout)[0] ?? [], dev);
    return;
  }
  // Device names were checked when planned (isValidDeviceName): safe on a batch line.
  const b = await run('bridge', ['-j', '-batch', '-'], { netns, input: devices.map((d) => `fdb show dev ${d}\n`).join('') });
  const parts = splitJsonArrays(b.stdout);
  if (b.exitCode !== 0 || parts.length !== devices.length) {
    throw new HostError(`reading the fdb of ${devices.join(', ')} failed: ${b.stderr.trim().split('\n')[0] || `${parts.length} of ${devices.length} answers`}`);
  }
  state.fdb = devices.flatMap((d, i) => parseFdb(parts[i], d));
}

type J = Record<string, unknown>;

/**
 * The main table's routes of both families, from `ip -d -N route show table all`
 * (which names every route's table, main as 254). `ip -j` prints an IPv6
 * default route as "default" like an IPv4 one: it is told apart by the
 * preference only IPv6 routes carry, or by an IPv6 gateway.
 */
export function mainTable(arr: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const o of arr as J[]) {
    if (typeof o !== 'object' || o === null) continue;
    if (o.table !== undefined && o.table !== '254' && o.table !== 'main') continue;
    if (o.dst === 'default' && (o.pref !== undefined || (typeof o.gateway === 'string' && o.gateway.includes(':')))) {
      out.push({ ...o, dst: '::/0' });
      continue;
    }
    out.push(o);
  }
  return out;
}
