// Decisions about a cluster file that may be mid-write. Pure.
//
// Editors, `cat > file` and config-management tools often rewrite a file in
// place: truncate, then write. A reader in between sees a valid but shorter
// document, and a plan from it removes peers. Two rules keep that from
// reaching the kernel:
//  - watch events for an in-place change are debounced until the file has
//    been quiet (its stat unchanged) for a while; a replaced file (a new
//    inode: an atomic rename, a ConfigMap `..data` swap) is complete and
//    read at once;
//  - a read that drops or changes anything the previous read listed (a
//    node, the network config) is trusted only once a second read, a
//    moment later, gives the same text. Additions never wait.

/** The identity and state of the file a path names (symlinks followed). */
export interface FileStamp {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  if (!a || !b) return a === b;
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** Whether `b` is another file than `a` (replaced by a rename), not `a` written in place. */
export function replaced(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  return a !== undefined && b !== undefined && (a.dev !== b.dev || a.ino !== b.ino);
}

export type DebounceStep =
  | { kind: 'fire' }
  | { kind: 'ignore' }
  | { kind: 'wait'; ms: number };

export interface DebounceInput {
  now: number;
  /** The file's stamp now (undefined: it does not exist). */
  stamp: FileStamp | undefined;
  /** The stamp when the watcher last told the daemon (or when it started). */
  reported: FileStamp | undefined;
  /** When the stamp was last seen to change, in this burst. */
  changedAt: number | undefined;
  /** When this burst of changes began. */
  burstStartAt: number | undefined;
  quietMs: number;
  /** A file that never stays quiet is reported anyway after this long (the reads guard themselves). */
  maxWaitMs: number;
}

/**
 * What to do when the watcher looks at the file (after an event or a timer):
 * report the change now, ignore it (nothing changed for this file: another
 * file in the directory), or look again later.
 */
export function debounceStep(d: DebounceInput): DebounceStep {
  if (sameStamp(d.stamp, d.reported)) return { kind: 'ignore' };
  // Gone, or a new file in its place: nothing to wait for (a missing file fails the read, kernel untouched).
  if (!d.stamp || !d.reported || replaced(d.reported, d.stamp)) return { kind: 'fire' };
  const changedAt = d.changedAt ?? d.now;
  if (d.burstStartAt !== undefined && d.now - d.burstStartAt >= d.maxWaitMs) return { kind: 'fire' };
  const quietFor = d.now - changedAt;
  if (quietFor >= d.quietMs) return { kind: 'fire' };
  return { kind: 'wait', ms: d.quietMs - quietFor };
}

/** What a read of the file said, in a form two reads can be compared by. */
export interface ReadSummary {
  /**
   * One key per node as listed (every field) and one for the network config,
   * each with how many times the read lists it: a count, not a set, so that
   * a read differing from this one in a few nodes can be told apart from it
   * by those nodes alone (file-step.ts).
   */
  keys: Map<string, number>;
  /** The nodes' keys in file order (one per node; the daemon's delta compares them by name). */
  nodeKeys: string[];
  configKey: string;
}

/**
 * What was printed of a node object before (file-memo.ts hands the same
 * object back for an unchanged node): its key and its print, made once.
 */
export type PrintCache = WeakMap<object, { key: string; print?: string }>;

/** The config's key in a summary. */
export function configKey(config: unknown): string {
  const { origin: _o, ...conf } = (config ?? {}) as Record<string, unknown>;
  return `config ${JSON.stringify(conf)}`;
}

/** A node's key in a summary: every field but its origin (made once per node object with a cache). */
export function nodeKey(n: Readonly<Record<string, unknown>>, cache?: PrintCache): string {
  let k = cache?.get(n)?.key;
  if (k === undefined) {
    const { origin: _origin, ...fields } = n;
    k = `node ${JSON.stringify(fields)}`;
    // print is set later (nodePrint); given here, the entry is made with both fields in place, not
    // grown by a second property store (a property array of its own per node: 0.5 MB at 10 000 nodes).
    cache?.set(n, { key: k, print: undefined });
  }
  return k;
}

export function summarize(config: unknown, nodes: ReadonlyArray<Record<string, unknown>>, cache?: PrintCache): ReadSummary {
  const keys = new Map<string, number>();
  const cKey = configKey(config);
  keys.set(cKey, 1);
  const nodeKeys: string[] = new Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const k = nodeKey(nodes[i], cache);
    nodeKeys[i] = k;
    keys.set(k, (keys.get(k) ?? 0) + 1);
  }
  return { keys, nodeKeys, configKey: cKey };
}

/** A node of a read by name, with what it was (its position included: it is in its messages). */
export interface NodePrint {
  /** Everything but the nodes: the config and the source's warnings. */
  rest: string;
  /** Node name -> its key and origin; undefined when a name is missing or listed twice (no delta then). */
  byName?: Map<string, string>;
}

export function nodePrint(nodes: ReadonlyArray<{ name?: unknown; origin: string }>, summary: ReadSummary, warnings: readonly string[], cache?: PrintCache): NodePrint {
  const rest = `${summary.configKey}\u0000${warnings.join('\u0000')}`;
  const byName = new Map<string, string>();
  for (let i = 0; i < nodes.length; i++) {
    const name = nodes[i].name;
    if (typeof name !== 'string' || byName.has(name)) return { rest };
    const cached = cache?.get(nodes[i]);
    // The same string object as last time for an unchanged node: nodeDelta compares it without reading it.
    const print = cached?.key === summary.nodeKeys[i] && cached.print !== undefined ? cached.print : `${nodes[i].origin}\u0000${summary.nodeKeys[i]}`;
    if (cached) cached.print = print;
    byName.set(name, print);
  }
  return { rest, byName };
}

/**
 * The nodes of `next` that differ from `prev` by name: upserted (indexes
 * into next's nodes) and deleted (names). Undefined when a delta cannot say
 * it: the config or warnings changed, or either read has nameless or
 * duplicate nodes.
 */
export function nodeDelta(prev: NodePrint | undefined, next: NodePrint): { upserts: string[]; deletes: string[] } | undefined {
  if (!prev?.byName || !next.byName || prev.rest !== next.rest) return undefined;
  const upserts: string[] = [];
  const deletes: string[] = [];
  for (const [name, k] of next.byName) if (prev.byName.get(name) !== k) upserts.push(name);
  // Every name of next is in prev unchanged and there are as many: none went.
  if (upserts.length || prev.byName.size !== next.byName.size) {
    for (const name of prev.byName.keys()) if (!next.byName.has(name)) deletes.push(name);
  }
  return { upserts, deletes };
}

/** Whether `next` drops or changes anything `prev` listed (a pure addition does not). */
export function needsConfirmation(prev: ReadSummary | undefined, next: ReadSummary): boolean {
  if (!prev) return false;
  for (const k of prev.keys.keys()) if (!next.keys.has(k)) return true;
  return false;
}
