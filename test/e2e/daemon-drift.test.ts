// Kernel drift repaired from kernel events, end to end: a daemon whose resync
// is an hour away converges, then a hand-deleted route, neighbour, fdb entry
// and vxlan device, and the device set down, each come back (only the kernel's events can bring them
// back that soon), and a loop deleting the same route makes the daemon give
// up on it with one warning and a metric instead of fighting it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { DaemonProcess, eventually, httpGet } from '../lib/daemon.js';
import { clusterYAML, defaultNodes, ipn, withTopology, type Topology } from '../lib/netns.js';

const specs = defaultNodes(3);
const [A, , C] = specs;
/** Generous: a loaded 2-core machine; the bench measures the real latency. */
const BACK_WITHIN_MS = 10_000;

async function kernelState(ns: string): Promise<string> {
  const sorted = (s: string) => s.split('\n').sort().join('\n');
  const parts = await Promise.all([
    execa('ip', ['-n', ns, 'link', 'show', 'flannel.1'], { reject: false })
      .then((r) => (r.exitCode !== 0 ? 'no device' : /<[^>]*\bUP\b/.test(r.stdout) ? 'flannel.1 up' : 'flannel.1 down')),
    ipn(ns, 'route', 'show', 'proto', '244'),
    ipn(ns, 'neigh', 'show', 'nud', 'permanent').then(sorted),
    execa('bridge', ['-n', ns, 'fdb', 'show', 'dev', 'flannel.1'], { reject: false }).then((r) => r.stdout.split('\n').filter((l) => / dst /.test(l)).sort().join('\n')),
  ]);
  return parts.join('\n---\n');
}

function metricValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Monitors still running for namespace `ns` (none may outlive the daemon). */
async function monitorsOf(ns: string): Promise<string[]> {
  const r = await execa('pgrep', ['-a', '-f', '--', `(ip|bridge) -n ${ns} .*monitor`], { reject: false });
  if (r.exitCode !== 0 && r.exitCode !== 1) throw new Error(`pgrep failed: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean);
}

async function withDaemon(fn: (t: Topology, d: DaemonProcess) => Promise<void>, extra: string[] = []): Promise<void> {
  await withTopology([A], async (t) => {
    const file = join(t.tmp, 'cluster.yaml');
    writeFileSync(file, clusterYAML(specs));
    const ns = t.nodes[0].ns;
    const d = new DaemonProcess([
      '--source', `file:${file}`, '--node', A.name, '--netns', ns, '--log-format', 'json', '--subnet-file', '',
      '--metrics-addr', '127.0.0.1:0', '--interval', '1h', '--probe-interval', '0', '--iptables-resync', '0', '--log-level', 'debug', ...extra,
    ]);
    try {
      await fn(t, d);
    } finally {
      await d.kill();
    }
    // The monitors die with the daemon, even when it is killed (SIGKILL above).
    await eventually(() => monitorsOf(ns), (l) => l.length === 0, 'no kernel monitor left running', 5000, 100);
  });
}

test('with a resync an hour away, a hand-deleted route, neighbour, fdb entry and vxlan device, and the device set down, come back from kernel events', async () => {
  await withDaemon(async (t, d) => {
    await d.ready();
    const ns = t.nodes[0].ns;
    const want = await kernelState(ns);
    const cMAC = /^198\.18\.2\.0 dev flannel\.1 lladdr (\S+)/m.exec(want)![1];
    const cases: Array<[string, () => Promise<unknown>]> = [
      ['route', () => ipn(ns, 'route', 'del', '198.18.1.0/24')],
      ['neighbour', () => ipn(ns, 'neigh', 'del', '198.18.2.0', 'dev', 'flannel.1')],
      ['fdb entry', () => execa('bridge', ['-n', ns, 'fdb', 'del', cMAC, 'dev', 'flannel.1', 'dst', C.publicIP, 'self'])],
      // The kernel drops the device's IPv4 routes without an event: the repair reads the host.
      ['vxlan device set down', () => ipn(ns, 'link', 'set', 'flannel.1', 'down')],
      ['vxlan device', () => ipn(ns, 'link', 'del', 'flannel.1')],
    ];
    for (const [what, remove] of cases) {
      const from = d.lines.length;
      // Whether it can be seen gone depends on how fast the repair is: the log line says it was.
      await remove();
      await eventually(() => kernelState(ns), (s) => s === want, `${what} back`, BACK_WITHIN_MS, 100);
      await d.waitForMsg(/^kernel drift: repairing$/, BACK_WITHIN_MS, from);
    }
    const url = await d.metricsURL();
    const m = (await httpGet(`${url}/metrics`)).body;
    for (const kind of ['route', 'neigh', 'fdb', 'link']) {
      assert.ok((metricValue(m, `ovlnet_kernel_repairs_total{kind="${kind}"}`) ?? 0) >= 1, `a ${kind} repair counted\n${m}`);
    }
    assert.is(metricValue(m, 'ovlnet_kernel_repairs_given_up_total{kind="route"}'), 0);
    // Only the start and the repairs ran: the resync is an hour away.
    assert.not.ok(d.lines.some((l) => Array.isArray(l.reason) && (l.reason as string[]).includes('resync')), d.log);
  });
});

/** The device's attributes a hand can change in place: MTU, MAC, vxlan local address. */
async function deviceAttrs(ns: string): Promise<string> {
  const r = await execa('ip', ['-n', ns, '-d', '-j', 'link', 'show', 'flannel.1'], { reject: false });
  if (r.exitCode !== 0) return 'no device';
  const [l] = JSON.parse(r.stdout) as Array<{ mtu: number; address: string; linkinfo?: { info_data?: { local?: string } } }>;
  return `mtu ${l.mtu} address ${l.address} local ${l.linkinfo?.info_data?.local}`;
}

test('with a resync an hour away, the device deleted is written again first (before its entries are planned), from the model', async () => {
  await withDaemon(async (t, d) => {
    await d.ready();
    const ns = t.nodes[0].ns;
    const want = await kernelState(ns);
    // The kernel reports the device down, then its flush, then its deletion: modelled, not a host read.
    const from = d.lines.length;
    await ipn(ns, 'link', 'del', 'flannel.1');
    await eventually(() => kernelState(ns), (s) => s === want, 'vxlan device back', BACK_WITHIN_MS, 100);
    const stages = await d.waitFor((l) => l.msg === 'cycle stages' && typeof l.device_ms === 'number', 'the device written first', BACK_WITHIN_MS, from);
    assert.is(stages.host, 'model', JSON.stringify(stages));
  });
});

test('with a resync an hour away, the device\'s MTU, MAC and vxlan local address changed by hand are set back from kernel events', async () => {
  await withDaemon(async (t, d) => {
    await d.ready();
    const ns = t.nodes[0].ns;
    const want = await kernelState(ns);
    const attrs = await deviceAttrs(ns);
    let from: number;
    const cases: Array<[string, string[]]> = [
      ['MTU', ['link', 'set', 'flannel.1', 'mtu', '1400']],
      // The kernel flushes the device's neighbours with a new MAC: they come back with it.
      ['MAC address', ['link', 'set', 'flannel.1', 'address', '02:00:00:00:99:01']],
      // Only re-creating the device sets it back (as for a changed VNI or port).
      ['vxlan local address', ['link', 'set', 'flannel.1', 'type', 'vxlan', 'local', '192.0.2.250']],
    ];
    for (const [what, args] of cases) {
      from = d.lines.length;
      await ipn(ns, ...args);
      await eventually(() => deviceAttrs(ns), (a) => a === attrs, `${what} set back`, BACK_WITHIN_MS, 100);
      await eventually(() => kernelState(ns), (s) => s === want, `everything on the device after the ${what} repair`, BACK_WITHIN_MS, 100);
      // (The neighbours a new MAC flushes are repairs of their own, on another line.)
      await d.waitFor((l) => l.msg === 'kernel drift: repairing' && (l.objects as string[]).includes('changed link:flannel.1'), `a repair of the device after its ${what} changed`, BACK_WITHIN_MS, from);
    }
    assert.not.ok(d.lines.some((l) => Array.isArray(l.reason) && (l.reason as string[]).includes('resync')), d.log);
  });
});

test('--repair-limit 2/1m: an MTU set again and again by another agent is set back twice, then given up on with one warning naming the device', async () => {
  await withDaemon(async (t, d) => {
    await d.ready();
    const ns = t.nodes[0].ns;
    const url = await d.metricsURL();
    const attrs = await deviceAttrs(ns);
    const warned = () => d.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('kernel drift: giving up repairing link:flannel.1'));
    for (let i = 0; i < 2; i++) {
      await ipn(ns, 'link', 'set', 'flannel.1', 'mtu', String(1400 - i));
      await eventually(() => deviceAttrs(ns), (a) => a === attrs, `MTU set back (${i + 1})`, BACK_WITHIN_MS, 100);
    }
    await ipn(ns, 'link', 'set', 'flannel.1', 'mtu', '1398');
    const warning = await d.waitForMsg(/^kernel drift: giving up repairing link:flannel\.1: changed 3 times within 1m/, BACK_WITHIN_MS);
    assert.is(warning.level, 'warn');
    await eventually(async () => metricValue((await httpGet(`${url}/metrics`)).body, 'ovlnet_kernel_repairs_given_up_total{kind="link"}'), (n) => n === 1, 'the give-up counted', 5000, 100);
    assert.match(await deviceAttrs(ns), /^mtu 1398 /, 'left as the other agent set it');
    assert.ok(warned());
  }, ['--repair-limit', '2/1m']);
});

test('a kernel monitor that dies is restarted (counted), the host is read, and repairs go on', async () => {
  await withDaemon(async (t, d) => {
    await d.ready();
    const ns = t.nodes[0].ns;
    const url = await d.metricsURL();
    const [line] = (await monitorsOf(ns)).filter((l) => / -N monitor label /.test(l));
    assert.ok(line, 'the ip monitor runs');
    const from = d.lines.length;
    process.kill(Number(line.split(' ')[0]), 'SIGKILL');
    await d.waitForMsg(/^kernel monitor failed: ip monitor exited/, BACK_WITHIN_MS, from);
    await eventually(async () => metricValue((await httpGet(`${url}/metrics`)).body, 'ovlnet_kernel_monitor_restarts_total{tool="ip"}'), (n) => n === 1, 'the restart counted', BACK_WITHIN_MS, 100);
    // Events were missed meanwhile: a cycle reads the host.
    await d.waitFor((l) => Array.isArray(l.reason) && (l.reason as string[]).includes('kernel-monitor'), 'a host read after the restart', BACK_WITHIN_MS, from);
    const want = await kernelState(ns);
    const before = d.lines.length;
    await ipn(ns, 'route', 'del', '198.18.2.0/24');
    await eventually(() => kernelState(ns), (s) => s === want, 'route back through the new monitor', BACK_WITHIN_MS, 100);
    await d.waitForMsg(/^kernel drift: repairing$/, BACK_WITHIN_MS, before);
  });
});

test('a loop deleting the same route: the daemon gives up on it, says so once naming it, and counts it', async () => {
  await withDaemon(async (t, d) => {
    await d.ready();
    const ns = t.nodes[0].ns;
    const url = await d.metricsURL();
    const gaveUp = () => d.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('kernel drift: giving up repairing route:198.18.1.0/24'));
    // Another agent removing the route whenever it is there, as fast as it can.
    const deadline = Date.now() + 30_000;
    while (!gaveUp() && Date.now() < deadline) {
      await execa('ip', ['-n', ns, 'route', 'del', '198.18.1.0/24'], { reject: false });
      await new Promise((r) => setTimeout(r, 20));
    }
    const warning = await d.waitForMsg(/^kernel drift: giving up repairing route:198\.18\.1\.0\/24: deleted \d+ times within/, 5000);
    assert.is(warning.level, 'warn');
    assert.is(warning.object, 'route:198.18.1.0/24');
    await eventually(async () => metricValue((await httpGet(`${url}/metrics`)).body, 'ovlnet_kernel_repairs_given_up_total{kind="route"}'), (n) => n === 1, 'the give-up counted', 5000, 100);
    // Deleting it once more is neither repaired nor warned about again.
    await execa('ip', ['-n', ns, 'route', 'del', '198.18.1.0/24'], { reject: false });
    const repairs = metricValue((await httpGet(`${url}/metrics`)).body, 'ovlnet_kernel_repairs_total{kind="route"}');
    assert.is(repairs, 5, 'the default limit: 5 repairs within a minute');
    // SIGHUP resyncs: the route is written again and repairs resume.
    d.child.kill('SIGHUP');
    await eventually(() => ipn(ns, 'route', 'show', '198.18.1.0/24'), (s) => s.includes('198.18.1.0/24'), 'the route back after SIGHUP', BACK_WITHIN_MS, 100);
    assert.is(d.lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('kernel drift: giving up')).length, 1, d.log);
  });
});

test.run();
