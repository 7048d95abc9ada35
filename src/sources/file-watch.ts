// Watching a cluster file for the daemon. The decisions (when a change is
// complete enough to report) are in file-settle.ts; this does the I/O.
//
// The directory is watched, not the file: editors and config managers
// replace the file (write a new one, rename it over), and Kubernetes swaps a
// ConfigMap volume's `..data` symlink; a watch on the old inode misses both.
// Every event in the directory leads to a stat of the path (symlinks
// followed), and only a changed stat counts, so a ConfigMap swap (the event
// names `..data`, not the file) is seen and an editor's swap file is not.
// The directory itself may be replaced (rm -r and recreated, a remount): it is
// checked every RECHECK_MS and after an event about the directory itself
// (deleted or moved: the event names the directory, or nothing), and watched
// again when it is another directory (or back after being gone). Not after
// every event, as before: a file written beside the cluster file and renamed
// over it is four or more events, each of which stat'ed the directory.
import { statSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { debounceStep, sameStamp, type FileStamp } from './file-settle.js';
import type { WatchHandlers } from './types.js';

export interface FileWatchOptions {
  /** An in-place change is reported once the file was quiet this long. */
  quietMs?: number;
  /** ...or this long after the burst began, whichever comes first. */
  maxWaitMs?: number;
  /** How often the directory is checked for having been replaced. */
  recheckMs?: number;
}

export const DEFAULT_QUIET_MS = 250;
export const DEFAULT_MAX_WAIT_MS = 5000;
export const RECHECK_MS = 1000;
/**
 * Write events are looked at no more often than this (a burst of writes is
 * one stat). A rename event (a file created, deleted or renamed over the old
 * one: how a whole new file arrives) is looked at in the event loop's next
 * turn instead, after the other events of the same read of the watch: a file
 * renamed over the old one is read as soon as its event is looked at, so
 * this wait, and the timer's wake-up, were on every change's way to the kernel.
 */
const EVENT_LOOK_MS = 1;

export function stampOf(path: string): FileStamp | undefined {
  try {
    const s = statSync(path);
    return { dev: s.dev, ino: s.ino, size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs };
  } catch {
    return undefined;
  }
}

export function watchFile(path: string, h: WatchHandlers, o: FileWatchOptions = {}): () => void {
  const quietMs = o.quietMs ?? DEFAULT_QUIET_MS;
  const maxWaitMs = o.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const dir = dirname(path);
  const dirName = basename(dir);
  let closed = false;
  let watcher: FSWatcher | undefined;
  let watched: { dev: number; ino: number } | undefined;
  /** The watch was lost (or never made): say so when it is back. */
  let lost = false;

  let reported = stampOf(path);
  let lastSeen = reported;
  let changedAt: number | undefined;
  let burstStartAt: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let timerDue = Infinity;
  /** An event about the directory itself came since it was last checked. */
  let dirCheckDue = false;
  /** A look in the next turn of the event loop (after a rename event). */
  let soon: NodeJS.Immediate | undefined;

  const schedule = (ms: number) => {
    const due = Date.now() + ms;
    if (timer && timerDue <= due) return;
    if (timer) clearTimeout(timer);
    timerDue = due;
    timer = setTimeout(look, ms);
    timer.unref();
  };

  function look(): void {
    timer = undefined;
    timerDue = Infinity;
    if (dirCheckDue) {
      dirCheckDue = false;
      ensureWatch();
    }
    if (closed) return;
    const now = Date.now();
    const stamp = stampOf(path);
    if (!sameStamp(stamp, lastSeen)) {
      lastSeen = stamp;
      changedAt = now;
      burstStartAt ??= now;
    }
    const step = debounceStep({ now, stamp, reported, changedAt, burstStartAt, quietMs, maxWaitMs });
    if (step.kind === 'wait') {
      schedule(step.ms);
      return;
    }
    changedAt = undefined;
    burstStartAt = undefined;
    if (step.kind === 'fire') {
      reported = stamp;
      h.onChange();
    }
  }

  const fail = (e: Error) => {
    watcher?.close();
    watcher = undefined;
    watched = undefined;
    if (!lost) h.onError(e);
    lost = true;
  };

  /** Watches the directory again if it is another one than the watched one (or none is). */
  function ensureWatch(): void {
    if (closed) return;
    let st: { dev: number; ino: number } | undefined;
    try {
      const s = statSync(dir);
      st = { dev: s.dev, ino: s.ino };
    } catch (e) {
      fail(new Error(`cannot watch ${dir}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (e as Error).message}; watching for it to come back`));
      return;
    }
    if (watcher && watched && watched.dev === st.dev && watched.ino === st.ino) return;
    const recreated = watched !== undefined;
    watcher?.close();
    watcher = undefined;
    try {
      watcher = fsWatch(dir, { persistent: false }, (kind, name) => poke(kind, name));
      watcher.on('error', (e) => fail(e));
      watched = st;
    } catch (e) {
      fail(new Error(`cannot watch ${dir}: ${(e as Error).message}`));
      return;
    }
    if (lost || recreated) h.onNotice?.(`file watch re-established on ${dir}${recreated ? ' (the directory was replaced)' : ''}`);
    lost = false;
    // The file may have changed while nothing watched it.
    schedule(0);
  }

  function poke(kind: string, name: string | null): void {
    // The watch reports its own directory deleted or moved under the directory's name (or none).
    if (name === null || name === dirName) dirCheckDue = true;
    if (kind !== 'rename') {
      schedule(EVENT_LOOK_MS);
      return;
    }
    soon ??= setImmediate(() => {
      soon = undefined;
      // This look replaces whatever look was due: it looks at the same state, sooner.
      if (timer) clearTimeout(timer);
      look();
    });
    soon.unref();
  }

  ensureWatch();
  const recheck = setInterval(ensureWatch, o.recheckMs ?? RECHECK_MS);
  recheck.unref();
  return () => {
    closed = true;
    clearInterval(recheck);
    if (timer) clearTimeout(timer);
    if (soon) clearImmediate(soon);
    watcher?.close();
  };
}
