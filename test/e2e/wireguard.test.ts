// The WireGuard backend end to end: three nodes in network namespaces,
// encrypted by the userspace implementation (wireguard-go; this kernel has no
// WireGuard module). Every node's commands — apply, diff, the daemon, a
// hand-run `wg set` — run in that node's own mount namespace with a private
// tmpfs on /run (test/lib/private-run.ts): wireguard-go's control sockets
// under /run/wireguard would collide between nodes otherwise, and the host's
// /run/wireguard and /run/flannel are never touched. Keys live in the
// topology's temp dir (WIREGUARD_KEY_FILE), their public halves in the
// cluster file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { Capture, type Frame } from '../lib/capture.js';
import { ovlnet, type CliResult } from '../lib/cli.js';
import { DaemonProcess, eventually } from '../lib/daemon.js';
import { clusterYAML, defaultNodes, ipn, ping, withTopology, type NodeSpec, type TestNode } from '../lib/netns.js';
import { killInNetns, netnsID, PrivateRun, processesWhere } from '../lib/private-run.js';

const LISTEN_PORT = 51820;
const DEV = 'flannel-wg';
// "ovlnet-wg-plain!": ping fills its payload with it; it must never cross the underlay in clear.
const PATTERN = Buffer.from('ovlnet-wg-plain!');
const INTERVAL_S = 3;

