// Full snapshots of a namespace's kernel state, as `ip -j` / `bridge -j`
// print it, for byte-for-byte before/after comparisons, and small readers
// for the entries ovlnet manages.
import { sh } from './netns.js';

export interface KernelSnapshot {
  links: string;
  routes: string;
  neigh: string;
  fdb: string;
}

/** Links, routes of every table (v4 and v6), neighbours and the whole fdb. */
export async function kernelSnapshot(ns: string): Promise<KernelSnapshot> {
  const [links, r4, r6, neigh, fdb] = await Promise.all([
    sh('ip', ['-n', ns, '-j', '-d', 'link', 'show']),
    sh('ip', ['-n', ns, '-j', '-d', 'route', 'show', 'table', 'all']),
    sh('ip', ['-n', ns, '-6', '-j', '-d', 'route', 'show', 'table', 'all']),
    sh('ip', ['-n', ns, '-j', 'neigh', 'show']),
    sh('bridge', ['-n', ns, '-j', 'fdb', 'show']),
  ]);
  return { links: withoutTimers(links), routes: withoutLinkLocal(r4) + '\n' + withoutLinkLocal(r6), neigh, fdb: withoutKernelMulticast(fdb) };
}

/**
 * The kernel adds IPv6 link-local addresses, their routes and their multicast
 * fdb entries by itself, seconds after a device comes up (after DAD): never a
 * write of ovlnet's (which writes no link-local or multicast state), and a
 * source of flaky before/after comparisons on a loaded machine.
 */
function withoutLinkLocal(json: string): string {
  const arr = JSON.parse(json) as Array<{ dst?: string }>;
  return JSON.stringify(arr.filter((r) => !/^(fe80:|ff00::)/i.test(r.dst ?? '')));
}

function withoutKernelMulticast(json: string): string {
  const arr = JSON.parse(json) as Array<{ mac?: string; dst?: string }>;
  return JSON.stringify(arr.filter((f) => f.dst || !/^(33:33|01:00:5e):/i.test(f.mac ?? '')));
}

/**
 * A snapshot once the namespace is quiet: right after a device comes up the
 * kernel still adds its IPv6 link-local address and routes by itself (DAD),
 * which is no write of ovlnet's. Waits for two equal snapshots in a row.
 */
export async function settledSnapshot(ns: string, deadlineMs = 10_000): Promise<KernelSnapshot> {
  const end = Date.now() + deadlineMs;
  const tentative = async () => (await sh('ip', ['-n', ns, '-6', 'addr', 'show', 'tentative'])).trim() !== '';
  let last = await kernelSnapshot(ns);
  for (;;) {
    await new Promise((r) => setTimeout(r, 300));
    // Asked before the snapshot: DAD clears the tentative flag just before the
    // kernel adds the address's local route, so asked after it, a snapshot taken
    // while tentative (equal to the one before) could pass as settled.
    const settling = await tentative();
    const now = await kernelSnapshot(ns);
    if (!settling && JSON.stringify(now) === JSON.stringify(last)) return now;
    if (Date.now() > end) throw new Error(`namespace ${ns} did not settle within ${deadlineMs} ms`);
    last = now;
  }
}

/** Bridge timers (gc_timer...) tick by themselves; everything else must stay put. */
function withoutTimers(json: string): string {
  return JSON.stringify(JSON.parse(json), (k, v) => (/_timer$/.test(k) ? undefined : v));
}

export interface RouteJ {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  type?: string;
  flags?: string[];
}

export async function routes(ns: string): Promise<RouteJ[]> {
  return JSON.parse(await sh('ip', ['-n', ns, '-j', '-d', 'route', 'show', 'table', 'main'])) as RouteJ[];
}

export async function route(ns: string, dst: string): Promise<RouteJ | undefined> {
  return (await routes(ns)).find((r) => r.dst === dst);
}

/** Permanent neighbours of a device as `ip -> lladdr`. */
export async function neighbors(ns: string, dev: string): Promise<Map<string, string>> {
  const arr = JSON.parse(await sh('ip', ['-n', ns, '-j', 'neigh', 'show', 'dev', dev, 'nud', 'permanent'])) as Array<{ dst: string; lladdr: string }>;
  return new Map(arr.map((n) => [n.dst, n.lladdr]));
}

/** fdb entries of a device with a remote destination, as `mac -> dst`. */
export async function fdb(ns: string, dev: string): Promise<Map<string, string>> {
  const arr = JSON.parse(await sh('bridge', ['-n', ns, '-j', 'fdb', 'show', 'dev', dev])) as Array<{ mac: string; dst?: string }>;
  return new Map(arr.filter((f) => f.dst).map((f) => [f.mac, f.dst!]));
}

export async function link(ns: string, dev: string): Promise<any | undefined> {
  const r = await sh('ip', ['-n', ns, '-j', '-d', 'link', 'show']);
  return (JSON.parse(r) as any[]).find((l) => l.ifname === dev);
}
