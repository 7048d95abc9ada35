// The Node reflector of the kube: source: list, then watch from the list's
// resourceVersion, re-list on 410 Gone, keep the Nodes in memory (only the
// fields ovlnet reads: kube-wire.ts) and report a change only when one of
// those changed.
import type { SourceError } from '../errors.js';
import { relevantKey, type AnnotationKeys, type KubeNode } from './kube-map.js';
import { httpStatus, type Action } from './kube-config.js';
import { watchStep } from './kube-wire.js';
import type { WatchHandlers } from './types.js';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** Opens a watch stream (kube-http.ts): events to onEvent, then done once. */
export interface WatchOpener {
  watch(path: string, query: Record<string, string | number | boolean | undefined>, onEvent: (type: string, obj: unknown) => void, done: (err: unknown) => void): Promise<AbortController>;
}

/** What the reflector needs of its source: Nodes listed already cut down. */
export interface ReflectorSource {
  listNodes(signal?: AbortSignal): Promise<{ items: KubeNode[]; resourceVersion: string }>;
  toSourceError(e: unknown, action: Action): SourceError;
}

interface WatchEnd {
  gone?: boolean;
  error?: Error;
  events: number;
}

/**
 * List, then watch from the list's resourceVersion; on 410 Gone re-list.
 * Keeps the Nodes in memory so load() need not list them again, and reports
 * a change only when something ovlnet reads changed (a node status heartbeat
 * is a MODIFIED event too).
 */
export class NodeReflector {
  synced = false;
  private cache = new Map<string, KubeNode>();
  /** Nodes whose watched fields changed since the last drain() (kube-delta.ts). */
  private touched = new Set<string>();
  /** The cache was replaced by a list since the last drain(): anything may have changed. */
  private relisted = true;
  private rv = '';
  private stopped = false;
  /** Ends the current watch (resolving it) at once. */
  private cancelWatch?: () => void;
  private readonly abort = new AbortController();
  private sleeping?: { timer: NodeJS.Timeout; wake: () => void };
  private loop?: Promise<void>;
  /** Settles the first list's promise: true once it is in, false when it failed or the reflector stopped first. */
  private settleFirst!: (listed: boolean) => void;
  private readonly first = new Promise<boolean>((resolve) => { this.settleFirst = resolve; });

  constructor(
    private readonly source: ReflectorSource,
    private readonly watcher: WatchOpener,
    private readonly keys: AnnotationKeys,
    private readonly h: WatchHandlers,
  ) {}

  items(): KubeNode[] {
    return [...this.cache.values()];
  }

  /** Whether the first list came in (waits for it while it is under way). */
  firstListed(): Promise<boolean> {
    return this.first;
  }

  node(name: string): KubeNode | undefined {
    return this.cache.get(name);
  }

  /** The Nodes touched since the last call (undefined after a relist: all of them may have been), and forgets them. */
  drain(): string[] | undefined {
    const names = this.relisted ? undefined : [...this.touched];
    this.touched.clear();
    this.relisted = false;
    return names;
  }

  start(): void {
    this.loop = this.run().catch((e) => this.h.onError(e as Error));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.settleFirst(false);
    this.abort.abort();
    this.cancelWatch?.();
    if (this.sleeping) {
      clearTimeout(this.sleeping.timer);
      this.sleeping.wake();
    }
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleeping = undefined;
        resolve();
      }, ms);
      this.sleeping = { timer, wake: resolve };
    });
  }

  private async run(): Promise<void> {
    let backoff = 0;
    const fail = (e: Error) => {
      if (this.stopped) return;
      this.h.onError(e);
      backoff = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, backoff * 2));
    };
    while (!this.stopped) {
      if (backoff) await this.sleep(backoff * (0.8 + Math.random() * 0.4));
      if (this.stopped) break;
      if (!this.rv) {
        try {
          await this.relist();
        } catch (e) {
          this.settleFirst(false);
          fail(e as Error);
          continue;
        }
      }
      const end = await this.watchOnce();
      if (this.stopped) break;
      if (end.gone) {
        this.rv = '';
        backoff = 0;
      } else if (end.error) {
        fail(end.error);
      } else {
        // A clean close (server timeout) resumes at once; one that delivered
        // nothing right away must not turn into a busy loop.
        backoff = end.events ? 0 : Math.max(backoff, BACKOFF_MIN_MS);
      }
    }
  }

  private async relist(): Promise<void> {
    const list = await this.source.listNodes(this.abort.signal);
    const before = this.signature();
    this.cache = new Map(list.items.filter((n) => n.metadata?.name).map((n) => [n.metadata!.name!, n]));
    this.relisted = true;
    this.rv = list.resourceVersion;
    const first = !this.synced;
    this.synced = true;
    this.settleFirst(true);
    // The first list also reports: changes between the caller's load() and this list would be lost otherwise.
    if (first || this.signature() !== before) this.h.onChange();
  }

  private signature(): string {
    return JSON.stringify([...this.cache.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => [k, relevantKey(n, this.keys)]));
  }

  private watchOnce(): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      let gone = false;
      let statusError: Error | undefined;
      let events = 0;
      let settled = false;
      let controller: AbortController | undefined;
      // Servers end watches after timeoutSeconds; spread the reconnects of many nodes.
      const timeoutSeconds = 300 + Math.floor(Math.random() * 300);
      const done = (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(watchdog);
        this.cancelWatch = undefined;
        controller?.abort();
        if (gone || httpStatus(err) === 410) resolve({ gone: true, events });
        else if (statusError) resolve({ error: statusError, events });
        else if (err && !this.stopped) resolve({ error: this.source.toSourceError(err, { verb: 'watch', resource: 'nodes' }), events });
        else resolve({ events });
      };
      // A connection that died without a FIN (or a connect that hangs) never
      // ends by itself: give up a little after the server would have ended it.
      const watchdog = setTimeout(() => done(null), (timeoutSeconds + 60) * 1000);
      this.cancelWatch = () => done(null);
      const onEvent = (type: string, obj: unknown) => {
        if (settled) return;
        events++;
        const step = watchStep({ type, object: obj }, this.keys);
        let changed = false;
        switch (step.do) {
          case 'relist':
            gone = true;
            return;
          case 'fail':
            statusError = this.source.toSourceError({ code: step.code, body: step.status }, { verb: 'watch', resource: 'nodes' });
            return;
          case 'resume-at':
            this.rv = step.resourceVersion;
            return;
          case 'ignore':
            return;
          case 'upsert': {
            if (step.resourceVersion) this.rv = step.resourceVersion;
            const prev = this.cache.get(step.name);
            this.cache.set(step.name, step.node);
            changed = !prev || relevantKey(prev, this.keys) !== relevantKey(step.node, this.keys);
            break;
          }
          case 'delete':
            if (step.resourceVersion) this.rv = step.resourceVersion;
            changed = this.cache.delete(step.name);
            break;
        }
        if (changed) {
          this.touched.add(step.name);
          this.h.onChange();
        }
      };
      this.watcher
        .watch('/api/v1/nodes', { resourceVersion: this.rv, allowWatchBookmarks: true, timeoutSeconds }, onEvent, done)
        .then((c) => {
          controller = c;
          // Connected after we gave up (stop, watchdog): drop the stream.
          if (settled) c.abort();
        }, done);
    });
  }
}
