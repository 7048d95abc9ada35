import { entryKey } from '../kinds/index.js';
import type { Change, Entry } from '../model/types.js';

/** An entry with its typed values flattened to their canonical text. */
export function entryJSON(e: Entry): Record<string, unknown> {
  const out: Record<string, unknown> = { key: entryKey(e) };
  const flat = (v: unknown) => (v && typeof v === 'object' && 'text' in v ? (v as { text: string }).text : v);
  // Lists of typed values too (a WireGuard peer's allowed-ips); a Secret renders itself as "(redacted)".
  for (const [k, v] of Object.entries(e)) out[k] = Array.isArray(v) ? v.map(flat) : flat(v);
  return out;
}

export function entryJSONForChange(c: Change): object {
  return {
    action: c.action,
    kind: c.kind,
    key: c.key,
    ...(c.detail ? { detail: c.detail } : {}),
    ...(c.desired ? { desired: entryJSON(c.desired) } : {}),
    ...(c.actual ? { actual: entryJSON(c.actual) } : {}),
  };
}
