// Number fields of the network config, as flannel reads them: the checks the
// config validation and the backends' own config blocks share.
import { ConfigError } from '../errors.js';

export const MIN_MTU = 68;
export const MAX_MTU = 65535;
export const DEFAULT_VXLAN_PORT = 8472;
export const DEFAULT_UDP_PORT = 8285;

function isInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

export function intField(v: unknown, field: string, origin: string, min: number, max: number): number {
  // Accept numeric strings only where they are unambiguous decimal integers.
  const n = typeof v === 'string' && /^[0-9]{1,9}$/.test(v) ? Number(v) : v;
  if (!isInteger(n) || n < min || n > max) {
    // Shortened: the value comes from a shared store and may be huge.
    const got = String(JSON.stringify(v)).slice(0, 40);
    throw new ConfigError(`${origin}: ${field} must be an integer from ${min} to ${max}, got ${got}`);
  }
  return n;
}

export function boolField(v: unknown, field: string, origin: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ConfigError(`${origin}: ${field} must be true or false, got ${String(JSON.stringify(v)).slice(0, 40)}`);
  return v;
}
