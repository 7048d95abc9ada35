// Host checks: the kernel settings and firewall rules an overlay needs that
// are not ovlnet's objects (so `diff` can not see them). Pure: recorded
// facts in, check results out.
import { shouldDisableTxOffload } from '../../backends/vxlan/offload.js';
import type { IP, Prefix } from '../../model/ip.js';
import { fail, pass, warn, type CheckResult } from '../types.js';
import { evaluateChain, type FilterTable, type Packet } from './netfilter-eval.js';

export interface HostFacts {
  /** The pod network(s): the cluster network, and the IPv6 one in dual stack. */
  networks: Prefix[];
  /** This node's pod subnet (first family). */
  localSubnet: Prefix;
  /** sysctl values by name (`net.ipv4.ip_forward`, `net.ipv4.conf.flannel/1.rp_filter`); undefined = absent. */
  sysctl: Record<string, string | undefined>;
  /** The IPv4 filter table (iptables-save); undefined when it could not be read (see filterError). */
  filter?: FilterTable;
  filterError?: string;
  /** The IPv6 one (ip6tables-save), read only when a pod network or the public IP is IPv6. */
  filter6?: FilterTable;
  filter6Error?: string;
  backend: { type: string; port?: number; device?: string; overhead?: number };
  localPublicIP: IP;
  /** Dual stack: this node's IPv6 public IP (an IPv6 address outside the pod networks). */
  localPublicIP6?: IP;
  peers: Array<{ name: string; publicIP: IP }>;
  underlay: { dev: string; exists: boolean; up: boolean; carrier: boolean; mtu: number };
  /** The overlay device as the kernel has it (absent: not created). */
  /** `carrier`: a TUN device has it only while a process holds it open (the udp forwarder). */
  overlay?: { dev: string; mtu: number; up: boolean; carrier?: boolean };
  kernelRelease: string;
  /** tx-checksum-ip-generic of the vxlan device; undefined when not read (kernel not affected). */
  txChecksum?: boolean;
  /** cni0's addresses; undefined when there is no cni0. */
  cni0?: Prefix[];
  /** The address cni0 should hold: the subnet's first host address with the subnet length. */
  gateway: Prefix;
}

/** The sysctl name as `sysctl` prints it: a device name's dots become slashes. */
export function devSysctl(dev: string, key: string): string {
  return `net.ipv4.conf.${dev.replace(/\./g, '/')}.${key}`;
}

export function checkForwarding(f: HostFacts): CheckResult[] {
  const out: CheckResult[] = [];
  const keys = [['net.ipv4.ip_forward', 4], ...(f.networks.some((n) => n.family === 6) ? [['net.ipv6.conf.all.forwarding', 6]] : [])] as const;
  for (const [key, fam] of keys) {
    if (!f.networks.some((n) => n.family === fam)) continue;
    const v = f.sysctl[key];
    const name = fam === 4 ? 'host.ip_forward' : 'host.ip6_forward';
    if (v === '1') out.push(pass(name, `${key} = 1`));
    else if (v === undefined) out.push(warn(name, `${key} could not be read`));
    else out.push(fail(name, `${key} = ${v}: this host does not forward pod traffic`, `sysctl -w ${key}=1 (and set it in /etc/sysctl.d/ to survive a reboot)`));
  }
  return out;
}

export function checkRpFilter(f: HostFacts): CheckResult {
  const all = Number(f.sysctl['net.ipv4.conf.all.rp_filter'] ?? 0);
  const strict: string[] = [];
  for (const dev of [f.overlay?.dev, f.cni0 ? 'cni0' : undefined]) {
    if (!dev) continue;
    const v = f.sysctl[devSysctl(dev, 'rp_filter')];
    if (v === undefined) continue;
    // The kernel uses the larger of "all" and the device's value.
    if (Math.max(all, Number(v)) === 1) strict.push(dev);
  }
  if (strict.length) {
    return warn('host.rp_filter', `strict reverse-path filtering (rp_filter 1) on ${strict.join(', ')}: asymmetric pod traffic is dropped`,
      `sysctl -w ${strict.map((d) => `${devSysctl(d, 'rp_filter')}=2`).join(' ')} net.ipv4.conf.all.rp_filter=2`);
  }
  return pass('host.rp_filter', 'no strict reverse-path filtering on the overlay or cni0');
}

export function checkBridgeNf(f: HostFacts): CheckResult {
  const name = 'host.bridge_nf_call_iptables';
  if (!f.cni0) return pass(name, 'no cni0 bridge');
  const v = f.sysctl['net.bridge.bridge-nf-call-iptables'];
  if (v === '1') return pass(name, 'net.bridge.bridge-nf-call-iptables = 1');
  const hint = 'modprobe br_netfilter; sysctl -w net.bridge.bridge-nf-call-iptables=1';
  if (v === undefined) return warn(name, 'br_netfilter is not loaded: Service traffic between pods on cni0 bypasses iptables', hint);
  return warn(name, `net.bridge.bridge-nf-call-iptables = ${v}: Service traffic between pods on cni0 bypasses iptables`, hint);
}

