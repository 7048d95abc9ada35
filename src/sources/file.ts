// `file:PATH` source: a YAML or JSON cluster description (see docs/cluster-file.md).
// Watching is done by the daemon's file watcher.
import type { Stats } from 'node:fs';
import { isAscii } from 'node:buffer';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { SourceError } from '../errors.js';
import type { ClusterState, RawNode } from '../model/types.js';
import { checkDepth, isSyntaxError, MAX_DEPTH, MAX_FILE_BYTES, parseDocument } from './parse-limits.js';
import { asciiBase, spliceAscii, spliceJson, type JsonBase } from './json-splice.js';
import { isObject, rawConfigFromObject } from './netconf.js';
import { checkClusterKeys, nodeBackendData } from './cluster-schema.js';
import type { Source, SourceOptions, SourceUpdate, WatchHandlers } from './types.js';
import { needsConfirmation, nodeDelta, nodePrint, summarize, type NodePrint, type PrintCache, type ReadSummary } from './file-settle.js';
import { NodeMemo } from './file-memo.js';
import { applyStep, stepFrom, stepNeedsConfirmation, type Accepted } from './file-step.js';
import { watchFile } from './file-watch.js';
import { ReadBuffers } from './read-buffers.js';

/** A read that would remove or change something is confirmed by another this much later. */
export const CONFIRM_MS = 1500;
const MAX_CONFIRM = 4;

/**
 * The file's bytes to its end, read into one buffer of the size stat gave
 * (grown if the file grew meanwhile): readFile() reads 512 KB chunks and
 * joins them, another copy of a 1 MB file per read. Synchronous, as the
 * whole read is (readOnce): a regular file in the page cache.
 */
function readToEnd(fd: number, size: number, buffers?: ReadBuffers): Buffer {
  const take = (n: number) => (buffers ? buffers.take(n) : Buffer.allocUnsafe(n));
  let buf = take(size + 1);
  let got = 0;
  for (;;) {
    if (got === buf.length) {
      const bigger = take(buf.length * 2);
      buf.copy(bigger, 0, 0, got);
      buffers?.give(buf);
      buf = bigger;
    }
    const bytesRead = readSync(fd, buf, got, buf.length - got, null);
    if (bytesRead === 0) return buf.subarray(0, got);
    got += bytesRead;
  }
}

/** A read's bytes and their text, decoded when first asked for. */
interface Content {
  bytes: Buffer;
  /** Every byte below 0x80: byte i is character i of the text. */
  ascii: boolean;
  readonly text: string;
}

function contentOf(bytes: Buffer): Content {
  const ascii = isAscii(bytes);
  let text: string | undefined;
  // ASCII (the usual cluster file) decodes the same as Latin-1, three times faster than as UTF-8.
  return { bytes, ascii, get text() { return (text ??= ascii ? bytes.toString('latin1') : bytes.toString('utf8')); } };
}

/** Whether two reads' texts are the same (ASCII bytes are compared as they are: the same bytes, the same text, and only then). */
function sameContent(a: Content, b: Content): boolean {
  return a.ascii && b.ascii ? a.bytes.equals(b.bytes) : a.text === b.text;
}

function kindOf(st: Stats): string {
  return st.isFIFO() ? 'a FIFO' : st.isDirectory() ? 'a directory' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a file';
}

/** The RawNode of a node mapping of the file, `where` its place ("file: nodes[3]"). */
function rawNodeOf(n: Record<string, unknown>, where: string): RawNode {
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
  return raw;
}

function configOf(doc: Record<string, unknown>, origin: string): ClusterState['config'] {
  const config = rawConfigFromObject(doc, origin, { flannel: false });
  // ovlnet's own spelling `ipv6Network` asks for IPv6 (README "Dual stack");
  // flannel's `IPv6Network` (any other spelling) needs EnableIPv6, as in flannel.
  if (doc.ipv6Network !== undefined && config.enableIPv6 === undefined) config.enableIPv6 = true;
  return config;
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
    nodes.push(reuse?.(n, i) ?? rawNodeOf(n, `${at}${i}]`));
  }
  return { config: configOf(doc, origin), nodes, warnings, namedNodes: true };
}

