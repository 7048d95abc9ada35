// Runs a process in a mount namespace of its own with an empty tmpfs on /run
// (the network namespaces under /run/netns stay visible), so a test can check
// what a command writes to /run/flannel or /run/ovlnet by default without
// ever touching the host's. Read its files back with readPrivate().
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
