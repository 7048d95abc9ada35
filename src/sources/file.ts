// `file:PATH` source: a YAML or JSON cluster description (see docs/cluster-file.md).
// Watching is done by the daemon's file watcher.
import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { SourceError } from '../errors.js';
import type { ClusterState, RawNode } from '../model/types.js';
import { checkDepth, isSyntaxError, MAX_DEPTH, MAX_FILE_BYTES, parseDocument } from './parse-limits.js';
import { spliceJson, type JsonBase } from './json-splice.js';
import { isObject, rawConfigFromObject } from './netconf.js';
import { checkClusterKeys, nodeBackendData } from './cluster-schema.js';
import type { Source, SourceOptions, SourceUpdate, WatchHandlers } from './types.js';
import { needsConfirmation, nodeDelta, nodePrint, summarize, type NodePrint, type PrintCache, type ReadSummary } from './file-settle.js';
import { NodeMemo } from './file-memo.js';
import { watchFile } from './file-watch.js';

/** A read that would remove or change something is confirmed by another this much later. */
export const CONFIRM_MS = 1500;
const MAX_CONFIRM = 4;

function kindOf(st: Stats): string {
  return st.isFIFO() ? 'a FIFO' : st.isDirectory() ? 'a directory' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a file';
}

/** `reuse`: the RawNode made before of the i-th node, when it is unchanged (file-memo.ts). */
export function parseClusterDocument(doc: unknown, origin: string, reuse?: (n: unknown, i: number) => RawNode | undefined): ClusterState {
  if (!isObject(doc)) throw new SourceError(`${origin}: expected a mapping with network, backend and nodes`);
  const nodesValue = doc.nodes ?? doc.Nodes;
  if (nodesValue !== undefined && !Array.isArray(nodesValue)) {
    throw new SourceError(`${origin}: "nodes" must be a list`);
  }
  const warnings: string[] = [];
  const nodes: RawNode[] = [];
  const list: unknown[] = nodesValue ?? [];
  const at = `${origin}: nodes[`;
  for (let i = 0; i < list.length; i++) {
    const n = list[i];
    if (!isObject(n)) {
      warnings.push(`${at}${i}]: not a mapping; skipped`);
      continue;
    }
    const known = reuse?.(n, i);
    if (known) {
      nodes.push(known);
      continue;
    }
    const where = `${at}${i}]`;
    const raw: RawNode = {
      origin: where,
      name: n.name ?? n.Name,
      publicIP: n.publicIP ?? n.PublicIP,
      subnet: n.subnet ?? n.Subnet,
      vtepMAC: n.vtepMAC ?? n.VtepMAC,
    };
    // Only when given: an IPv4-only node maps exactly as before dual stack.
    const publicIPv6 = n.publicIPv6 ?? n.PublicIPv6;
    const ipv6Subnet = n.ipv6Subnet ?? n.IPv6Subnet;
    const vtepMACv6 = n.vtepMACv6 ?? n.VtepMACv6;
    if (publicIPv6 !== undefined) raw.publicIPv6 = publicIPv6;
    // The backends' own fields (Backend.nodeFields) as the node's BackendData: the source does not look inside.
    const { data, data6 } = nodeBackendData(n);
    if (data) raw.backendData = data;
    if (data6) raw.backendDataV6 = data6;
    if (ipv6Subnet !== undefined) raw.ipv6Subnet = ipv6Subnet;
    if (vtepMACv6 !== undefined) raw.vtepMACv6 = vtepMACv6;
    nodes.push(raw);
  }
  const config = rawConfigFromObject(doc, origin, { flannel: false });
  // ovlnet's own spelling `ipv6Network` asks for IPv6 (README "Dual stack");
  // flannel's `IPv6Network` (any other spelling) needs EnableIPv6, as in flannel.
  if (doc.ipv6Network !== undefined && config.enableIPv6 === undefined) config.enableIPv6 = true;
  return { config, nodes, warnings, namedNodes: true };
}

function summaryOf(state: ClusterState, prints?: PrintCache): ReadSummary {
  return summarize(state.config, state.nodes as unknown as Array<Record<string, unknown>>, prints);
}

export class FileSource implements Source {
  readonly uri: string;
  readonly path: string;