/** The filter table of a family, the tool that prints it, and why it is missing. */
function tableOf(f: HostFacts, family: 4 | 6): { table?: FilterTable; error?: string; tool: string } {
  return family === 4 ? { table: f.filter, error: f.filterError, tool: 'iptables' } : { table: f.filter6, error: f.filter6Error, tool: 'ip6tables' };
}

/**
 * Forwarded pod traffic both ways: pod network to "elsewhere" and back.
 * Elsewhere is this node's public IP of that family: an address outside
 * every pod network that a rule can be judged against (an unknown address
 * would leave every -s/-d rule undecided).
 */
export function checkForwardChain(f: HostFacts): CheckResult {
  const name = 'host.forward';
  const dropped: string[] = [];
  const unsure: string[] = [];
  const policies: string[] = [];
  const hints: string[] = [];
  for (const n of f.networks) {
    const { table, error, tool } = tableOf(f, n.family);
    hints.push(`${tool} -A FORWARD -s ${n.text} -j ACCEPT; ${tool} -A FORWARD -d ${n.text} -j ACCEPT`);
    if (!table) {
      unsure.push(`${n.text}: the ${tool} FORWARD chain could not be read${error ? ` (${error})` : ''}`);
      continue;
    }
    policies.push(`${tool} FORWARD policy ${table.policies.get('FORWARD') ?? 'ACCEPT'}`);
    const ip = n.family === f.localPublicIP.family ? f.localPublicIP : f.localPublicIP6?.family === n.family ? f.localPublicIP6 : undefined;
    const elsewhere = ip ? hostPrefix(ip) : undefined;
    for (const [dir, pkt] of [[`from ${n.text}`, { src: n, dst: elsewhere }], [`to ${n.text}`, { dst: n, src: elsewhere }]] as Array<[string, Packet]>) {
      const v = evaluateChain(table, 'FORWARD', pkt);
      if (v.verdict === 'accept') continue;
      (v.uncertain.length ? unsure : dropped).push(`${dir} (${v.by}${v.uncertain.length ? `; unless ${v.uncertain[0]}` : ''})`);
    }
  }
  const hint = hints.join('; ');
  if (dropped.length) return fail(name, `forwarded pod traffic is dropped: ${dropped.join(', ')}`, hint);
  if (unsure.length) return warn(name, `pod traffic may be dropped: ${unsure.join(', ')}`, hint);
  return pass(name, `pod traffic is forwarded both ways (${policies.join(', ').replace(/^iptables /, '')})`);
}

export function checkInputPort(f: HostFacts): CheckResult[] {
  const port = f.backend.port;
  if (port === undefined) return [];
  // Encapsulated packets arrive to the public IP: judged in its family's table (and, in a
  // dual-stack vxlan cluster, to the IPv6 public IP in ip6tables' too).
  const v6 = f.backend.type === 'vxlan' && f.localPublicIP6 ? inputVerdicts(f, port, f.localPublicIP6, []) : [];
  return [...inputVerdicts(f, port, f.localPublicIP, f.peers), ...v6];
}

function inputVerdicts(f: HostFacts, port: number, local: IP, peers: HostFacts['peers']): CheckResult[] {
  const name = 'host.input';
  const { table, error, tool } = tableOf(f, local.family);
  const chain = `${tool === 'ip6tables' ? 'ip6tables ' : ''}INPUT`;
  if (!table) return [warn(name, `the ${tool} INPUT chain could not be read${error ? `: ${error}` : ''}`)];
  const base: Packet = { proto: 'udp', dport: port, dst: hostPrefix(local), inIface: f.underlay.dev };
  const hint = `${tool} -I INPUT -p udp --dport ${port} -j ACCEPT (or open UDP ${port} between the nodes' public IPs in your firewall)`;
  const any = evaluateChain(table, 'INPUT', base);
  if (any.verdict === 'drop' && !any.uncertain.length) return [fail(name, `${chain} drops the backend's UDP port ${port}: ${any.by}`, hint)];
  if (!any.uncertain.length) return [pass(name, `${chain} accepts UDP ${port} (${any.by})`)];
  // Rules that depend on the sender: judge them for each peer.
  const out: CheckResult[] = [];
  for (const p of peers) {
    if (p.publicIP.family !== local.family) continue;
    const v = evaluateChain(table, 'INPUT', { ...base, src: hostPrefix(p.publicIP) });
    if (v.verdict === 'drop' && !v.uncertain.length) out.push(fail(name, `${chain} drops UDP ${port} from ${p.publicIP.text}: ${v.by}`, hint, { peer: p.name }));
  }
  if (out.length) return out;
  if (any.verdict === 'drop') return [warn(name, `UDP ${port} may be dropped by ${chain}: ${any.by}, unless ${any.uncertain[0]}`, hint)];
  return [pass(name, `${chain} accepts UDP ${port} (${any.by})`)];
}

function hostPrefix(ip: IP): Prefix {
  const len = ip.family === 4 ? 32 : 128;
  return { family: ip.family, addr: ip, len, text: `${ip.text}/${len}` };
}

