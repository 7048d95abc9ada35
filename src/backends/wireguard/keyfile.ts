// The node's WireGuard private key file, as flannel keeps it:
// /run/flannel/wgkey unless WIREGUARD_KEY_FILE names another, the base64 key
// without a newline. Created once when missing (mode 0600, in a directory
// made 0755 if needed; written to a temporary name and linked into place so
// a crash never leaves a half-written key and two starters never both win),
// then reused, so the public key the cluster knows survives restarts. The key
// itself never appears in a message.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError, UsageError } from '../../errors.js';
import { generatePrivateKey, Secret } from './keys.js';

export const DEFAULT_KEY_FILE = '/run/flannel/wgkey';

/**
 * The key file flannel would use: WIREGUARD_KEY_FILE, else /run/flannel/wgkey.
 * A node in a network namespace (--netns) is not the host: its default key
 * goes beside the host's, scoped by the namespace's name as subnet.env is
 * (/run/flannel/netns/<ns>/wgkey), so it never takes the host's identity.
 */
export function keyFilePath(env: NodeJS.ProcessEnv = process.env, netns?: string): string {
  if (env.WIREGUARD_KEY_FILE) return env.WIREGUARD_KEY_FILE;
  if (netns === undefined) return DEFAULT_KEY_FILE;
  if (!netns || netns.includes('/') || netns === '.' || netns === '..' || netns.includes('\0')) {
    throw new UsageError(`--netns ${JSON.stringify(netns)}: not a network namespace name`);
  }
  return `/run/flannel/netns/${netns}/wgkey`;
}

export interface LoadedKey {
  key: Secret;
  created: boolean;
  /** Set when the file is readable by group or others (flannel writes 0400; we keep it but say so). */
  looseMode?: number;
}

export async function loadOrCreateKey(path: string, generate: () => Secret = () => generatePrivateKey()): Promise<LoadedKey> {
  const existing = await readKey(path);
  if (existing) return existing;
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const key = generate();
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(key.reveal());
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, path);
  } catch (e) {
    // Another starter created it first: use theirs, so both agree.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const theirs = await readKey(path);
    if (theirs) return theirs;
    throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  return { key, created: true };
}

async function readKey(path: string): Promise<LoadedKey | undefined> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`WireGuard key file ${path}: ${(e as Error).message}`);
  }
  if (!st.isFile()) throw new ConfigError(`WireGuard key file ${path} is not a regular file`, 'point WIREGUARD_KEY_FILE at a file holding one base64 private key (wg genkey)');
  const key = Secret.parse(await readFile(path, 'utf8'));
  if (!key) {
    throw new ConfigError(`WireGuard key file ${path} does not hold a base64 WireGuard private key`, `replace it with the output of "wg genkey" (mode 0600), or remove it to have a new key generated (the node's public key then changes)`);
  }
  const loose = st.mode & 0o077;
  return { key, created: false, looseMode: loose ? st.mode & 0o777 : undefined };
}