  constructor(uri: string, opts: SourceOptions = {}) {
    this.uri = uri;
    this.path = uri.slice('file:'.length);
    if (!this.path) throw new SourceError(`source ${uri}: no path after file:`);
    this.once = opts.once === true;
  }

  /**
   * Read once (a CLI command): the first read leaves its summary and node
   * prints uncomputed (a string per node, 10 000 of them, that no later read
   * compares against); a later read computes them from that read's state then.
   */
  private readonly once: boolean;
  /** The first read of a `once` source, whose summary is not computed yet. */
  private unsummarized?: ClusterState;
  /** What the last load returned, to tell a half-written file from an edit (file-settle.ts). */
  private last?: ReadSummary;
  /** The file (inode) the last load read. */
  private lastFile?: { dev: number; ino: number };
  /** The last load's nodes by name, for update()'s delta. */
  private printed?: NodePrint;
  /** The last good read's nodes as parsed and what was made of them: an unchanged node is compared, not checked again. */
  private memo?: NodeMemo;
  /** The last good read's text and document when it was JSON: the next read parses only the node that changed (json-splice.ts). */
  private json?: JsonBase;
  /** The keys and prints of the nodes made (file-settle.ts), kept with the node objects they describe. */
  private readonly prints: PrintCache = new WeakMap();

  /**
   * Reads the file. A read that drops or changes anything the previous load
   * of this source returned is confirmed by reading again CONFIRM_MS later,
   * until two reads agree (at most MAX_CONFIRM times): an in-place rewrite
   * caught half way must not remove peers. Additions are taken at once.
   */
  async load(): Promise<ClusterState> {
    return (await this.read()).state;
  }

  /**
   * Reads the file as load() does (and with its guard against half-written
   * files), then compares its nodes by name with the previous read's: the
   * file is read whole either way, but only the nodes that changed go on.
   */
  async update(): Promise<SourceUpdate> {
    this.summarizeFirstRead();
    const before = this.printed;
    const { state, print } = await this.read();
    const d = before && nodeDelta(before, print());
    if (!d) return { state: async () => state };
    // Names are unique here (nodeDelta said so): the changed nodes are looked for, not indexed.
    const wanted = new Set(d.upserts);
    const byName = new Map<string, RawNode>();
    for (let i = 0; i < state.nodes.length && byName.size < wanted.size; i++) {
      const n = state.nodes[i];
      if (wanted.has(n.name as string)) byName.set(n.name as string, n);
    }
    return { delta: { upserts: d.upserts.map((name) => byName.get(name)!), deletes: d.deletes }, state: async () => state };
  }

  /** A `once` source read again: the guard and the delta need the first read's summary and prints after all. */
  private summarizeFirstRead(): void {
    if (!this.unsummarized) return;
    this.last = summaryOf(this.unsummarized, this.prints);
    this.printed = nodePrint(this.unsummarized.nodes, this.last, this.unsummarized.warnings, this.prints);
    this.unsummarized = undefined;
  }

  private async read(): Promise<{ state: ClusterState; print: () => NodePrint }> {
    this.summarizeFirstRead();
    let read = await this.readOnce();
    if (this.once && !this.last) {
      this.unsummarized = read.state;
      this.lastFile = read.file;
      return { state: read.state, print: () => nodePrint(read.state.nodes, summaryOf(read.state), read.state.warnings) };
    }
    // A file put in place whole (renamed over the old one: another inode, unchanged while read) is never half
    // written, as the watch's debounce already assumes: its removals need no second read. An in-place write
    // (same inode: truncate, then write) is confirmed.
    const whole = read.whole && this.lastFile !== undefined && (read.file.dev !== this.lastFile.dev || read.file.ino !== this.lastFile.ino);
    for (let i = 0; !whole && needsConfirmation(this.last, read.summary); i++) {
      if (i === MAX_CONFIRM) {
        throw new SourceError(`${this.path}: still changing after ${MAX_CONFIRM} reads ${CONFIRM_MS} ms apart; not used, the kernel is left as it is`,
          'write the new file beside it and rename it over the old one (atomic), so readers never see half of it');
      }
      await new Promise((r) => setTimeout(r, CONFIRM_MS));
      const again = await this.readOnce();
      const settled = again.text === read.text;
      read = again;
      if (settled) break;
    }
    this.last = read.summary;
    this.lastFile = read.file;
    const printed = nodePrint(read.state.nodes, read.summary, read.state.warnings, this.prints);
    this.printed = printed;
    return { state: read.state, print: () => printed };
  }

