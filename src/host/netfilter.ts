// Reads and writes iptables: one `iptables-save` (or `ip6tables-save`) per
// family read, one `iptables-restore --noflush` per family written (atomic:
// all rules of every table in it, or none). iptables picks its backend (nft
// or legacy) as the host has it configured.
import { HostError } from '../errors.js';
import type { NetfilterState } from '../model/types.js';
import { isPermissionDenied, permissionError, run } from './exec.js';
import { parseSave, versionHasRandomFully } from './iptables.js';

const SAVE = { 4: 'iptables-save', 6: 'ip6tables-save' } as const;
const RESTORE = { 4: 'iptables-restore', 6: 'ip6tables-restore' } as const;

/** The nat and filter tables of the given families (one process each). */
export async function readNetfilter(netns: string | undefined, families: ReadonlyArray<4 | 6>): Promise<NetfilterState> {
  const out: NetfilterState = {};
  for (const family of families) {
    // All tables in one run: the nat and filter blocks are kept, the rest parsed past.
    const r = await run(SAVE[family], [], { netns });
    if (r.exitCode !== 0) {
      if (isPermissionDenied(r.stderr)) throw permissionError();
      throw new HostError(`reading the ${SAVE[family].replace('-save', '')} tables failed: ${r.stderr.trim().split('\n')[0] || `${SAVE[family]} exited ${r.exitCode}`}`);
    }
    const t = parseSave(r.stdout);
    const empty = () => ({ chains: [], rules: [], policies: {} });
    out[`${family}/nat`] = t.nat ?? empty();
    out[`${family}/filter`] = t.filter ?? empty();
  }
  return out;
}

/** Applies one family's restore input; returns the error message, or undefined on success. */
export async function writeNetfilter(netns: string | undefined, family: 4 | 6, input: string): Promise<string | undefined> {
  if (input === '') return undefined;
  const r = await run(RESTORE[family], ['--noflush'], { netns, input });
  if (r.exitCode === 0) return undefined;
  if (isPermissionDenied(r.stderr)) throw permissionError();
  return r.stderr.trim().split('\n').slice(0, 3).join('; ') || `${RESTORE[family]} exited ${r.exitCode}`;
}

const isNotInstalled = (e: unknown) => e instanceof HostError && /^ip6?tables(-save)? not found in PATH/.test(e.message);

/** The tables, or undefined when iptables is not installed (then ovlnet can not have written rules). */
export async function readNetfilterIfInstalled(netns: string | undefined, families: ReadonlyArray<4 | 6>): Promise<NetfilterState | undefined> {
  const out: NetfilterState = {};
  for (const family of families) {
    try {
      Object.assign(out, await readNetfilter(netns, [family]));
    } catch (e) {
      if (!isNotInstalled(e)) throw e;
    }
  }
  return Object.keys(out).length ? out : undefined;
}


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
