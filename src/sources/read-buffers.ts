// Buffers for a daemon's whole-file reads, reused. A daemon's file source
// reads the whole cluster file per change (1 MB at 10 000 nodes); a new
// buffer each time is 1 MB of external memory per change, which V8 counts
// towards its next collections: at 10 000 peers the file daemon ran three
// full collections of its 50 MB heap per 30 changes where the etcd daemon,
// doing the same cycles, ran none (docs/performance-history.md, "The file source
// per change"). Only buffers this made are reused (never a slice of Node's
// shared small-buffer pool), and only ones the caller says nothing reads any
// more.

/** Files smaller than this are read into ordinary buffers (their garbage is small). */
export const MIN_POOLED = 64 * 1024;
const KEPT = 3;

export class ReadBuffers {
  private readonly free: Buffer[] = [];
  private readonly ours = new WeakSet<ArrayBufferLike>();

  /** A buffer of at least `size` bytes, its content undefined. */
  take(size: number): Buffer {
    if (size < MIN_POOLED) return Buffer.allocUnsafe(size);
    const i = this.free.findIndex((b) => b.length >= size);
    if (i >= 0) return this.free.splice(i, 1)[0];
    const b = Buffer.allocUnsafeSlow(size);
    this.ours.add(b.buffer);
    return b;
  }

  /** Gives back a buffer from take() (or a view of one) that nothing reads any more. */
  give(view: Buffer): void {
    const ab = view.buffer;
    if (!this.ours.has(ab) || this.free.some((b) => b.buffer === ab)) return;
    if (this.free.length >= KEPT) this.free.shift();
    this.free.push(Buffer.from(ab));
  }
}