  private async readOnce(): Promise<{ text: string; state: ClusterState; readonly summary: ReadSummary; file: { dev: number; ino: number }; whole: boolean }> {
    let text: string;
    let file: { dev: number; ino: number };
    let whole: boolean;
    try {
      // Through one handle, so the inode is the one whose text was read; non-blocking, so a FIFO cannot hang the open.
      const fh = await open(this.path, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        const st = await fh.stat();
        // A FIFO, socket or device would block the read forever (or never end).
        if (!st.isFile()) throw new SourceError(`cannot read cluster file ${this.path}: not a regular file (${kindOf(st)})`, 'point --source at a YAML or JSON file');
        if (st.size > MAX_FILE_BYTES) throw new SourceError(`${this.path}: larger than ${MAX_FILE_BYTES} bytes`);
        // Read as bytes and decoded once: readFile('utf8') decodes chunk by chunk
        // and joins the pieces (3-4 ms of a daemon's change at 10 000 nodes, and
        // a joined string is slower to compare with the last read's).
        text = (await fh.readFile()).toString('utf8');
        const after = await fh.stat();
        file = { dev: st.dev, ino: st.ino };
        whole = after.size === st.size && after.mtimeMs === st.mtimeMs && after.ctimeMs === st.ctimeMs;
      } finally {
        await fh.close();
      }
    } catch (e) {
      if (e instanceof SourceError) throw e;
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.message;
      throw new SourceError(`cannot read cluster file ${this.path}: ${why}`,
        err.code === 'ENOENT' ? 'pass --source file:PATH or set OVLNET_SOURCE' : undefined);
    }
    const memo = this.memo?.reader();
    const parsed = await this.parseKept(text);
    const doc = await checkClusterKeys(parsed.doc, this.path, memo?.unchanged);
    const state = parseClusterDocument(doc, this.path, memo?.raw);
    // The memo serves the next read; a `once` source (a CLI command) is read once.
    if (!this.once) {
      const list = isObject(doc) && Array.isArray(doc.nodes) ? doc.nodes : [];
      this.memo = NodeMemo.of(list, state.nodes, isObject);
      this.json = parsed.json;
    }
    let summary: ReadSummary | undefined;
    const prints = this.prints;
    // Computed when first asked for: a `once` source's first read never asks.
    return { text, state, get summary() { return (summary ??= summaryOf(state, prints)); }, file, whole };
  }

  /**
   * The document, from the last JSON read and the one node that changed
   * when that is all that changed (exact: json-splice.ts), else parsed whole;
   * and, for a JSON text, what the next read may splice from.
   */
  private async parseKept(text: string): Promise<{ doc: unknown; json?: JsonBase }> {
    const spliced = this.json && !this.once && text.length <= MAX_FILE_BYTES ? spliceJson(this.json, text) : undefined;
    if (spliced) {
      // The element sits at level 3 (document, nodes list, node): the same limit and message as a whole parse's.
      checkDepth(spliced.value, this.path, MAX_DEPTH, 3);
      return { doc: spliced.doc, json: spliced.base };
    }
    const { doc, json } = await this.parse(text);
    return { doc, json: json && isObject(doc) ? { text, doc } : undefined };
  }

  private async parse(text: string): Promise<{ doc: unknown; json: boolean }> {
    if (/\.json$/i.test(this.path)) return { doc: await parseDocument(text, this.path, 'json'), json: true };
    // A brace-first file is usually JSON (parsed fast as such), but may be a
    // YAML flow mapping ({network: 10.244.0.0/16, ...}): fall back to YAML then.
    if (/^\s*\{/.test(text)) {
      try {
        return { doc: await parseDocument(text, this.path, 'json'), json: true };
      } catch (e) {
        if (!isSyntaxError(e)) throw e;
      }
    }
    return { doc: await parseDocument(text, this.path, 'yaml'), json: false };
  }

  /** See file-watch.ts: the directory is watched, in-place writes are debounced, a replaced directory is watched again. */
  watch(h: WatchHandlers): () => void {
    return watchFile(this.path, h);
  }

  async close(): Promise<void> {}
}