/**
 * parseClusterDocument(doc) when `doc` is, outside the places `changed`,
 * the document whose nodes (every entry a mapping) were `nodes`: only the
 * changed places are mapped again. Undefined when that does not hold of
 * the document's shape (then parse it whole).
 */
export function spliceClusterDocument(doc: unknown, origin: string, nodes: readonly RawNode[], changed: readonly number[]): ClusterState | undefined {
  if (!isObject(doc) || doc.nodes === undefined) return undefined;
  const list = doc.nodes;
  if (!Array.isArray(list) || list.length !== nodes.length) return undefined;
  const next = nodes.slice();
  for (const i of changed) {
    const n = list[i];
    if (!isObject(n)) return undefined;
    next[i] = rawNodeOf(n, `${origin}: nodes[${i}]`);
  }
  return { config: configOf(doc, origin), nodes: next, warnings: [], namedNodes: true };
}

/** The daemon's delta between two prints (nodeDelta), with the upserted nodes themselves. */
type NodeChanges = { upserts: RawNode[]; deletes: string[] };

function changesOf(before: NodePrint | undefined, after: NodePrint, nodes: readonly RawNode[]): NodeChanges | undefined {
  const d = before && nodeDelta(before, after);
  if (!d) return undefined;
  // Names are unique here (nodeDelta said so): the changed nodes are looked for, not indexed.
  const wanted = new Set(d.upserts);
  const byName = new Map<string, RawNode>();
  for (let i = 0; i < nodes.length && byName.size < wanted.size; i++) {
    const n = nodes[i];
    if (wanted.has(n.name as string)) byName.set(n.name as string, n);
  }
  return { upserts: d.upserts.map((name) => byName.get(name)!), deletes: d.deletes };
}

function summaryOf(state: ClusterState, prints?: PrintCache): ReadSummary {
  return summarize(state.config, state.nodes as unknown as Array<Record<string, unknown>>, prints);
}

/** One read of the file, checked and mapped; `changed`: where it differs from the accepted read, when the parse knows. */
interface Read {
  /** The file's content; `text` is decoded from it when first asked for (an ASCII read taken as a splice never asks). */
  content: Content;
  state: ClusterState;
  readonly summary: ReadSummary;
  file: { dev: number; ino: number };
  whole: boolean;
  /** What the next read may splice from, when this one is accepted (JSON). */
  json?: JsonBase;
  changed?: readonly number[];
}

export class FileSource implements Source {
  readonly uri: string;
  readonly path: string;

  constructor(uri: string, opts: SourceOptions = {}) {
    this.uri = uri;
    this.path = uri.slice('file:'.length);
    if (!this.path) throw new SourceError(`source ${uri}: no path after file:`);
    this.once = opts.once === true;
    if (!this.once) this.buffers = new ReadBuffers();
  }

