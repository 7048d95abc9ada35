// Per-node validation. A bad node is left out with a problem naming the node
// and the field; the rest of the cluster still converges.
import { isAligned, nonUnicastReason, parseIP, parsePrefix, prefixContains, prefixContainsIP } from '../model/ip.js';
import { macFromName, nonUnicastMACReason, parseMAC } from '../model/mac.js';
import type { Prefix } from '../model/ip.js';
import type { BackendType, NetworkConfig, Node, NodeFamily, Problem, RawNode } from '../model/types.js';
import { backendOf, UNTYPED_BACKEND } from '../backends/registry.js';

/** Printable, bounded names: DNS names, etcd lease keys (dual stack: `A-L&B-L`); nothing with spaces or control characters. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:@&-]{0,252}$/;

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
  const bad = (field: string, message: string): NodeCheck => {
    const value = (raw as unknown as Record<string, unknown>)[field];
    const name = typeof raw.name === 'string' && NAME_RE.test(raw.name) ? raw.name : undefined;
    return { problem: { subject: `${describe(raw)}.${field}`, message, code: 'invalid-node', field, ...(name ? { node: name } : {}), ...(value !== undefined && value !== null ? { value: show(value) } : {}) } };
  };

  if (typeof raw.name !== 'string' || !NAME_RE.test(raw.name)) {
    return bad('name', raw.name === undefined ? 'missing' : `${show(raw.name)} is not a valid name (letters, digits, . _ : @ & -, at most 253)`);
  }
  // flannel's udp backend publishes no type (etcd: no BackendType; Kubernetes:
  // backend-type ""), which its peers read as udp.
  const type = raw.backendType === '' || raw.backendType === null ? UNTYPED_BACKEND : raw.backendType;
  if (type !== undefined && type !== config.backend.type) {
    return bad('backendType', `${show(raw.backendType)} differs from the cluster backend ${config.backend.type}`);
  }
  const v6only = config.network.family === 6;
  const first = checkFamily(raw, raw.name, v6only ? V6_FIELDS : V4_FIELDS, config.network, config.backend.type, macRequired);
  if ('field' in first) return bad(first.field, first.message);
  let v6: NodeFamily | undefined;
  if (config.ipv6) {
    // A dual-stack node without any IPv6 field is reached over IPv4 only (a
    // node not yet upgraded); a half-given or invalid IPv6 part leaves it out.
    const none = [raw.publicIPv6, raw.ipv6Subnet].every((v) => v === undefined || v === null || v === '');
    if (!none) {
      const second = checkFamily(raw, raw.name, V6_FIELDS, config.ipv6.network, config.backend.type, macRequired);
      if ('field' in second) return bad(second.field, second.message);
      v6 = second;
    }
  }
  const node: Node = { name: raw.name, publicIP: first.publicIP, subnet: first.subnet, vtepMAC: first.vtepMAC, origin: raw.origin, expiresAt: raw.expiresAt };
  // The backend reads its own fields of the published BackendData (wireguard's public key).
  const data = v6only ? raw.backendDataV6 ?? raw.backendData : raw.backendData;
  if (data !== undefined && data !== null) node.backendData = data;
  if (v6) {
    if (raw.backendDataV6 !== undefined && raw.backendDataV6 !== null) v6.backendData = raw.backendDataV6;
    node.v6 = v6;
  }
  return { node };
}

interface Fields {
  publicIP: 'publicIP' | 'publicIPv6';
  subnet: 'subnet' | 'ipv6Subnet';
  vtepMAC: 'vtepMAC' | 'vtepMACv6';
}
const V4_FIELDS: Fields = { publicIP: 'publicIP', subnet: 'subnet', vtepMAC: 'vtepMAC' };
const V6_FIELDS: Fields = { publicIP: 'publicIPv6', subnet: 'ipv6Subnet', vtepMAC: 'vtepMACv6' };

/** One address family of a node, checked against that family's pod network. */
function checkFamily(raw: RawNode, name: string, f: Fields, network: Prefix, backend: BackendType, macRequired: boolean): NodeFamily | { field: string; message: string } {
  const bad = (field: string, message: string) => ({ field, message });
  const family = network.family;
  const rawIP = raw[f.publicIP];
  const publicIP = parseIP(rawIP);
  if (!publicIP) return bad(f.publicIP, rawIP === undefined ? 'missing' : `${show(rawIP)} is not an IP address`);
  if (publicIP.family !== family) return bad(f.publicIP, `${publicIP.text} is not IPv${family}`);
  const why = nonUnicastReason(publicIP);
  if (why) return bad(f.publicIP, `${publicIP.text} is not a unicast address (${why})`);
  if (prefixContainsIP(network, publicIP)) return bad(f.publicIP, `${publicIP.text} lies inside the pod network ${network.text}`);

  const rawSubnet = raw[f.subnet];
  const subnet = parsePrefix(rawSubnet);
  if (!subnet) return bad(f.subnet, rawSubnet === undefined ? 'missing' : `${show(rawSubnet)} is not a CIDR`);
  if (!isAligned(subnet)) return bad(f.subnet, `${subnet.text} has host bits set`);
  if (!prefixContains(network, subnet) || subnet.len <= network.len) {
    return bad(f.subnet, `${subnet.text} is not a subnet inside the network ${network.text}`);
  }
  if (subnet.len > (subnet.family === 4 ? 30 : 126)) return bad(f.subnet, `${subnet.text} is too small`);

  let vtepMAC;
  const rawMAC = raw[f.vtepMAC];
  if (rawMAC !== undefined && rawMAC !== null && rawMAC !== '') {
    vtepMAC = parseMAC(rawMAC);
    if (!vtepMAC) return bad(f.vtepMAC, `${show(rawMAC)} is not a MAC address`);
    const whyMac = nonUnicastMACReason(vtepMAC);
    if (whyMac) return bad(f.vtepMAC, `${vtepMAC.text} is not a unicast MAC (${whyMac})`);
  } else if (macRequired && backendOf(backend).needsVtepMAC) {
    return bad(f.vtepMAC, `missing: a vxlan peer needs its published VtepMAC${f.vtepMAC === 'vtepMACv6' ? ' (BackendV6Data)' : ''}`);
  } else {
    // Both devices of a dual-stack node may share the derived MAC: they are separate links.
    vtepMAC = macFromName(name);
  }
  return { publicIP, subnet, vtepMAC };
}
