// `file:PATH` source: a YAML or JSON cluster description (see README
// "Cluster file"). Watching is done by the daemon's file watcher.
import { readFile, stat } from 'node:fs/promises';
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { SourceError } from '../errors.js';
import type { ClusterState, RawNode } from '../model/types.js';
import { isSyntaxError, MAX_FILE_BYTES, parseDocument } from './parse-limits.js';
import { isObject, rawConfigFromObject } from './netconf.js';
import { checkClusterKeys } from './cluster-schema.js';
import type { Source, SourceOptions, WatchHandlers } from './types.js';

export function parseClusterDocument(doc: unknown, origin: string): ClusterState {
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
    const where = `${at}${i}]`;
    if (!isObject(n)) {
      warnings.push(`${where}: not a mapping; skipped`);
      continue;
    }
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
    if (ipv6Subnet !== undefined) raw.ipv6Subnet = ipv6Subnet;
    if (vtepMACv6 !== undefined) raw.vtepMACv6 = vtepMACv6;
    nodes.push(raw);
  }
  return { config: rawConfigFromObject(doc, origin), nodes, warnings, namedNodes: true };
}

export class FileSource implements Source {
  readonly uri: string;
  readonly path: string;

  constructor(uri: string, _opts: SourceOptions = {}) {
    this.uri = uri;
    this.path = uri.slice('file:'.length);
    if (!this.path) throw new SourceError(`source ${uri}: no path after file:`);
  }

  async load(): Promise<ClusterState> {
    let text: string;
    try {
      const st = await stat(this.path);
      if (st.size > MAX_FILE_BYTES) throw new SourceError(`${this.path}: larger than ${MAX_FILE_BYTES} bytes`);
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if (e instanceof SourceError) throw e;
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.message;
      throw new SourceError(`cannot read cluster file ${this.path}: ${why}`,
        err.code === 'ENOENT' ? 'pass --source file:PATH or set OVLNET_SOURCE' : undefined);
    }
    return parseClusterDocument(await checkClusterKeys(await this.parse(text), this.path), this.path);
  }

  private async parse(text: string): Promise<unknown> {
    if (/\.json$/i.test(this.path)) return parseDocument(text, this.path, 'json');
    // A brace-first file is usually JSON (parsed fast as such), but may be a
    // YAML flow mapping ({network: 10.244.0.0/16, ...}): fall back to YAML then.
    if (/^\s*\{/.test(text)) {
      try {
        return await parseDocument(text, this.path, 'json');
      } catch (e) {
        if (!isSyntaxError(e)) throw e;
      }
    }
    return parseDocument(text, this.path, 'yaml');
  }

  /**
   * Watches the directory, not the file: editors and config managers replace
   * the file (write new, rename over), which a watch on the old inode misses.
   */
  watch(h: WatchHandlers): () => void {
    const dir = dirname(this.path);
    const name = basename(this.path);
    let w: FSWatcher | undefined;
    try {
      w = fsWatch(dir, { persistent: false }, (_ev, file) => {
        if (!file || file === name) h.onChange();
      });
      w.on('error', (e) => h.onError(e));
    } catch (e) {
      h.onError(e as Error);
    }
    return () => w?.close();
  }

  async close(): Promise<void> {}
}