  /**
   * Read once (a CLI command): the first read leaves its summary and node
   * prints uncomputed (a string per node, 10 000 of them, that no later read
   * compares against); a later read computes them from that read's state then.
   */
  private readonly once: boolean;
  /** Whether a read that differs from the accepted one in a few nodes is decided from those nodes (file-step.ts); tests compare with the whole computation. */
  protected readonly stepping: boolean = true;
  /** The first read of a `once` source, whose summary is not computed yet. */
  private unsummarized?: ClusterState;
  /** What the last load returned, to tell a half-written file from an edit (file-settle.ts). */
  private last?: ReadSummary;
  /** The file (inode) the last load read. */
  private lastFile?: { dev: number; ino: number };
  /** The last load's nodes by name, for update()'s delta. */
  private printed?: NodePrint;
  /** A daemon's last accepted read, kept for the next read's step (file-step.ts): its summary and print are `last` and `printed`. */
  private accepted?: Accepted;
  /** The accepted read's text and document when it was JSON: the next read parses only the node that changed (json-splice.ts). */
  private json?: JsonBase;
  /** The last good read's node list as parsed and what was made of it: an unchanged node is compared, not checked again (file-memo.ts). */
  private memoOf?: { list: readonly unknown[]; nodes: readonly RawNode[] };
  /** The keys and prints of the nodes made (file-settle.ts), kept with the node objects they describe. */
  private readonly prints: PrintCache = new WeakMap();
  /** A daemon's read buffers, reused from read to read (read-buffers.ts); none for a `once` source. */
  private readonly buffers?: ReadBuffers;

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
    const { state, delta } = await this.read();
    const d = delta();
    return d ? { delta: d, state: async () => state } : { state: async () => state };
  }

  /** A `once` source read again: the guard and the delta need the first read's summary and prints after all. */
  private summarizeFirstRead(): void {
    if (!this.unsummarized) return;
    this.last = summaryOf(this.unsummarized, this.prints);
    this.printed = nodePrint(this.unsummarized.nodes, this.last, this.unsummarized.warnings, this.prints);
    this.unsummarized = undefined;
  }

  private async read(): Promise<{ state: ClusterState; delta: () => NodeChanges | undefined }> {
    this.summarizeFirstRead();
    const before = this.printed;
    let read = await this.readOnce();
    /** Every read of this call: their buffers are given back once the accepted one is chosen. */
    const reads = [read];
    if (this.once && !this.last) {
      this.unsummarized = read.state;
      this.lastFile = read.file;
      return { state: read.state, delta: () => undefined };
    }
    // A file put in place whole (renamed over the old one: another inode, unchanged while read) is never half
    // written, as the watch's debounce already assumes: its removals need no second read. An in-place write
    // (same inode: truncate, then write) is confirmed.
    const whole = read.whole && this.lastFile !== undefined && (read.file.dev !== this.lastFile.dev || read.file.ino !== this.lastFile.ino);
    const acc = this.accepted;
    const stepOf = (r: Read) => (acc ? stepFrom(acc, r.state, r.changed, this.prints) : undefined);
    let step = stepOf(read);
    const confirm = () => (step && acc ? stepNeedsConfirmation(acc, step) : needsConfirmation(this.last, read.summary));
    for (let i = 0; !whole && confirm(); i++) {
      if (i === MAX_CONFIRM) {
        throw new SourceError(`${this.path}: still changing after ${MAX_CONFIRM} reads ${CONFIRM_MS} ms apart; not used, the kernel is left as it is`,
          'write the new file beside it and rename it over the old one (atomic), so readers never see half of it');
      }
      await this.pause(CONFIRM_MS);
      const again = await this.readOnce();
      reads.push(again);
      const settled = sameContent(again.content, read.content);
      read = again;
      step = stepOf(read);
      if (settled) break;
    }
    this.lastFile = read.file;
    const state = read.state;
    if (!this.once) this.keepBase(read.json, reads);
    if (step && acc) {
      // The accepted read becomes this one in place: its prints are the same map as `before`, so the delta is the step's.
      const changes = applyStep(acc, step, state, this.prints);
      return { state, delta: () => changes };
    }
    this.last = read.summary;
    const printed = nodePrint(state.nodes, read.summary, state.warnings, this.prints);
    this.printed = printed;
    if (!this.once && this.stepping) this.accepted = { summary: read.summary, printed, nodes: state.nodes.slice(), warnings: state.warnings };
    return { state, delta: () => changesOf(before, printed, state.nodes) };
  }

  /** Makes `json` the next read's splice base; the buffers no base reads any more are given back for the next reads. */
  private keepBase(json: JsonBase | undefined, reads: readonly Read[]): void {
    const old = this.json;
    this.json = json;
    if (!this.buffers) return;
    for (const r of reads) if (r.content.bytes !== json?.ascii) this.buffers.give(r.content.bytes);
    if (old?.ascii && old.ascii !== json?.ascii) this.buffers.give(old.ascii);
  }

  /** The wait before a confirming read (tests write the rest of a half-written file meanwhile). */
  protected pause(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }

  private async readOnce(): Promise<Read> {
    let content: Content;
    let file: { dev: number; ino: number };
    let whole: boolean;
    try {
      // Through one descriptor, so the inode is the one whose text was read; non-blocking, so a FIFO cannot hang the open.
      // Synchronous: open, two stats, the reads and the close of a file in the page cache take microseconds each,
      // while each asynchronous call is a round trip through libuv's thread pool (a wake-up of a pool thread and
      // of the event loop, six per read), and on a busy host each such wake-up may wait for a core.
      const fd = openSync(this.path, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        const st = fstatSync(fd);
        // A FIFO, socket or device would block the read forever (or never end).
        if (!st.isFile()) throw new SourceError(`cannot read cluster file ${this.path}: not a regular file (${kindOf(st)})`, 'point --source at a YAML or JSON file');
        if (st.size > MAX_FILE_BYTES) throw new SourceError(`${this.path}: larger than ${MAX_FILE_BYTES} bytes`);
        // Read as bytes and decoded once: readFile('utf8') decodes chunk by chunk
        // and joins the pieces (3-4 ms of a daemon's change at 10 000 nodes, and
        // a joined string is slower to compare with the last read's).
        content = contentOf(readToEnd(fd, st.size, this.buffers));
        const after = fstatSync(fd);
        file = { dev: st.dev, ino: st.ino };
        whole = after.size === st.size && after.mtimeMs === st.mtimeMs && after.ctimeMs === st.ctimeMs;
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      if (e instanceof SourceError) throw e;
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.message;
      throw new SourceError(`cannot read cluster file ${this.path}: ${why}`,
        err.code === 'ENOENT' ? 'pass --source file:PATH or set OVLNET_SOURCE' : undefined);
    }
    const parsed = await this.parseKept(content);
    const acc = this.accepted;
    let state: ClusterState | undefined;
    let doc: unknown;
    let changed: readonly number[] | undefined;
    if (parsed.changed && acc && !acc.warnings.length) {
      // Only the changed places of a document otherwise the accepted read's: checked and mapped alone.
      doc = await checkClusterKeys(parsed.doc, this.path, { only: parsed.changed });
      state = spliceClusterDocument(doc, this.path, acc.nodes, parsed.changed);
      if (state) changed = parsed.changed;
    }
    if (!state) {
      const memo = this.memoOf && NodeMemo.of(this.memoOf.list, this.memoOf.nodes, isObject).reader();
      doc = await checkClusterKeys(parsed.doc, this.path, memo?.unchanged);
      state = parseClusterDocument(doc, this.path, memo?.raw);
    }
    // The memo serves the next read; a `once` source (a CLI command) is read once.
    if (!this.once) this.memoOf = { list: isObject(doc) && Array.isArray(doc.nodes) ? doc.nodes : [], nodes: state.nodes };
    let summary: ReadSummary | undefined;
    const prints = this.prints;
    const done = state;
    // Computed when first asked for: a `once` source's first read never asks, nor a read taken as a step.
    return { content, state, get summary() { return (summary ??= summaryOf(done, prints)); }, file, whole, json: parsed.json, changed };
  }

  /**
   * The document, from the accepted JSON read and the one node that changed
   * when that is all that changed (exact: json-splice.ts), else parsed whole;
   * and, for a JSON text, what the next read may splice from.
   */
  private async parseKept(content: Content): Promise<{ doc: unknown; json?: JsonBase; changed?: readonly number[] }> {
    const base = this.once ? undefined : this.json;
    if (base && content.bytes.length <= MAX_FILE_BYTES) {
      // The same text: the same document (JSON.parse is a function of the text; nobody changes the document).
      const asBytes = content.ascii && base.ascii !== undefined;
      if (asBytes ? content.bytes.equals(base.ascii!) : content.text === base.text) return { doc: base.doc, json: base, changed: [] };
      const spliced = asBytes ? spliceAscii(base, content.bytes) : spliceJson(base, content.text);
      if (spliced) {
        // The element sits at level 3 (document, nodes list, node): the same limit and message as a whole parse's.
        checkDepth(spliced.value, this.path, MAX_DEPTH, 3);
        return { doc: spliced.doc, json: spliced.base, changed: [spliced.index] };
      }
    }
    const text = content.text;
    const { doc, json } = await this.parse(text);
    if (!json || !isObject(doc)) return { doc };
    return { doc, json: content.ascii ? asciiBase(content.bytes, doc) : { text, doc } };
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
