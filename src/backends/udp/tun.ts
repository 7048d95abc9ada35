// Attaching to a TUN device needs the TUNSETIFF ioctl, which Node does not
// offer, and `daemon --netns NS` needs the TUN and the UDP socket created in
// NS, which Node cannot do either. The optional addon built at install
// (native/tun.c) does only that and hands back file descriptors; reads and
// writes go through node:fs and node:dgram.
import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { HostError } from '../../errors.js';
import { packageInfo } from '../../package.js';

interface Addon {
  openTun(name: string, netns?: string): number;
  udpSocket(ip: string, port: number, netns?: string): number;
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

/** The file naming network namespace `name`, as `ip netns` keeps it. */
export function netnsPath(name: string): string {
  return `/run/netns/${name}`;
}

function where(netns: string | undefined): string {
  return netns ? ` in ${netns}` : '';
}

/**
 * Opens `name` as IFF_TUN | IFF_NO_PI, created in the network namespace at
 * `netns` (a path) when given. The device must exist (apply made it
 * persistent): the addon refuses a missing one rather than let TUNSETIFF
 * create a stray device.
 */
export function openTun(name: string, netns?: string): number {
  const a = load();
  try {
    return a.openTun(name, netns);
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'ENODEV') throw new HostError(`cannot attach to ${name}${where(netns)}: no such device (yet)`, 'the next cycle creates it');
    const hint = err.code === 'EPERM' || err.code === 'EACCES' ? 'the forwarder needs CAP_NET_ADMIN (and CAP_SYS_ADMIN with --netns)'
      : err.code === 'EBUSY' ? `another process holds ${name} (flanneld?), or it is not a tun device without packet information`
        : err.code === 'ENOENT' ? (netns ? `no ${netns} or no /dev/net/tun (modprobe tun)` : 'no /dev/net/tun: load the tun module (modprobe tun)') : undefined;
    throw new HostError(`cannot attach to ${name}${where(netns)}: ${err.message}`, hint);
  }
}

/** A UDP socket bound to `ip:port`, created in the network namespace at `netns` (a path) when given; for dgram's bind({ fd }). */
export function udpSocket(ip: string, port: number, netns?: string): number {
  const a = load();
  try {
    return a.udpSocket(ip, port, netns);
  } catch (e) {
    const err = e as Error & { code?: string };
    const hint = err.code === 'EADDRINUSE' ? `another process uses udp port ${port} (flanneld?)`
      : err.code === 'EADDRNOTAVAIL' ? `${ip} is not an address of this node${where(netns)}` : undefined;
    throw new HostError(`cannot bind udp ${ip}:${port}${where(netns)}: ${err.message}`, hint);
  }
}

export function closeFd(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
