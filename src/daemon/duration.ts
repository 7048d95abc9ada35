// Durations as operators write them: 500ms, 10s, 1m, 24h, 1h30m. Pure.
import { UsageError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds for a duration string; throws a UsageError naming the flag. */
export function parseDuration(s: string, flag: string, opts: { minMs?: number; maxMs?: number } = {}): number {
  const text = s.trim();
  const re = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)/y;
  let ms = 0;
  let pos = 0;
  let parts = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) break;
    ms += Number(m[1]) * UNIT_MS[m[2]];
    pos = re.lastIndex;
    parts++;
  }
  if (parts === 0 || pos !== text.length || !Number.isFinite(ms)) {
    throw new UsageError(`${flag} ${JSON.stringify(s)}: expected a duration such as 500ms, 10s, 1m or 24h`);
  }
  ms = Math.round(ms);
  const min = opts.minMs ?? 1;
  if (ms < min) throw new UsageError(`${flag} ${s}: must be at least ${formatDuration(min)}`);
  if (opts.maxMs !== undefined && ms > opts.maxMs) throw new UsageError(`${flag} ${s}: must be at most ${formatDuration(opts.maxMs)}`);
  return ms;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1000).toFixed(3)}s`;
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(2)}m`;
  return `${+(ms / 3_600_000).toFixed(2)}h`;
}
