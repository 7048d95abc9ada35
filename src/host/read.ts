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
    input: 'addr show\nroute show table main\nneigh show nud permanent\n',
  });
  if (r.exitCode !== 0) throw new HostError(`reading the host failed: ${r.stderr.trim().split('\n')[0] || `ip exited ${r.exitCode}`}`);
  const parts = splitJsonArrays(r.stdout);
  if (parts.length !== 3) throw new HostError(`reading the host failed: unexpected output from ip (${parts.length} of 3 answers)`);
  const [addrs, routes, neighs] = parts;
  const links = parseLinks(addrs);
  const state: ActualState = { links, routes: parseRoutes(routes), neighbors: parseNeighbors(neighs), fdb: [] };
  return state;
}

/** Fills in the fdb of ovlnet's device, when it exists. */
export async function readFdb(state: ActualState, netns: string | undefined, device: string | undefined): Promise<void> {
  state.fdb = [];
  if (!device || !state.links.has(device)) return;
  const b = await run('bridge', ['-j', 'fdb', 'show', 'dev', device], { netns });
  if (b.exitCode !== 0) throw new HostError(`reading the fdb of ${device} failed: ${b.stderr.trim().split('\n')[0]}`);
  state.fdb = parseFdb(splitJsonArrays(b.stdout)[0] ?? [], device);
}
