// Per-node validation. A bad node is left out with a problem naming the node
// and the field; the rest of the cluster still converges.
import { isAligned, nonUnicastReason, parseIP, parsePrefix, prefixContains, prefixContainsIP } from '../model/ip.js';
import { macFromName, nonUnicastMACReason, parseMAC } from '../model/mac.js';
import type { NetworkConfig, Node, Problem, RawNode } from '../model/types.js';

/** Printable, bounded names: DNS names, etcd lease keys; nothing with spaces or control characters. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,252}$/;

export function describe(raw: RawNode): string {
  const name = typeof raw.name === 'string' && NAME_RE.test(raw.name) ? raw.name : undefined;
  return name ? `node ${name} (${raw.origin})` : raw.origin;
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  // Quote and shorten so a hostile value can not forge log lines. JSON
  // escapes C0 controls only; also escape C1 controls, the Unicode line and
  // paragraph separators and bidi controls, which some viewers honour.
  return JSON.stringify(s.length > 60 ? s.slice(0, 60) + '…' : s)
    .replace(/[\u0080-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export interface NodeCheck {
  node?: Node;
  problem?: Problem;
}

/**
 * Validates one node. `macRequired`: the source publishes VTEP MACs (etcd,
 * Kubernetes) and a vxlan peer without one cannot be reached.
 */
export function validateNode(raw: RawNode, config: NetworkConfig, macRequired: boolean): NodeCheck {
  // describe() only when there is something to report: most nodes are fine.
  const bad = (field: string, message: string): NodeCheck => ({ problem: { subject: `${describe(raw)}.${field}`, message } });

  if (typeof raw.name !== 'string' || !NAME_RE.test(raw.name)) {
    return bad('name', raw.name === undefined ? 'missing' : `${show(raw.name)} is not a valid name (letters, digits, . _ : @ -, at most 253)`);
  }
  if (raw.backendType !== undefined && raw.backendType !== config.backend.type) {
    return bad('backendType', `${show(raw.backendType)} differs from the cluster backend ${config.backend.type}`);
  }
  const publicIP = parseIP(raw.publicIP);
  if (!publicIP) return bad('publicIP', raw.publicIP === undefined ? 'missing' : `${show(raw.publicIP)} is not an IP address`);
  if (publicIP.family !== config.network.family) return bad('publicIP', `${publicIP.text} is not IPv${config.network.family}`);
  const why = nonUnicastReason(publicIP);
  if (why) return bad('publicIP', `${publicIP.text} is not a unicast address (${why})`);
  if (prefixContainsIP(config.network, publicIP)) return bad('publicIP', `${publicIP.text} lies inside the pod network ${config.network.text}`);

  const subnet = parsePrefix(raw.subnet);
  if (!subnet) return bad('subnet', raw.subnet === undefined ? 'missing' : `${show(raw.subnet)} is not a CIDR`);
  if (!isAligned(subnet)) return bad('subnet', `${subnet.text} has host bits set`);
  if (!prefixContains(config.network, subnet) || subnet.len <= config.network.len) {
    return bad('subnet', `${subnet.text} is not a subnet inside the network ${config.network.text}`);
  }
  if (subnet.len > (subnet.family === 4 ? 30 : 126)) return bad('subnet', `${subnet.text} is too small`);

  let vtepMAC;
  if (raw.vtepMAC !== undefined && raw.vtepMAC !== null && raw.vtepMAC !== '') {
    vtepMAC = parseMAC(raw.vtepMAC);
    if (!vtepMAC) return bad('vtepMAC', `${show(raw.vtepMAC)} is not a MAC address`);
    const whyMac = nonUnicastMACReason(vtepMAC);
    if (whyMac) return bad('vtepMAC', `${vtepMAC.text} is not a unicast MAC (${whyMac})`);
  } else if (macRequired && config.backend.type === 'vxlan') {
    return bad('vtepMAC', 'missing: a vxlan peer needs its published VtepMAC');
  } else {
    vtepMAC = macFromName(raw.name);
  }
  return {
    node: { name: raw.name, publicIP, subnet, vtepMAC, origin: raw.origin, expiresAt: raw.expiresAt },
  };
}
