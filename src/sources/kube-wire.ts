// Pure half of the kube: source's HTTP client: what a Node answer is cut down
// to before it is kept, how a watch stream's bytes become events, and what a
// list page or a watch event asks the reflector to do. Kept apart from the
// I/O (kube-http.ts, kube-reflector.ts) so each decision is tested alone.
//
// Why cut Nodes down: a real Node is ~6 KB of JSON (managedFields, images,
// conditions) and ~25 KB once parsed; ovlnet reads a few hundred bytes of it.
// A daemon caching whole Nodes held ~490 MB at 5 000 nodes.
import type { AnnotationKeys, KubeNode } from './kube-map.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The fields of a Node ovlnet reads (kube-map.ts): name, resourceVersion,
 * spec.podCIDR(s) and flannel's annotations under `keys`. Values are kept as
 * the API sent them (validation names a malformed one); anything else goes.
 * undefined for something that is not an object.
 */
export function leanNode(obj: unknown, keys: AnnotationKeys): KubeNode | undefined {
  if (!isRecord(obj)) return undefined;
  const meta = isRecord(obj.metadata) ? obj.metadata : {};
  const spec = isRecord(obj.spec) ? obj.spec : undefined;
  const lean: KubeNode = { metadata: {} };
  if (typeof meta.name === 'string') lean.metadata!.name = meta.name;
  if (typeof meta.resourceVersion === 'string') lean.metadata!.resourceVersion = meta.resourceVersion;
  if (isRecord(meta.annotations)) {
    const annotations: Record<string, string> = {};
    let any = false;
    for (const k of Object.values(keys)) {
      const v = meta.annotations[k];
      if (v !== undefined && v !== null) {
        annotations[k] = v as string;
        any = true;
      }
    }
    // flannel's nodes have annotations; {} and absent are read alike.
    lean.metadata!.annotations = any ? annotations : {};
  }
  if (spec) {
    const s: NonNullable<KubeNode['spec']> = {};
    if (spec.podCIDR !== undefined && spec.podCIDR !== null) s.podCIDR = spec.podCIDR as string;
    if (Array.isArray(spec.podCIDRs)) s.podCIDRs = spec.podCIDRs.slice() as string[];
    lean.spec = s;
  }
  return lean;
}

/**
 * Splits a watch stream (one JSON object per line) into whole lines; a line
 * cut across chunks waits for its end. Lines over maxLine bytes are dropped
 * (counted), so a broken server cannot grow the buffer without bound.
 */
export class LineSplitter {
  private pending = '';
  dropped = 0;

  constructor(private readonly maxLine = 16 * 1024 * 1024) {}

  push(chunk: string): string[] {
    const text = this.pending + chunk;
    const lines = text.split('\n');
    this.pending = lines.pop()!;
    if (this.pending.length > this.maxLine) {
      this.pending = '';
      this.dropped++;
    }
    return lines.filter((l) => l.trim() !== '');
  }

  /** What is left when the stream ends: a last line without its newline. */
  end(): string[] {
    const rest = this.pending;
    this.pending = '';
    return rest.trim() ? [rest] : [];
  }
}

export interface WatchEvent {
  type: string;
  object: unknown;
}

/** One watch line as {type, object}; undefined for a line that is not a watch event (skipped, as client libraries do). */
export function parseWatchLine(line: string): WatchEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isRecord(v) || typeof v.type !== 'string') return undefined;
  return { type: v.type, object: v.object };
}

/** What a watch event asks of the reflector. */
export type WatchStep =
  | { do: 'relist' } // 410 Gone: the resourceVersion is too old
  | { do: 'fail'; code: number; status: unknown } // any other ERROR event
  | { do: 'resume-at'; resourceVersion: string } // BOOKMARK: nothing changed up to here
  | { do: 'upsert'; name: string; resourceVersion?: string; node: KubeNode }
  | { do: 'delete'; name: string; resourceVersion?: string }
  | { do: 'ignore' };

/** Decides what one watch event means; Nodes come out cut down to what ovlnet reads. */
export function watchStep(ev: WatchEvent, keys: AnnotationKeys): WatchStep {
  const obj = isRecord(ev.object) ? ev.object : undefined;
  if (ev.type === 'ERROR') {
    const code = typeof obj?.code === 'number' ? obj.code : 500;
    return code === 410 ? { do: 'relist' } : { do: 'fail', code, status: obj };
  }
  const meta = isRecord(obj?.metadata) ? obj!.metadata as Record<string, unknown> : undefined;
  const rv = typeof meta?.resourceVersion === 'string' && meta.resourceVersion ? meta.resourceVersion : undefined;
  if (ev.type === 'BOOKMARK') return rv ? { do: 'resume-at', resourceVersion: rv } : { do: 'ignore' };
  const name = meta?.name;
  if (typeof name !== 'string' || !name) return { do: 'ignore' };
  if (ev.type === 'ADDED' || ev.type === 'MODIFIED') return { do: 'upsert', name, resourceVersion: rv, node: leanNode(obj, keys)! };
  if (ev.type === 'DELETED') return { do: 'delete', name, resourceVersion: rv };
  return { do: 'ignore' };
}

/** The query of one list page. */
export function listQuery(limit: number, cont?: string): Record<string, string> {
  return cont ? { limit: String(limit), continue: cont } : { limit: String(limit) };
}

/**
 * After one page of a list: the continue token of the next page, or none when
 * the list is complete, and the list's resourceVersion (the watch starts there).
 */
export function pageEnd(page: unknown): { next?: string; resourceVersion: string } {
  const meta = isRecord(page) && isRecord(page.metadata) ? page.metadata : {};
  const next = typeof meta.continue === 'string' && meta.continue ? meta.continue : undefined;
  const resourceVersion = typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '';
  return next ? { next, resourceVersion } : { resourceVersion };
}

/** A list page's items, cut down; items without a name are dropped (a Node always has one). */
export function pageItems(page: unknown, keys: AnnotationKeys): KubeNode[] {
  const items = isRecord(page) && Array.isArray(page.items) ? page.items : [];
  const out: KubeNode[] = [];
  for (const it of items) {
    const n = leanNode(it, keys);
    if (n?.metadata?.name) out.push(n);
  }
  return out;
}
