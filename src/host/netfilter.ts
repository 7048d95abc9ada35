// Reads and writes the nat table: one `iptables-save -t nat` per read, one
// `iptables-restore --noflush` per write (atomic: all rules or none).
// iptables picks its backend (nft or legacy) as the host has it configured.
import { HostError } from '../errors.js';
import type { NatState } from '../model/types.js';
import { isPermissionDenied, notInstalled, permissionError, run } from './exec.js';
import { parseNatSave } from './iptables.js';

export async function readNat(netns: string | undefined): Promise<NatState> {
  const r = await run('iptables-save', ['-t', 'nat'], { netns });
  if (r.exitCode !== 0) {
    if (isPermissionDenied(r.stderr)) throw permissionError();
    throw new HostError(`reading the nat table failed: ${r.stderr.trim().split('\n')[0] || `iptables-save exited ${r.exitCode}`}`);
  }
  return parseNatSave(r.stdout);
}

/** Applies restore input; returns the error message, or undefined on success. */
export async function writeNat(netns: string | undefined, input: string): Promise<string | undefined> {
  if (input === '') return undefined;
  const r = await run('iptables-restore', ['--noflush'], { netns, input });
  if (r.exitCode === 0) return undefined;
  if (isPermissionDenied(r.stderr)) throw permissionError();
  return r.stderr.trim().split('\n').slice(0, 3).join('; ') || `iptables-restore exited ${r.exitCode}`;
}

/** The nat table, or undefined when iptables is not installed (then ovlnet can not have written rules). */
export async function readNatIfInstalled(netns: string | undefined): Promise<NatState | undefined> {
  try {
    return await readNat(netns);
  } catch (e) {
    if (e instanceof HostError && e.message === notInstalled('iptables-save').message) return undefined;
    throw e;
  }
}
