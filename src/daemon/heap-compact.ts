// Hands back to the system the V8 heap pages the daemon's start left behind.
//
// The first cycle reads the whole source and the whole kernel and plans every
// peer: megabytes of garbage spread over the old generation's pages, among
// the objects the daemon keeps. V8's own collections free that garbage but
// keep the fragmented pages (at 10 000 vxlan peers ~48 MB of old space for
// ~40 MB live), and its memory reducer, which would compact them, runs only
// once the daemon has been idle 8 s after a full GC, which a daemon
// receiving events may never be. Two forced full collections do it: the
// first frees the garbage, the second (with the pages now mostly empty)
// evacuates and releases them: ~10 MB of RSS at 10 000 peers
// (docs/performance-history.md, "Daemon memory, sixth round"). A single forced collection returns almost
// nothing. Node offers no other way to ask for one than V8's gc extension,
// which a flag set at run time installs in contexts made after it.
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface Compacted {
  ms: number;
  /** V8's heap (all spaces) before and after, in bytes. */
  heapBefore: number;
  heapAfter: number;
}

/**
 * Two forced full garbage collections, synchronously (the event loop waits:
 * ~0.1-0.4 s at 10 000 peers, so only where a pause is due anyway, once
 * after the start has converged). The gc function is not kept: its context
 * would stay alive for a call made once.
 */
export function compactHeap(): Compacted {
  const t0 = performance.now();
  const heapBefore = getHeapStatistics().total_heap_size;
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return { ms: performance.now() - t0, heapBefore, heapAfter: getHeapStatistics().total_heap_size };
}
