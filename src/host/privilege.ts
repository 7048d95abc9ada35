// Whether this process may change the network. Checked before writing so an
// operator gets one line ("use sudo") instead of a screen of kernel errors.
import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PermissionError } from '../errors.js';
import { notInstalled, permissionError } from './exec.js';

const CAP_NET_ADMIN = 12n;

export function hasNetAdmin(status = readProcStatus()): boolean {
  return hasCap(status, CAP_NET_ADMIN);
}

function readProcStatus(): string {
  try {
    return readFileSync('/proc/self/status', 'utf8');
  } catch {
    return '';
  }
}

export function requireNetAdmin(): void {
  if (!hasNetAdmin()) throw permissionError();
}

const CAP_SYS_ADMIN = 21n;

function hasCap(status: string, cap: bigint): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  if (!m) return process.getuid?.() === 0;
  return ((BigInt('0x' + m[1]) >> cap) & 1n) === 1n;
}

/** Whether an executable named `tool` is on PATH (what execa would find). */
function onPath(tool: string, path = process.env.PATH ?? ''): boolean {
  return path.split(':').some((dir) => {
    try {
      accessSync(join(dir || '.', tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * What a write would fail on first, checked before a writer takes the
 * namespace's lock: entering the namespace (CAP_SYS_ADMIN), changing the
 * network (CAP_NET_ADMIN), iproute2 installed. Without it a lock error
 * ("cannot lock …: Permission denied") would hide the real answer.
 */
export function preflightWrite(netns: string | undefined, status = readProcStatus()): void {
  if (netns && !hasCap(status, CAP_SYS_ADMIN)) {
    throw new PermissionError(`entering network namespace ${netns} needs root (CAP_SYS_ADMIN)`, 'run it with sudo');
  }
  if (!hasCap(status, CAP_NET_ADMIN)) throw permissionError();
  if (!onPath('ip')) throw notInstalled('ip');
}
