// The WireGuard host I/O: reading devices with `wg show <dev> dump` and
// writing them: devices kernel first, as wg-quick (`ip link add <dev> type
// wireguard`, else the userspace implementation named by
// WG_QUICK_USERSPACE_IMPLEMENTATION, default wireguard-go, started for the
// device and waited for), and one `wg syncconf <dev> <file>` per device
// for the private key, listen port and every peer. Through host/exec.ts
// (execa, never a shell); no argument vector or message carries a key.
import { randomBytes } from 'node:crypto';
import { unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Batch } from '../../engine/batches.js';
import { HostError, PermissionError } from '../../errors.js';
import { isPermissionDenied, permissionError, run, type DriverTool } from '../../host/exec.js';
import type { Failure } from '../../host/write.js';
import { parsePrefix, type Prefix } from '../../model/ip.js';
import type { WgDeviceEntry, WgDeviceRead, WgPeerEntry } from '../../model/types.js';
import type { WgSyncPayload } from './driver.js';
import { renderConf } from './conf.js';
import { parseDump } from './dump.js';
import { keyFilePath, loadOrCreateKey } from './keyfile.js';
import { publicKeyOf, type Secret } from './keys.js';

export const DEFAULT_USERSPACE = 'wireguard-go';
const WG: DriverTool = { name: 'wg', package: 'wireguard-tools' };
/** How long a started userspace implementation may take to bring up its device and socket. */
const USERSPACE_WAIT_MS = 10_000;

