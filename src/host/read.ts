// Snapshot of the kernel state ovlnet cares about, in processes that run
// concurrently: one `ip -batch` for links, addresses, routes and neighbours,
// one `bridge` for the fdb of each of ovlnet's vxlan devices.
import { HostError } from '../errors.js';
import { OVLNET_ROUTE_PROTO } from '../model/keys.js';
import type { ActualState, FdbEntry, HostLink, HostRoute } from '../model/types.js';
import { run } from './exec.js';
import { versionHasRandomFully } from './iptables.js';
import { parseFdb, parseLinks, parseNeighbors, parseRoutes, splitJsonArrays } from './parse.js';

/**
 * Links, addresses, routes and permanent neighbours (one `ip -batch`), and the
 * fdb of the given vxlan devices (one `bridge` per device), read concurrently:
 * the device names come from the config, so neither read waits for the other
 * (the ip read not even for the config: given as a promise, the names are
 * waited for by the fdb read alone).
 * A device that does not exist has no fdb.
 */
export async function readHost(netns: string | undefined, fdbDevices: readonly string[] | Promise<readonly string[]> = []): Promise<ActualState> {
  // Both are waited for, and the ip read's error is the one reported: which
  // of two failing processes ends first is no reason for a different message.
  // The device names may still be coming (from the cluster file being
  // parsed): the ip read does not wait for them.
  const [ipRead, fdbRead] = await Promise.allSettled([
    // `table all` is the one way to list both families from one batch (a
    // table filter makes `ip route` IPv4-only); the main table is kept below.
    ipShow(netns, ['addr show', 'route show table all', 'neigh show nud permanent']),
    Promise.resolve(fdbDevices).then((devs) => Promise.all([...new Set(devs)].map((dev) => readFdbOf(netns, dev)))),
  ]);
  if (ipRead.status === 'rejected') throw ipRead.reason;
  if (fdbRead.status === 'rejected') throw fdbRead.reason;
  const [[addrs, routes, neighs], fdbs] = [ipRead.value, fdbRead.value];
  const links = parseLinks(addrs);
  // A device created or deleted between the two reads: its fdb is taken as the links say.
  const fdb = fdbs.flat().filter((e) => links.has(e.dev));
  return { links, routes: parseRoutes(mainTable(routes)), neighbors: parseNeighbors(neighs), fdb };
}

/** One `ip -j -d -N -batch` of `show` commands: each command's JSON answer, in order. */
async function ipShow(netns: string | undefined, commands: string[]): Promise<unknown[][]> {
  const r = await run('ip', ['-j', '-d', '-N', '-batch', '-'], { netns, input: commands.map((c) => `${c}\n`).join(''), bulkOutput: true });
  if (r.exitCode !== 0) throw new HostError(`reading the host failed: ${r.stderr.trim().split('\n')[0] || `ip exited ${r.exitCode}`}`);
  const parts = splitJsonArrays(r.stdout);
  if (parts.length !== commands.length) throw new HostError(`reading the host failed: unexpected output from ip (${parts.length} of ${commands.length} answers)`);
  return parts;
}

async function readFdbOf(netns: string | undefined, dev: string): Promise<FdbEntry[]> {
  const b = await run('bridge', ['-j', 'fdb', 'show', 'dev', dev], { netns, bulkOutput: true });
  if (b.exitCode !== 0) {
    if (/Cannot find device/.test(b.stderr)) return [];
    throw new HostError(`reading the fdb of ${dev} failed: ${b.stderr.trim().split('\n')[0] || `bridge exited ${b.exitCode}`}`);
  }
  return parseFdb(splitJsonArrays(b.stdout)[0] ?? [], dev);
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

/** The part of the host a plan reads: links with their addresses, and the main table when asked for. */
export interface PlanHost {
  links: Map<string, HostLink>;
  /** Undefined when not read: the plan then does not depend on routes. */
  routes?: HostRoute[];
}

/**
 * The main table's routes from `ip -j -d -N route show table all`, without
 * ovlnet's own (protocol 244): they lead to pods, never to a peer's public IP,
 * so the on-link test skips them anyway, and on a converged host they are
 * nearly all of the table. Pure.
 */
export function foreignMainRoutes(raw: unknown[]): HostRoute[] {
  const own = String(OVLNET_ROUTE_PROTO);
  const kept = raw.filter((o) => (o as { protocol?: unknown } | null)?.protocol !== own);
  return parseRoutes(mainTable(kept)).filter((r) => r.proto !== OVLNET_ROUTE_PROTO);
}

/** Links and addresses, and (withRoutes) the main table: one `ip` process either way. */
export async function readPlanHost(netns: string | undefined, withRoutes: boolean): Promise<PlanHost> {
  const parts = await ipShow(netns, withRoutes ? ['addr show', 'route show table all'] : ['addr show']);
  const links = parseLinks(parts[0]);
  return withRoutes ? { links, routes: foreignMainRoutes(parts[1]) } : { links };
}

/** The main table without ovlnet's own routes (foreignMainRoutes): the plan's second read when the links were read already. */
export async function readForeignMainRoutes(netns: string | undefined): Promise<HostRoute[]> {
  return foreignMainRoutes((await ipShow(netns, ['route show table all']))[0]);
}

// Here, beside the other reads a plan makes, so `plan` loads no iptables I/O module.
let randomFully: Promise<boolean> | undefined;

/**
 * Whether this host's iptables takes MASQUERADE --random-fully (asked once
 * per process: `iptables --version`). Without iptables: true, the plan for a
 * current one (writing fails anyway, saying iptables is missing).
 */
export function iptablesHasRandomFully(): Promise<boolean> {
  randomFully ??= run('iptables', ['--version']).then(
    (r) => r.exitCode !== 0 || versionHasRandomFully(r.stdout),
    () => true,
  );
  return randomFully;
}

/** One command's answer in a batch where some may fail: its JSON, or the kernel's refusal. */
export interface BatchAnswer {
  json?: unknown[];
  error?: string;
}

/**
 * One `ip -j -d -N -force -batch` of `show`/`get` commands that may fail one
 * by one (`route get` of an address a blackhole holds): each command's JSON
 * answer, or its error. ip prints answers only for the commands that
 * succeeded, in order, and names each failed line on stderr ("Command failed
 * -:LINE" after the reason), so the answers are dealt out to the others.
 */
export async function ipShowEach(netns: string | undefined, commands: string[]): Promise<BatchAnswer[]> {
  const r = await run('ip', ['-j', '-d', '-N', '-force', '-batch', '-'], { netns, input: commands.map((c) => `${c}\n`).join('') });
  const answers = batchAnswers(commands.length, r.stdout, r.stderr);
  if (!answers) throw new HostError(`reading the host failed: ${r.stderr.trim().split('\n')[0] || 'unexpected output from ip'}`);
  return answers;
}

/** The answers of a `-force -batch` of `count` commands, from its output; undefined when they do not add up. Pure. */
export function batchAnswers(count: number, stdout: string, stderr: string): BatchAnswer[] | undefined {
  const failed = new Map<number, string>();
  const lines = stderr.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^Command failed -:(\d+)/.exec(lines[i]);
    if (m) failed.set(Number(m[1]) - 1, (lines[i - 1] ?? '').replace(/^RTNETLINK answers: /, '').trim() || 'failed');
  }
  const parts = splitJsonArrays(stdout);
  if (parts.length !== count - failed.size) return undefined;
  let next = 0;
  return Array.from({ length: count }, (_, i) => (failed.has(i) ? { error: failed.get(i) } : { json: parts[next++] }));
}
