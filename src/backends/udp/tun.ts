// Attaching to a TUN device needs the TUNSETIFF ioctl, which Node does not
// offer. The optional addon built at install (native/tun.c) does only that
// and hands back a file descriptor; reads and writes go through node:fs.
import { closeSync, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { HostError } from '../../errors.js';
import { packageInfo } from '../../package.js';

interface Addon {
  openTun(name: string): number;
}

/** Under the package root, where node-gyp puts build/ (found from dist/src/backends/udp/ and from the bundle alike). */
const ADDON_PATH = 'build/Release/ovlnet_tun.node';

let addon: Addon | undefined;
let loadError: string | undefined;

function load(): Addon {
  if (addon) return addon;
  if (loadError === undefined) {
    try {
      addon = createRequire(import.meta.url)(join(packageInfo().root, ADDON_PATH)) as Addon;
      return addon;
    } catch (e) {
      loadError = (e as Error).message.split('\n')[0];
    }
  }
  throw new HostError(`the udp backend needs ovlnet's TUN addon, which is not built (${loadError})`,
    'install a C compiler, make and python3, then run "npm run build:native" (or reinstall ovlnet); vxlan and host-gw do not need it');
}

/** Whether the addon is present (for messages and tests). */
export function tunAddonAvailable(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

/** Opens `name` as IFF_TUN | IFF_NO_PI; the device should exist (persistent) so nothing is created here by accident. */
export function openTun(name: string): number {
  const a = load();
  // TUNSETIFF creates a missing device (not persistent, gone with us): only attach to the one apply made.
  if (!existsSync(`/sys/class/net/${name}`)) throw new HostError(`cannot attach to ${name}: no such device (yet)`, 'the next cycle creates it');
  try {
    return a.openTun(name);
  } catch (e) {
    const err = e as Error & { code?: string };
    const hint = err.code === 'EPERM' || err.code === 'EACCES' ? 'the forwarder needs CAP_NET_ADMIN'
      : err.code === 'EBUSY' ? `another process holds ${name} (flanneld?), or it is not a tun device without packet information`
        : err.code === 'ENOENT' ? 'no /dev/net/tun: load the tun module (modprobe tun)' : undefined;
    throw new HostError(`cannot attach to ${name}: ${err.message}`, hint);
  }
}

export function closeFd(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** The inode of a network namespace file, to tell whether we run inside it. */
export function netnsInode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}