/** Anything shaped like a base64 key, in a message from wg: never shown. */
export function redactKeys(s: string): string {
  return s.replace(/[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=/g, '(key)');
}

/** What `wg show <dev> dump` printed, as entries; undefined when wg can not talk to the device. */
export function deviceRead(dev: string, dumpText: string): WgDeviceRead {
  const s = parseDump(dumpText);
  const peers: WgPeerEntry[] = s.peers.map((p) => ({
    kind: 'wg-peer', dev, publicKey: p.publicKey, ...(p.endpoint ? { endpoint: p.endpoint } : {}),
    allowedIPs: p.allowedIPs.map((a) => parsePrefix(a)).filter((a): a is Prefix => a !== undefined).sort((x, y) => (x.text < y.text ? -1 : 1)),
    keepalive: p.keepalive, ...(p.presharedKey ? { psk: p.presharedKey } : {}),
  }));
  return { listenPort: s.listenPort, ...(s.publicKey ? { publicKey: s.publicKey } : {}), peers };
}

const NOT_WG = /No such device|Unable to access interface|Protocol not supported|Operation not supported/;

/** The devices that exist and answer wg, by name (one `wg show` per device, concurrently). */
export async function readWireguard(netns: string | undefined, devices: readonly string[]): Promise<Map<string, WgDeviceRead>> {
  const out = new Map<string, WgDeviceRead>();
  await Promise.all([...new Set(devices)].map(async (dev) => {
    const r = await run(WG, ['show', dev, 'dump'], { netns });
    if (r.exitCode === 0) {
      out.set(dev, deviceRead(dev, r.stdout));
      return;
    }
    if (/Operation not permitted/.test(r.stderr) && !/No such device/.test(r.stderr)) throw permissionError();
    if (NOT_WG.test(r.stderr)) return;
    throw new HostError(`reading WireGuard device ${dev} failed: ${redactKeys(r.stderr.trim().split('\n')[0] || `wg exited ${r.exitCode}`)}`);
  }));
  return out;
}

export async function writeWireguard(b: Batch, netns: string | undefined): Promise<Failure[]> {
  return b.tool === 'wireguard:sync' ? writeSync(b, netns) : writeLinks(b, netns);
}

/** The first line that says something (wireguard-go starts with a boxed banner), keys redacted. */
const firstLine = (s: string, dflt: string) => redactKeys(s.split('\n').map((l) => l.replace(/[\u2500-\u257f]/g, '').trim()).find(Boolean) || dflt);

/** Devices, one line at a time (created, recreated, set, deleted), in order. */
async function writeLinks(b: Batch, netns: string | undefined): Promise<Failure[]> {
  const failures: Failure[] = [];
  for (const l of b.lines) {
    const c = l.change;
    if (c.kind !== 'wg-device') continue;
    try {
      if (c.action === 'delete' || c.action === 'replace') {
        const name = (c.actual ?? c.desired)!.name;
        const r = await run('ip', ['link', 'del', name], { netns });
        if (r.exitCode !== 0 && !/Cannot find device/.test(r.stderr)) throw new Error(firstLine(r.stderr, `ip exited ${r.exitCode}`));
      }
      if (c.action === 'add' || c.action === 'replace') await createDevice(c.desired, netns);
      if (c.action !== 'delete') await setLink(c.desired!, netns);
    } catch (e) {
      if (e instanceof HostError && /not found in PATH/.test(e.message)) throw e;
      if (isPermissionDenied((e as Error).message)) throw permissionError();
      failures.push({ change: c, line: `wg-link ${l.line}`, message: (e as Error).message });
    }
  }
  return failures;
}

async function setLink(e: WgDeviceEntry, netns: string | undefined): Promise<void> {
  const r = await run('ip', ['link', 'set', e.name, 'mtu', String(e.mtu), e.up ? 'up' : 'down'], { netns });
  if (r.exitCode !== 0) throw new Error(firstLine(r.stderr, `ip exited ${r.exitCode}`));
}

/** The kernel's device, else the userspace implementation's (wg-quick's order). */
export async function createDevice(e: WgDeviceEntry, netns: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<'kernel' | 'userspace'> {
  const r = await run('ip', ['link', 'add', e.name, 'type', 'wireguard'], { netns });
  if (r.exitCode === 0) return 'kernel';
  if (!/Unknown device type|not supported|Operation not supported/i.test(r.stderr)) throw new Error(firstLine(r.stderr, `ip exited ${r.exitCode}`));
  const impl = env.WG_QUICK_USERSPACE_IMPLEMENTATION || DEFAULT_USERSPACE;
  // It daemonizes: the command returns once its child runs; the device and its socket come a moment later.
  // With LOG_LEVEL set, wireguard-go hands its output to the child, whose pipes would then never close.
  const started = await run({ name: impl, ...(impl === DEFAULT_USERSPACE ? { package: 'wireguard-go' } : {}) }, [e.name], { netns, env: { LOG_LEVEL: undefined }, timeoutMs: USERSPACE_WAIT_MS });
  if (started.exitCode !== 0) throw new Error(`the kernel has no WireGuard and ${impl} ${e.name} failed: ${firstLine(started.stderr || started.stdout, `exited ${started.exitCode}`)}`);
  const deadline = Date.now() + USERSPACE_WAIT_MS;
  for (;;) {
    const ok = await run(WG, ['show', e.name, 'listen-port'], { netns });
    if (ok.exitCode === 0) return 'userspace';
    if (Date.now() > deadline) throw new Error(`${impl} ${e.name} started, but the device did not answer wg within ${USERSPACE_WAIT_MS / 1000} s: ${firstLine(ok.stderr, 'no answer')}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Peers whose pre-shared key is to go (a change from one to none). */
export function pskRemovals(b: Pick<Batch, 'lines'>): string[] {
  const out = new Set<string>();
  for (const { change: c } of b.lines) if (c.kind === 'wg-peer' && c.action === 'change' && c.actual?.psk && !c.desired.psk) out.add(c.desired.publicKey);
  return [...out];
}

/** One `wg syncconf` for the device: private key (from the key file), listen port, all peers. */
async function writeSync(b: Batch, netns: string | undefined): Promise<Failure[]> {
  const p = b.payload as WgSyncPayload;
  const fail = (message: string) => b.lines.map((l) => ({ change: l.change, line: `wg syncconf ${p.dev} <config>`, message }));
  let key: Secret;
  const keyFile = keyFilePath(process.env, netns);
  try {
    key = (await loadOrCreateKey(keyFile)).key;
  } catch (e) {
    return fail((e as Error).message);
  }
  const mine = publicKeyOf(key);
  if (p.publicKey && p.publicKey !== mine) {
    return fail(`${keyFile} holds the private key of public key ${mine}, but the source publishes ${p.publicKey} for this node: peers would not accept it (register again, or restore the key file)`);
  }
  const input = renderConf({
    privateKey: key, listenPort: p.listenPort,
    peers: p.peers.map((x) => ({
      publicKey: x.publicKey as never, endpoint: x.endpoint ?? '', allowedIPs: x.allowedIPs.map((a) => a.text), keepalive: x.keepalive,
      ...(x.psk ? { presharedKey: x.psk as unknown as Secret } : {}),
    })),
  });
  // wg opens its config by path, and a child's stdin here is a socket, which
  // /dev/stdin can not open: the config goes to a 0600 file beside the key
  // file (the same filesystem already holds the key), removed at once.
  const conf = join(dirname(keyFile), `.${p.dev}.${process.pid}.${randomBytes(4).toString('hex')}.conf`);
  try {
    await writeFile(conf, input, { mode: 0o600, flag: 'wx' });
    const r = await run(WG, ['syncconf', p.dev, conf], { netns });
    if (r.exitCode !== 0) {
      if (isPermissionDenied(r.stderr)) throw permissionError();
      return fail(firstLine(r.stderr.split(conf).join('<config>'), `wg exited ${r.exitCode}`));
    }
    // syncconf leaves a pre-shared key the config does not mention: removed by name, all in one `wg set`.
    const dropPsk = pskRemovals(b);
    if (!dropPsk.length) return [];
    const s = await run(WG, ['set', p.dev, ...dropPsk.flatMap((k) => ['peer', k, 'preshared-key', '/dev/null'])], { netns });
    return s.exitCode === 0 ? [] : fail(firstLine(s.stderr, `wg exited ${s.exitCode}`));
  } catch (e) {
    if (e instanceof HostError || e instanceof PermissionError) throw e;
    return fail(redactKeys((e as Error).message));
  } finally {
    await unlink(conf).catch(() => undefined);
  }
}