async function tool(cmd: string, args: string[], input?: string): Promise<string> {
  const r = await execa(cmd, args, { input: input ?? '', reject: false });
  if (r.exitCode !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.exitCode}): ${r.stderr}`);
  return String(r.stdout).trim();
}

/** The prerequisites, loudly: test/run.mjs installs wireguard-tools, wireguard-go and tcpdump when root. */
async function requireTools(): Promise<void> {
  for (const [cmd, pkg] of [['wg', 'wireguard-tools'], ['wireguard-go', 'wireguard-go'], ['tcpdump', 'tcpdump']]) {
    const r = await execa('sh', ['-c', 'command -v "$1"', 'sh', cmd], { reject: false });
    if (r.exitCode !== 0) throw new Error(`${cmd} not found: install ${pkg} (test/run.mjs does so when run as root)`);
  }
}

interface WgNode {
  spec: NodeSpec & { publicKey: string };
  node: TestNode;
  run: PrivateRun;
  keyFile: string;
}

/** The CLI for one node: in its private /run, its key file, its namespace. */
function cli(n: WgNode, src: string, cmd: string, extra: string[] = []): Promise<CliResult> {
  return ovlnet([cmd, '--source', src, '--node', n.spec.name, '--netns', n.node.ns, ...extra], {
    prefix: n.run.prefix, env: { WIREGUARD_KEY_FILE: n.keyFile }, timeoutMs: 120_000,
  });
}

async function wg(n: WgNode, ...args: string[]): Promise<string> {
  const r = await n.run.run(['wg', ...args], n.node.ns);
  if (r.code !== 0) throw new Error(`wg ${args.join(' ')} on ${n.spec.name} failed (${r.code}): ${r.stderr}`);
  return r.stdout.trim();
}

const peers = async (n: WgNode) => (await wg(n, 'show', DEV, 'peers')).split('\n').filter(Boolean).sort();

/** Pings `to` from `from` (from its pod gateway unless `underlay`) with the known payload; true on replies. */
async function patternPing(from: TestNode, to: string, count = 3, underlay = false): Promise<boolean> {
  const r = await execa('ip', ['netns', 'exec', from.ns, 'ping', '-n', '-q', '-c', String(count), '-i', '0.2', '-W', '2',
    ...(underlay ? [] : ['-I', from.podGateway]), '-p', PATTERN.toString('hex'), to], { reject: false });
  return r.exitCode === 0;
}

const carriesPattern = (f: Frame) => f.bytes.includes(PATTERN);

function show(frames: Frame[]): string {
  return frames.map((f) => `${f.etherType.toString(16)} ${f.proto ?? '-'} ${f.src ?? ''}:${f.srcPort ?? ''} > ${f.dst ?? ''}:${f.dstPort ?? ''} len ${f.bytes.length}`).join('\n');
}

/**
 * What of the host's /run/wireguard and /run/flannel this test could touch:
 * the control socket, the default key file (with its mtime) and the
 * namespaces' key and subnet files. (Other tests may write elsewhere there.)
 */
function hostRun(ns: string[]): string {
  const paths = [`/run/wireguard/${DEV}.sock`, '/run/flannel/wgkey', ...ns.map((n) => `/run/flannel/netns/${n}`)];
  return paths.map((p) => `${p}: ${existsSync(p) ? statSync(p).mtimeMs : 'absent'}`).join('\n');
}

test('three nodes over wireguard-go: pods reach each other encrypted, diff is clean, a removed peer is put back', async () => {
  await requireTools();
  let hostBefore = '';
  let leftover: { ns: string[]; ids: string[]; mounts: string[]; tmp: string } | undefined;
  await withTopology(defaultNodes(3), async (t) => {
    const keyDir = join(t.tmp, 'keys');
    mkdirSync(keyDir, { mode: 0o700 });
    const nodes: WgNode[] = [];
    const daemons: DaemonProcess[] = [];
    leftover = { ns: t.nodes.map((n) => n.ns), ids: await Promise.all(t.nodes.map((n) => netnsID(n.ns))), mounts: [], tmp: t.tmp };
    hostBefore = hostRun(leftover.ns);
    try {
      for (const [i, node] of t.nodes.entries()) {
        const keyFile = join(keyDir, `${node.name}.key`);
        const priv = await tool('wg', ['genkey']);
        writeFileSync(keyFile, priv, { mode: 0o600 });
        const scratch = join(t.tmp, `run-${i}`);
        mkdirSync(scratch);
        const run = await PrivateRun.start(scratch);
        leftover.mounts.push(run.mountNS);
        nodes.push({ spec: { ...node, publicKey: await tool('wg', ['pubkey'], priv) }, node, run, keyFile });
      }
      const src = `file:${t.file('cluster.yaml', clusterYAML(nodes.map((n) => n.spec), '{ type: wireguard }'))}`;
      const [a, b, c] = nodes;

      // 1. apply on every node: wireguard-go serves flannel-wg in each namespace, peers configured.
      for (const n of nodes) {
        const r = await cli(n, src, 'apply');
        assert.is(r.code, 0, `apply on ${n.spec.name}: ${r.stdout}\n${r.stderr}`);
      }
      for (const n of nodes) {
        assert.equal(await peers(n), nodes.filter((o) => o !== n).map((o) => o.spec.publicKey).sort(), `${n.spec.name}: one peer per other node`);
        assert.match(await ipn(n.node.ns, 'link', 'show', DEV), /mtu 1440/, 'underlay 1500 minus 60');
      }
      // ip netns exec gives wireguard-go a mount namespace of its own (for /sys), a copy of node-a's private one.
      const inA = await processesWhere((ns) => ns.net === leftover!.ids[0]);
      const comms = await Promise.all(inA.map((pid) => readFile(`/proc/${pid}/comm`, 'utf8').then((c) => c.trim(), () => '')));
      assert.ok(comms.includes('wireguard-go'), `the kernel has no WireGuard: wireguard-go serves node-a's device (${comms.join(' ')})`);
      const socks = await a.run.run(['ls', '/run/wireguard']);
      assert.is(socks.stdout.trim(), `${DEV}.sock`, 'its control socket is in the private /run/wireguard');

      // 2. Every pod gateway reaches every other one (the first packets wait for a handshake).
      for (const from of t.nodes) {
        for (const to of t.nodes.filter((o) => o !== from)) {
          await eventually(() => ping(from, to.podGateway), (ok) => ok, `${from.name} -> ${to.name}'s pod gateway ${to.podGateway}`, 30_000, 200);
        }
      }

      // 3. On the underlay: only UDP between the listen ports, and not one byte of the payload in clear.
      const cap = await Capture.start(a.node.ns, 'eth0');
      let frames: Frame[];
      try {
        assert.ok(await patternPing(a.node, b.node.podGateway), 'node-a -> node-b pod gateway with the known payload');
      } finally {
        frames = await cap.stop();
      }
      const ipv4 = frames.filter((f) => f.etherType === 0x0800);
      const tunnel = ipv4.filter((f) => f.proto === 17 && f.srcPort === LISTEN_PORT && f.dstPort === LISTEN_PORT);
      assert.ok(tunnel.length >= 6, `3 echo requests and 3 replies, encrypted (tcpdump: ${cap.stderr}):\n${show(frames)}`);
      // IGMP to 224.0.0.0/24 is the IPv4 side of the link's own multicast housekeeping (the
      // membership reports a link sends when it comes up, as MLD for IPv6 below): not traffic
      // between the nodes. Seen in CI: "800 2 0.0.0.0: > 224.0.0.22".
      const linkControl = (f: Frame) => f.proto === 2 && /^224\.0\.0\.\d+$/.test(f.dst ?? '');
      assert.equal(ipv4.filter((f) => !tunnel.includes(f) && !linkControl(f)), [], `nothing but WireGuard's UDP on the underlay:\n${show(frames)}`);
      assert.equal(frames.filter((f) => ![0x0800, 0x0806, 0x86dd].includes(f.etherType) || (f.etherType === 0x86dd && ![0, 58].includes(f.proto!))), [],
        `besides: only ARP and IPv6 link control (ND, MLD):\n${show(frames)}`);
      assert.equal(frames.filter(carriesPattern).length, 0, 'the ping payload never crosses the underlay in clear');
      // The same check on a plain underlay ping finds the payload: it can fail.
      const control = await Capture.start(a.node.ns, 'eth0');
      try {
        assert.ok(await patternPing(a.node, b.node.publicIP, 2, true), 'underlay ping');
      } finally {
        assert.ok((await control.stop()).some(carriesPattern), 'a cleartext ping shows its payload in the capture');
      }

      // 4. Converged: diff is clean on every node.
      for (const n of nodes) {
        const d = await cli(n, src, 'diff');
        assert.is(d.code, 0, `diff on ${n.spec.name} after apply:\n${d.stdout}\n${d.stderr}`);
      }

      // 5. A hand-removed peer shows in diff and apply puts it back.
      await wg(a, 'set', DEV, 'peer', b.spec.publicKey, 'remove');
      assert.equal(await peers(a), [c.spec.publicKey]);
      const drift = await cli(a, src, 'diff');
      assert.is(drift.code, 2, `diff sees the missing peer:\n${drift.stdout}\n${drift.stderr}`);
      assert.match(drift.stdout, b.spec.publicKey, drift.stdout);
      const fix = await cli(a, src, 'apply');
      assert.is(fix.code, 0, `${fix.stdout}\n${fix.stderr}`);
      assert.equal(await peers(a), [b.spec.publicKey, c.spec.publicKey].sort());
      assert.is((await cli(a, src, 'diff')).code, 0, 'clean again');

      // 6. The daemons, each in its node's private /run, take over the same devices.
      for (const n of nodes) {
        daemons.push(new DaemonProcess(['--source', src, '--node', n.spec.name, '--netns', n.node.ns, '--log-format', 'json', '--interval', `${INTERVAL_S}s`],
          { wrapper: n.run.prefix, env: { WIREGUARD_KEY_FILE: n.keyFile } }));
      }
      await Promise.all(daemons.map((d) => d.ready(60_000)));
      await wg(c, 'set', DEV, 'peer', a.spec.publicKey, 'remove');
      assert.equal(await peers(c), [b.spec.publicKey]);
      // Back within one interval; the deadline is generous (a loaded machine), the time is reported.
      const took = await eventually(() => peers(c), (p) => p.includes(a.spec.publicKey), 'node-c\'s daemon puts node-a back as a peer', 10 * INTERVAL_S * 1000, 100);
      console.log(`  removed peer back after ${took} ms (interval ${INTERVAL_S} s)`);
      await eventually(() => ping(c.node, a.node.podGateway), (ok) => ok, 'node-c -> node-a again', 30_000, 200);
      for (const n of nodes) assert.is((await cli(n, src, 'diff')).code, 0, `diff on ${n.spec.name} with the daemons running`);

      // 7. Unlike flanneld, a stopped daemon leaves the device and its peers (pods keep talking).
      const stopped = await daemons[0].stop('SIGTERM', 15_000);
      assert.is(stopped.code, 0, daemons[0].log);
      assert.equal(await peers(a), [b.spec.publicKey, c.spec.publicKey].sort(), 'peers stay after the daemon stopped');
      await eventually(() => ping(a.node, b.node.podGateway), (ok) => ok, 'node-a still reaches node-b with its daemon stopped', 15_000, 200);

      // 8. wireguard-go killed under a running daemon whose resync is an hour
      //    away: its TUN goes with it, and the daemon creates the device again
      //    from the kernel's event (peers, address and routes included).
      const watcher = new DaemonProcess(['--source', src, '--node', a.spec.name, '--netns', a.node.ns, '--log-format', 'json', '--interval', '1h', '--log-level', 'debug'],
        { wrapper: a.run.prefix, env: { WIREGUARD_KEY_FILE: a.keyFile } });
      daemons.push(watcher);
      await watcher.ready(60_000);
      const wgGo = async () => {
        const pids = await processesWhere((ns) => ns.net === leftover!.ids[0]);
        const comms = await Promise.all(pids.map((pid) => readFile(`/proc/${pid}/comm`, 'utf8').then((c) => c.trim(), () => '')));
        return pids.filter((_, i) => comms[i] === 'wireguard-go');
      };
      const [old] = await wgGo();
      assert.ok(old, 'wireguard-go serves node-a\'s device');
      const routesBefore = await ipn(a.node.ns, 'route', 'show', 'dev', DEV);
      assert.ok(routesBefore.trim(), 'routes through the device');
      const from = watcher.log.split('\n').length;
      process.kill(old, 'SIGKILL');
      await watcher.waitForMsg(/^kernel drift: repairing/, 30_000, from);
      await eventually(() => peers(a).catch(() => []), (p) => p.length === 2, 'node-a\'s device and both peers back', 60_000, 200);
      const [again] = await wgGo();
      assert.ok(again && again !== old, `a new wireguard-go serves the device (was ${old}, now ${again})`);
      await eventually(() => ping(a.node, c.node.podGateway), (ok) => ok, 'node-a reaches node-c again', 30_000, 200);
      assert.is(await ipn(a.node.ns, 'route', 'show', 'dev', DEV), routesBefore, 'the routes through the device are back');
    } finally {
      for (const d of daemons) await d.kill();
      // wireguard-go holds its namespace: `ip netns del` alone would leave it running.
      await killInNetns(t.nodes.map((n) => n.ns));
      for (const n of nodes) await n.run.stop();
    }
  });
  // Nothing left: no wireguard-go (or anything) in our namespaces, no namespace, no temp dir.
  const left = leftover!;
  const procs = await processesWhere((ns) => left.ids.includes(ns.net) || left.mounts.includes(ns.mnt));
  assert.equal(procs, [], 'no process left in the test\'s namespaces');
  const names = (await tool('ip', ['netns', 'list'])).split('\n').map((l) => l.split(' ')[0]);
  assert.equal(names.filter((n) => left.ns.includes(n)), [], 'no namespace left');
  assert.not.ok(existsSync(left.tmp), 'no temp dir left');
  assert.is(hostRun(left.ns), hostBefore, 'the host\'s /run/wireguard and /run/flannel are untouched');
});

test.run();
