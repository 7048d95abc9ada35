// Runs a process in a mount namespace of its own with an empty tmpfs on /run
// (the network namespaces under /run/netns stay visible), so a test can check
// what a command writes to /run/flannel or /run/ovlnet by default without
// ever touching the host's. Read its files back with readPrivate().
import { spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

/** Command and arguments to put before `node ...` (DaemonProcess's wrapper). */
export function privateRunWrapper(tmp: string): string[] {
  // $0 is a scratch mount point: /run/netns is parked there while /run is replaced.
  const script = [
    'set -e',
    'mkdir -p "$0"',
    'mount --rbind /run/netns "$0"',
    'mount -t tmpfs -o size=4m,mode=755 ovlnet-test-run /run',
    'mkdir /run/netns',
    'mount --move "$0" /run/netns',
    'exec "$@"',
  ].join('; ');
  return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, join(tmp, 'netns-parked')];
}

/** The text of `path` as the process `pid` (wrapped above) sees it, or undefined when it does not exist there. */
export async function readPrivate(pid: number, path: string): Promise<string | undefined> {
  const r = await execa('nsenter', ['-t', String(pid), '-m', '--', 'cat', path], { reject: false });
  return r.exitCode === 0 ? String(r.stdout) : undefined;
}

/** The files under `dir` as `pid` sees them (find -type f), sorted. */
export async function listPrivate(pid: number, dir: string): Promise<string[]> {
  const r = await execa('nsenter', ['-t', String(pid), '-m', '--', 'find', dir, '-type', 'f'], { reject: false });
  return String(r.stdout).split('\n').filter(Boolean).sort();
}

/**
 * A private /run that outlives single commands: a holder process (sleep)
 * keeps the mount namespace made by privateRunWrapper alive, and every
 * command of a node — `apply`, `diff`, the daemon, `wg set` — enters it with
 * nsenter. Userspace WireGuard (wireguard-go) keeps its control socket in
 * /run/wireguard of the namespace it started in: the `diff` after an
 * `apply` must see the socket the `apply` made, and three nodes on one host
 * must not share /run/wireguard/flannel-wg.sock. Always stop() in a finally.
 */
export class PrivateRun {
  private constructor(readonly holder: ChildProcess, readonly pid: number, readonly mountNS: string) {}

  /** Starts the holder; `scratch` is a directory for the parked /run/netns mount point. */
  static async start(scratch: string): Promise<PrivateRun> {
    // Fixed script, no caller text in it: /run/wireguard exists as wg-quick expects; the holder dies with the test.
    const holder = spawn(privateRunWrapper(scratch)[0], [...privateRunWrapper(scratch).slice(1),
      'sh', '-c', 'mkdir -p /run/wireguard /run/flannel && exec setpriv --pdeathsig KILL sleep infinity'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    holder.stderr!.on('data', (d) => { err += String(d); });
    const pid = holder.pid;
    if (pid === undefined) throw new Error('could not start the private /run holder (unshare)');
    const own = await readlink('/proc/self/ns/mnt');
    const deadline = Date.now() + 10_000;
    // Ready once the script has exec'd the sleep: every mount is in place then.
    for (;;) {
      const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
      if (comm.trim() === 'sleep') break;
      if (holder.exitCode !== null || Date.now() > deadline) {
        holder.kill('SIGKILL');
        throw new Error(`private /run holder did not start (exit ${holder.exitCode}): ${err}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const mnt = await readlink(`/proc/${pid}/ns/mnt`);
    if (mnt === own) {
      holder.kill('SIGKILL');
      throw new Error('private /run holder shares the test\'s mount namespace');
    }
    return new PrivateRun(holder, pid, mnt);
  }

  /** Command and arguments to put before a command to run it with this /run (CliOptions.prefix, DaemonOptions.wrapper). */
  get prefix(): string[] {
    return ['nsenter', '-t', String(this.pid), '-m', '--'];
  }

  /** Runs argv with this /run; in network namespace `netns` when given (ip netns exec). */
  async run(argv: string[], netns?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const full = [...this.prefix, ...(netns ? ['ip', 'netns', 'exec', netns] : []), ...argv];
    const r = await execa(full[0], full.slice(1), { reject: false, timeout: 30_000 });
    return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  /**
   * The pids of processes in this mount namespace besides the holder (a
   * daemon, a command still running). Not what `ip netns exec` started: it
   * gives its command a mount namespace of its own (a copy, to remount
   * /sys), so wireguard-go is found by its network namespace (killInNetns).
   */
  async members(): Promise<number[]> {
    return (await processesWhere((ns) => ns.mnt === this.mountNS)).filter((p) => p !== this.pid);
  }

  /** Kills what is left in the mount namespace, then the holder; the tmpfs goes with the last process that sees it (run killInNetns first). */
  async stop(): Promise<void> {
    await killAndWait(await this.members());
    if (this.holder.exitCode === null && this.holder.signalCode === null) {
      const gone = new Promise<void>((r) => this.holder.once('exit', () => r()));
      this.holder.kill('SIGKILL');
      await gone;
    }
  }
}

/** Pids of processes whose namespaces satisfy pred (net and mnt as readlink prints them, e.g. `net:[4026532174]`). */
export async function processesWhere(pred: (ns: { net: string; mnt: string }) => boolean): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
  const out: number[] = [];
  for (const pid of pids) {
    try {
      const [net, mnt] = await Promise.all([readlink(`/proc/${pid}/ns/net`), readlink(`/proc/${pid}/ns/mnt`)]);
      if (pred({ net, mnt })) out.push(pid);
    } catch { /* exited meanwhile, or a kernel thread */ }
  }
  return out;
}

/** The namespace id of a named network namespace, as /proc/PID/ns/net reads (`net:[inode]`). */
export async function netnsID(name: string): Promise<string> {
  return `net:[${(await stat(`/run/netns/${name}`)).ino}]`;
}

/**
 * Kills the processes living in these network namespaces. A userspace
 * WireGuard device's process holds its namespace: `ip netns del` alone
 * would leave it (and the namespace) alive for ever.
 */
export async function killInNetns(names: string[]): Promise<number[]> {
  const ids = new Set(await Promise.all(names.map((n) => netnsID(n).catch(() => ''))));
  ids.delete('');
  const pids = await processesWhere((ns) => ids.has(ns.net));
  await killAndWait(pids);
  return pids;
}

async function killAndWait(pids: number[]): Promise<void> {
  for (const p of pids) {
    try { process.kill(p, 'SIGKILL'); } catch { /* already gone */ }
  }
  const deadline = Date.now() + 5000;
  // A killed child of ours stays a zombie until reaped: /proc/PID/ns is gone then, which is all that matters.
  while (pids.some(readlinkOK)) {
    if (Date.now() > deadline) throw new Error(`processes still alive 5 s after SIGKILL: ${pids.join(' ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function readlinkOK(pid: number): boolean {
  try {
    readlinkSync(`/proc/${pid}/ns/mnt`);
    return true;
  } catch {
    return false;
  }
}
