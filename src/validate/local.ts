// Finding the local node among the validated nodes.
import { NodeError, UsageError } from '../errors.js';
import { parseIP, type IP } from '../model/ip.js';
import type { Node } from '../model/types.js';

export interface LocalSelector {
  /** --node, when given. */
  name?: string;
  /** The host name, tried when --node was not given and the source has names. */
  hostname?: string;
  /** --public-ip, when given. */
  publicIP?: string;
  /** Addresses of this host (or of --netns), tried last. */
  hostIPs?: IP[];
}

export function shortList(names: string[], max = 8): string {
  if (names.length === 0) return '(none)';
  const head = names.slice(0, max).join(', ');
  return names.length > max ? `${head}, … (${names.length - max} more)` : head;
}

export function findLocalNode(nodes: Node[], sel: LocalSelector, namedNodes: boolean, skipped: Map<string, string>): Node {
  const known = () => shortList(nodes.map((n) => n.name));
  const whyNot = (key: string) => (skipped.has(key) ? `: ${skipped.get(key)}` : '');
  if (sel.name !== undefined) {
    const n = nodes.find((x) => x.name === sel.name);
    if (n) return n;
    if (skipped.has(sel.name)) throw new NodeError(`node ${sel.name} is invalid${whyNot(sel.name)}`);
    throw new NodeError(`node ${sel.name} is not in the source; known nodes: ${known()}`, 'pass --node NAME with one of the known nodes');
  }
  if (namedNodes && sel.hostname) {
    const n = nodes.find((x) => x.name === sel.hostname);
    if (n) return n;
  }
  if (sel.publicIP !== undefined) {
    const ip = parseIP(sel.publicIP);
    if (!ip) throw new UsageError(`--public-ip ${sel.publicIP} is not an IP address`);
    const n = nodes.find((x) => x.publicIP.text === ip.text || x.v6?.publicIP.text === ip.text);
    if (n) return n;
    throw new NodeError(`no node with public IP ${ip.text} in the source; known nodes: ${known()}`);
  }
  const mine = new Set((sel.hostIPs ?? []).map((ip) => ip.text));
  let byIP = nodes.filter((x) => mine.has(x.publicIP.text));
  if (byIP.length === 0) byIP = nodes.filter((x) => x.v6 && mine.has(x.v6.publicIP.text));
  if (byIP.length >= 1) return byIP[0];
  // The host name names an entry that validation left out: say why, not just "no match".
  if (namedNodes && sel.hostname && skipped.has(sel.hostname)) throw new NodeError(`node ${sel.hostname} is invalid${whyNot(sel.hostname)}`);
  const tried = namedNodes && sel.hostname ? `host name ${sel.hostname} and this host's addresses` : "this host's addresses";
  throw new NodeError(`cannot tell which node this is: no node matches ${tried}; known nodes: ${known()}`,
    'pass --node NAME or --public-ip IP');
}