export function checkUnderlay(f: HostFacts): CheckResult {
  const u = f.underlay;
  const name = 'host.underlay';
  if (!u.exists) return fail(name, `the underlay device ${u.dev} does not exist`, 'ip link show; name the device with --iface');
  if (!u.up) return fail(name, `${u.dev} is down`, `ip link set ${u.dev} up`);
  if (!u.carrier) return fail(name, `${u.dev} has no carrier (cable, switch port or virtual NIC down)`, `ip link show ${u.dev}; ethtool ${u.dev}`);
  return pass(name, `${u.dev} is up with carrier, MTU ${u.mtu}`);
}

export function checkOverlayDevice(f: HostFacts): CheckResult[] {
  const dev = f.backend.device;
  if (!dev) return [];
  const name = 'host.overlay';
  if (!f.overlay) return [fail(name, `the overlay device ${dev} does not exist: nothing reaches the peers`, 'ovlnet apply (or start ovlnet daemon)')];
  if (!f.overlay.up) return [fail(name, `${dev} is down`, `ovlnet apply (or: ip link set ${dev} up)`)];
  if (f.backend.type === 'udp' && f.overlay.carrier === false) {
    return [fail(name, `no forwarder holds ${dev}: packets to the peers go nowhere`, 'the udp backend needs ovlnet daemon running inside this network namespace (ip netns exec NS ovlnet daemon ...)')];
  }
  return [pass(name, `${dev} is up`)];
}

export function checkMTU(f: HostFacts): CheckResult[] {
  const o = f.overlay;
  if (!o || f.backend.overhead === undefined || !f.underlay.exists) return [];
  const room = f.underlay.mtu - f.backend.overhead;
  if (o.mtu > room) {
    return [fail('host.mtu', `${o.dev} MTU ${o.mtu} + ${f.backend.overhead} bytes of encapsulation > ${f.underlay.dev} MTU ${f.underlay.mtu}: large packets are dropped`,
      `ovlnet apply sets ${o.dev} to MTU ${room}; pods get it from subnet.env (restart them)`)];
  }
  return [pass('host.mtu', `${o.dev} MTU ${o.mtu} fits ${f.underlay.dev} MTU ${f.underlay.mtu}`)];
}

export function checkTxOffload(f: HostFacts): CheckResult[] {
  if (f.backend.type !== 'vxlan' || !f.overlay) return [];
  const name = 'host.tx_offload';
  if (!shouldDisableTxOffload('auto', f.kernelRelease)) return [pass(name, `kernel ${f.kernelRelease} is not affected by the vxlan checksum bug`)];
  if (f.txChecksum === true) {
    return [warn(name, `kernel ${f.kernelRelease} (< 5.7) with tx-checksum-ip-generic on ${f.overlay.dev}: NATed pod traffic can stall for 63 s`,
      `ovlnet apply --disable-tx-offload auto (or: ethtool -K ${f.overlay.dev} tx-checksum-ip-generic off)`)];
  }
  if (f.txChecksum === undefined) return [warn(name, `kernel ${f.kernelRelease} (< 5.7): the offload state of ${f.overlay.dev} could not be read`, `ethtool -k ${f.overlay.dev} | grep tx-checksum-ip-generic`)];
  return [pass(name, `tx-checksum-ip-generic is off on ${f.overlay.dev}`)];
}

export function checkCni0(f: HostFacts): CheckResult {
  const name = 'host.cni0';
  if (!f.cni0) return pass(name, 'no cni0 bridge yet (the CNI plugin creates it with the first pod)');
  const fam = f.cni0.filter((a) => a.family === f.gateway.family);
  if (fam.some((a) => a.text === f.gateway.text)) {
    const others = fam.filter((a) => a.text !== f.gateway.text);
    if (!others.length) return pass(name, `cni0 holds the gateway ${f.gateway.text}`);
    return warn(name, `cni0 holds ${f.gateway.text} and also ${others.map((a) => a.text).join(', ')}`, `ip addr del ${others[0].text} dev cni0`);
  }
  const held = fam.length ? `holds ${fam.map((a) => a.text).join(', ')}` : 'holds no address';
  return fail(name, `cni0 ${held}, not this node's gateway ${f.gateway.text}: pods get addresses outside ${f.localSubnet.text}`,
    `ip addr flush dev cni0; ip addr add ${f.gateway.text} dev cni0 (pods created meanwhile need a restart)`);
}

export function hostChecks(f: HostFacts): CheckResult[] {
  return [
    ...checkForwarding(f), checkRpFilter(f), checkBridgeNf(f), checkForwardChain(f), ...checkInputPort(f),
    checkUnderlay(f), ...checkOverlayDevice(f), ...checkMTU(f), ...checkTxOffload(f), checkCni0(f),
  ];
}

/** The failed host checks that stop every overlay probe (so peer failures are this host's), not one peer's. */
export function localBlockers(results: CheckResult[]): CheckResult[] {
  return results.filter((r) => r.status === 'fail' && !r.peer && (r.blocksOverlay || ['host.input', 'host.underlay', 'host.overlay', 'host.mtu'].includes(r.name)));
}
