// The daemon's log: one line per event, `text` (logfmt-style fields) or
// `json` (one object per line, for journald and log shippers). The formatting
// is pure; the sink is injected.
export type Level = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'text' | 'json';
export type Fields = Record<string, string | number | boolean | string[] | undefined>;

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };
/** syslog priorities, for the `<N>` prefix journald understands on stderr. */
const SYSLOG: Record<Level, number> = { debug: 7, info: 6, warn: 4, error: 3 };

export interface FormatOptions {
  format: LogFormat;
  /**
   * stderr goes to the journal: no timestamp (journald adds its own) and a
   * `<N>` priority prefix so `journalctl -p warning` works.
   */
  journal?: boolean;
}

/** Quotes a text value when it would not read back as one token; escapes newlines so a value can never forge a line. */
export function fieldValue(v: string | number | boolean | string[]): string {
  if (Array.isArray(v)) return fieldValue(v.join(', '));
  const s = String(v);
  if (s !== '' && /^[A-Za-z0-9_.:/@+%,-]+$/.test(s)) return s;
  return JSON.stringify(s);
}

export function formatLine(time: Date, level: Level, msg: string, fields: Fields, o: FormatOptions): string {
  if (o.format === 'json') {
    const obj: Record<string, unknown> = { time: time.toISOString(), level, msg };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined && !(k in obj)) obj[k] = v;
    return JSON.stringify(obj);
  }
  const parts = [o.journal ? `<${SYSLOG[level]}>` + level : `${time.toISOString()} ${level.padEnd(5)}`, oneLine(msg)];
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) parts.push(`${k}=${fieldValue(v)}`);
  return parts.join(' ');
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ⏎ ');
}

export interface LoggerOptions extends FormatOptions {
  level: Level;
  write(line: string): void;
  now?: () => Date;
}

export class Logger {
  constructor(private readonly o: LoggerOptions) {}

  enabled(level: Level): boolean {
    return RANK[level] >= RANK[this.o.level];
  }

  log(level: Level, msg: string, fields: Fields = {}): void {
    if (!this.enabled(level)) return;
    this.o.write(formatLine(this.o.now?.() ?? new Date(), level, msg, fields, this.o) + '\n');
  }

  debug(msg: string, fields?: Fields): void { this.log('debug', msg, fields); }
  info(msg: string, fields?: Fields): void { this.log('info', msg, fields); }
  warn(msg: string, fields?: Fields): void { this.log('warn', msg, fields); }
  error(msg: string, fields?: Fields): void { this.log('error', msg, fields); }
}

/**
 * Logs a failure once per streak instead of on every retry: the first failure
 * (and any failure whose message differs from the previous one) at `level`,
 * repeats at debug, and one line when it recovers.
 */
export class FailureStreak {
  private count = 0;
  private since = 0;
  private lastMessage = '';

  constructor(private readonly log: Logger, private readonly what: string, private readonly now: () => number = Date.now) {}

  get failing(): boolean {
    return this.count > 0;
  }

  fail(message: string, fields: Fields = {}, level: Level = 'error'): void {
    if (this.count === 0) this.since = this.now();
    this.count++;
    const repeat = message === this.lastMessage;
    this.lastMessage = message;
    if (repeat) {
      this.log.debug(`${this.what} still failing: ${message}`, { ...fields, failures: this.count });
    } else {
      this.log.log(level, `${this.what} failed: ${message}`, {
        ...fields,
        ...(this.count > 1 ? { failures: this.count } : {}),
        note: this.count === 1 ? 'logged once until it recovers' : undefined,
      });
    }
  }

  ok(fields: Fields = {}): void {
    if (this.count === 0) return;
    this.log.info(`${this.what} recovered`, { ...fields, failures: this.count, down_ms: this.now() - this.since });
    this.count = 0;
    this.lastMessage = '';
  }
}
