// Whether this process may change the network. Checked before writing so an
// operator gets one line ("use sudo") instead of a screen of kernel errors.
import { readFileSync } from 'node:fs';
import { permissionError } from './exec.js';

const CAP_NET_ADMIN = 12n;

export function hasNetAdmin(status = readProcStatus()): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  if (!m) return process.getuid?.() === 0;
  return ((BigInt('0x' + m[1]) >> CAP_NET_ADMIN) & 1n) === 1n;
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
