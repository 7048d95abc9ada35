// One writer per network namespace. A lock file under the run directory
// (/run/ovlnet, or $OVLNET_RUN_DIR) is held with flock(1): the kernel drops a
// flock with its last holder, so a daemon killed with -9 never leaves a stale
// lock. flock runs `cat` on a pipe from this process while holding it: when
// this process ends, however, the pipe closes, cat and flock exit, and the
// lock is free. flock runs cat only once it holds the lock, and cat echoes
// the line written to it at once: that echo is the sign the lock is ours
// (flock's own --verbose goes to a buffered stdout, seen only at its exit).
// Beside the lock, an owner file says who holds it (pid, kind,
// source) so the one refused can name it.
import { statSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { GuardError, HostError, UsageError } from '../errors.js';
import { writeFileAtomic } from './files.js';

export const DEFAULT_RUN_DIR = '/run/ovlnet';
/** flock's exit code when the lock is held (or the wait timed out). */
const HELD = 75;

export type WriterKind = 'daemon' | 'apply';

export interface LockOwner {
  pid: number;
  kind: WriterKind;
  source: string;
  since: string;
}

export function runDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.OVLNET_RUN_DIR || DEFAULT_RUN_DIR;
}

/**
 * The lock's file name for a namespace (undefined: the one this process runs
 * in). Keyed by the namespace itself, its nsfs inode, not by how it was
 * named: `--netns X` and a process started inside X (`ip netns exec X`) see
 * each other's lock, and writers inside two different namespaces never share
 * one. A namespace that cannot be looked up falls back to its name (its
 * write fails anyway).
 */
export function lockFileName(netns: string | undefined, inode: (path: string) => number = (p) => statSync(p).ino): string {
  if (netns !== undefined && (!/^[A-Za-z0-9_.-]{1,200}$/.test(netns) || netns === '.' || netns === '..')) {
    throw new UsageError(`--netns ${JSON.stringify(netns)}: not a network namespace name`);
  }
  try {
    return `net-${inode(netns === undefined ? '/proc/self/ns/net' : `/run/netns/${netns}`)}.lock`;
  } catch {
    return netns === undefined ? 'host.lock' : `netns-${netns}.lock`;
  }
}

/** The sentence naming a holder, for messages. */
export function describeOwner(o: LockOwner | undefined, where: string): string {
  if (!o) return `another ovlnet writer holds ${where}`;
  return `${where} is owned by ovlnet ${o.kind} pid ${o.pid} (source ${o.source}, since ${o.since})`;
}

export class WriterLock {
  constructor(private readonly holder: { stdin: NodeJS.WritableStream | null; pid?: number; kill(): boolean }, private readonly ownerFile: string, private readonly done: Promise<unknown>) {}

  async release(): Promise<void> {
    await rm(this.ownerFile, { force: true });
    this.holder.stdin?.end();
    // cat sees EOF and exits, flock with it; bounded in case either hangs.
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.done, new Promise((r) => { t = setTimeout(r, 2000); })]).finally(() => clearTimeout(t));
    this.holder.kill();
  }
}

type Attempt = { lock: WriterLock } | { held: LockOwner | undefined };

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const o = JSON.parse(await readFile(path, 'utf8')) as LockOwner;
    return typeof o.pid === 'number' && (o.kind === 'daemon' || o.kind === 'apply') ? o : undefined;
  } catch {
    return undefined;
  }
}

async function attempt(lockPath: string, ownerPath: string, waitMs: number, me: LockOwner): Promise<Attempt> {
  const { execa } = await import('execa');
  const wait = waitMs > 0 ? ['-w', (waitMs / 1000).toFixed(3)] : ['-n'];
  const child = execa('flock', ['-o', '-E', String(HELD), ...wait, lockPath, 'cat'], {
    stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', reject: false, encoding: 'utf8', cleanup: true, buffer: false,
  });
  const done = child.then((r) => r, (e) => e);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => { err += d.toString('utf8'); });
  const acquired = await new Promise<boolean>((resolve) => {
    child.stdout?.once('data', () => resolve(true));
    void done.then(() => resolve(false));
    child.stdin?.write('locked\n');
  });
  if (acquired) {
    const lock = new WriterLock(child, ownerPath, done);
    try {
      await writeFileAtomic(ownerPath, JSON.stringify(me) + '\n', 0o600);
    } catch (e) {
      await lock.release();
      throw e;
    }
    return { lock };
  }
  const r = (await done) as { exitCode?: number; code?: string };
  if (r.exitCode === HELD) return { held: await readOwner(ownerPath) };
  if (/permission denied/i.test(err)) throw Object.assign(new Error(err.trim()), { code: 'EACCES' });
  // Without flock(1) (util-linux) there is no lock: a missing tool must not stop a write.
  if (r.code === 'ENOENT') throw Object.assign(new Error('flock not found'), { code: 'ENOFLOCK' });
  throw new HostError(`cannot lock ${lockPath}: ${err.trim() || `flock exited ${r.exitCode}`}`);
}

export interface LockRequest {
  netns: string | undefined;
  kind: WriterKind;
  source: string;
  /** How long to wait for another apply to finish. */
  waitMs: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * Takes the namespace's writer lock. A daemon holding it is never waited
 * for: a GuardError names it at once (the caller offers --force). Another
 * apply is waited for up to waitMs.
 */
export async function takeWriterLock(req: LockRequest): Promise<WriterLock | undefined> {
  const dir = runDir(req.env);
  const name = lockFileName(req.netns);
  const lockPath = join(dir, name);
  const ownerPath = `${lockPath}.owner`;
  const where = req.netns ? `network namespace ${req.netns}` : 'the network namespace this runs in';
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
  } catch (e) {
    // Not root: such a process cannot write the kernel either (the write says so), so there is nothing to guard.
    if ((e as NodeJS.ErrnoException).code === 'EACCES' || (e as NodeJS.ErrnoException).code === 'EPERM') return undefined;
    throw e;
  }
  const me: LockOwner = { pid: process.pid, kind: req.kind, source: req.source, since: new Date().toISOString() };
  try {
    return await lockOrRefuse(req, lockPath, ownerPath, where, me);
  } catch (e) {
    // Not root (see above): the lock directory exists but is not ours to write.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'ENOFLOCK') return undefined;
    throw e;
  }
}

async function lockOrRefuse(req: LockRequest, lockPath: string, ownerPath: string, where: string, me: LockOwner): Promise<WriterLock> {
  const first = await attempt(lockPath, ownerPath, 0, me);
  if ('lock' in first) return first.lock;
  if (first.held?.kind !== 'daemon' && req.waitMs > 0) {
    const second = await attempt(lockPath, ownerPath, req.waitMs, me);
    if ('lock' in second) return second.lock;
    first.held = second.held ?? first.held;
  }
  const owner = first.held;
  const hint = owner?.kind === 'daemon'
    ? `the daemon undoes other writers' changes; stop it first, or pass --force to write anyway (lock: ${lockPath})`
    : `wait for it to finish, or pass --force to go ahead anyway (lock: ${lockPath})`;
  throw new GuardError(`${describeOwner(owner, where)}; nothing was changed`, hint);
}
