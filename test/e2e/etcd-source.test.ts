// The etcd source against a real etcd: reading flannel's data as flanneld
// writes it (here with etcdctl), the CLI on top of it, faults, and watch().
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ovlnet } from '../lib/cli.js';
import { flannelLease, grantLease, withEtcd, withEtcdCluster, type EtcdCluster } from '../lib/etcd.js';
import { openSource } from '../../src/sources/index.js';

const P = '/coreos.com/network';

async function seed(c: EtcdCluster, prefix = P): Promise<void> {
  // Network only: SubnetLen and Backend are left to flannel's defaults.
  await c.ctl(['put', `${prefix}/config`, '{"Network":"198.18.0.0/16"}']);
  const id = await grantLease(c, 3600);
  await c.ctl(['put', `--lease=${id}`, `${prefix}/subnets/198.18.1.0-24`, flannelLease('192.0.2.11', '0e:00:00:00:01:01')]);
  await c.ctl(['put', `--lease=${id}`, `${prefix}/subnets/198.18.2.0-24`, flannelLease('192.0.2.12', '0e:00:00:00:01:02')]);
  // A reservation: no etcd lease, never expires.
  await c.ctl(['put', `${prefix}/subnets/198.18.3.0-24`, flannelLease('192.0.2.13', '0e:00:00:00:01:03')]);
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('nodes reads flannel-format leases with expiry and reservations, flannel defaults', async () => {
  await withEtcd(async (c) => {
    await seed(c);
    const r = await ovlnet(['nodes', '--source', c.uri(), '-o', 'json']);
    assert.is(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.is(out.network, '198.18.0.0/16');
    assert.is(out.subnetLen, 24, 'flannel default SubnetLen for a /16');
    assert.is(out.backend.type, 'vxlan', 'a missing Backend is vxlan');
    assert.is(out.backend.port, 8472);
    const byName = new Map(out.nodes.map((n: any) => [n.name, n]));
    assert.equal([...byName.keys()].sort(), ['198.18.1.0-24', '198.18.2.0-24', '198.18.3.0-24']);
    const a: any = byName.get('198.18.1.0-24');
    assert.is(a.subnet, '198.18.1.0/24');
    assert.is(a.publicIP, '192.0.2.11');
    assert.is(a.vtepMAC, '0e:00:00:00:01:01');
    const left = new Date(a.expires).getTime() - Date.now();
    assert.ok(left > 3000_000 && left <= 3601_000, `expiry from the etcd lease TTL: ${a.expires}`);
    assert.is((byName.get('198.18.3.0-24') as any).expires, 'never');

    const t = await ovlnet(['nodes', '--source', c.uri()]);
    assert.is(t.code, 0, t.stderr);
    assert.match(t.stdout, /Expires/);
    assert.match(t.stdout, /198\.18\.3\.0-24.*reservation/);
    assert.match(t.stdout, /198\.18\.1\.0-24.*0e:00:00:00:01:01.*\b(59m|1h00m)/);
  });
});

test('a custom prefix and the plan for a lease found by --public-ip', async () => {
  await withEtcd(async (c) => {
    await seed(c, '/example.com/net');
    await c.ctl(['put', '/example.com/net/config', '{"Network":"198.18.0.0/16","Backend":{"Type":"vxlan","VNI":7,"Port":4789}}']);
    const r = await ovlnet(['plan', '--source', c.uri('/example.com/net'), '--public-ip', '192.0.2.12', '-o', 'json']);
    assert.is(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    const text = JSON.stringify(plan);
    assert.match(text, /flannel\.7/);
    assert.match(text, /0e:00:00:00:01:02/, 'the device carries the local lease VtepMAC');
    // The default prefix holds nothing here: a clear error, not an empty cluster.
    const d = await ovlnet(['nodes', '--source', c.uri()]);
    assert.is(d.code, 1);
    assert.match(d.stderr, /no network config at \/coreos\.com\/network\/config/);
  });
});

test('malformed keys and values are skipped with a warning naming the key', async () => {
  await withEtcd(async (c) => {
    await seed(c);
    await c.ctl(['put', `${P}/subnets/not-a-subnet`, flannelLease('192.0.2.20', '0e:00:00:00:01:20')]);
    await c.ctl(['put', `${P}/subnets/198.18.9.0-24`, '{"PublicIP": ']);
    await c.ctl(['put', `${P}/subnets/198.18.8.0-24`, JSON.stringify({ PublicIP: 'nonsense', BackendType: 'vxlan', BackendData: { VtepMAC: '0e:00:00:00:01:08' } })]);
    await c.ctl(['put', `${P}/subnets/198.18.7.5-24`, flannelLease('192.0.2.21', '0e:00:00:00:01:21')]);
    const r = await ovlnet(['nodes', '--source', c.uri()]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, /subnets\/not-a-subnet.*skipped/);
    assert.match(r.stderr, /subnets\/198\.18\.9\.0-24: value is not a JSON object; skipped/);
    assert.match(r.stderr, /198\.18\.8\.0-24.*publicIP.*nonsense/);
    assert.match(r.stderr, /198\.18\.7\.5-24/);
    assert.match(r.stdout, /3 nodes, 4 problems/);
  });
});

test('etcd down: exit 1 quickly, naming the endpoints', async () => {
  const { freePort } = await import('../lib/etcd.js');
  const eps = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
  for (const cmd of ['nodes', 'plan', 'diff']) {
    const t0 = Date.now();
    const args = [cmd, '--source', `etcd://${eps.join(',')}`, ...(cmd === 'nodes' ? [] : ['--public-ip', '192.0.2.10'])];
    const r = await ovlnet(args, { timeoutMs: 30_000 });
    const took = Date.now() - t0;
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.ok(r.stderr.includes(`cannot reach etcd at ${eps[0]}, ${eps[1]}`), `${cmd}: ${r.stderr}`);
    // The cause and what to check, in words (not gRPC's status dump).
    assert.match(r.stderr, /connection refused by 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/, `${cmd}: ${r.stderr}`);
    assert.match(r.stderr, /hint: is etcd running there and listening on that port/, `${cmd}: ${r.stderr}`);
    assert.not.match(r.stderr, /internal error|UNAVAILABLE/);
    // Generous bound: seconds, not the minutes a default gRPC client can wait.
    assert.ok(took < 15_000, `${cmd} took ${took} ms`);
  }
});

test('etcd down: repeated reads keep naming the real cause, never the client\'s circuit breaker', async () => {
  const { freePort } = await import('../lib/etcd.js');
  const src = await openSource(`etcd://127.0.0.1:${await freePort()}`);
  try {
    for (let i = 0; i < 3; i++) {
      const e = await src.load().then(() => undefined, (err: Error) => err);
      assert.ok(e, 'load fails');
      assert.match(e!.message, /ECONNREFUSED/, `attempt ${i + 1}: ${e!.message}`);
      assert.not.match(e!.message, /circuit breaker/, `attempt ${i + 1}: ${e!.message}`);
    }
  } finally {
    await src.close();
  }
});

test('a 3-member cluster with one member killed still serves reads and writes', async () => {
  await withEtcdCluster(async (c) => {
    await seed(c);
    const before = await ovlnet(['nodes', '--source', c.uri(), '-o', 'json']);
    assert.is(before.code, 0, before.stderr);
    // Kill the leader: the worst single loss (an election follows).
    const status = await c.ctl(['endpoint', 'status', '-w', 'json']);
    const leader = /"leader":(\d+)/.exec(status)![1];
    const members = [...status.matchAll(/"Endpoint":"([^"]+)".*?"member_id":(\d+)/g)];
    const endpoint = members.find((m) => m[2] === leader)![1];
    const index = c.members.findIndex((m) => m.clientURL === endpoint);
    assert.ok(index >= 0, `leader ${leader} in ${status}`);
    await c.kill(index);
    for (let i = 0; i < 3; i++) {
      const r = await ovlnet(['nodes', '--source', c.uri(), '-o', 'json']);
      assert.is(r.code, 0, r.stderr);
      assert.is(JSON.parse(r.stdout).nodes.length, 3);
    }
    const src = await openSource(c.uri());
    try {
      const reg = await src.register!({ publicIP: '192.0.2.50', leaseTTLSeconds: 600 });
      assert.match(reg.subnet, /^198\.18\.\d+\.0\/24$/);
      const state = await src.load();
      assert.ok(state.nodes.some((n) => n.publicIP === '192.0.2.50'));
    } finally {
      await src.close();
    }
  });
});

test('password auth from OVLNET_ETCD_USERNAME / OVLNET_ETCD_PASSWORD', async () => {
  await withEtcd(async (c) => {
    await seed(c);
    await c.ctl(['user', 'add', 'root', '--new-user-password=s3cret']);
    await c.ctl(['user', 'grant-role', 'root', 'root']);
    await c.ctl(['auth', 'enable']);
    const ok = await ovlnet(['nodes', '--source', c.uri(), '-o', 'json'], { env: { OVLNET_ETCD_USERNAME: 'root', OVLNET_ETCD_PASSWORD: 's3cret' } });
    assert.is(ok.code, 0, ok.stderr);
    assert.is(JSON.parse(ok.stdout).nodes.length, 3);
    const wrong = await ovlnet(['nodes', '--source', c.uri()], { env: { OVLNET_ETCD_USERNAME: 'root', OVLNET_ETCD_PASSWORD: 'nope' } });
    assert.is(wrong.code, 1);
    assert.match(wrong.stderr, /authentication failed/);
    assert.not.match(wrong.stderr, /nope/, 'the password is never printed');
    const none = await ovlnet(['nodes', '--source', c.uri()]);
    assert.is(none.code, 1);
    assert.match(none.stderr, new RegExp(c.endpoints[0]));
  });
});

test('etcds:// with --etcd-cafile/--etcd-certfile/--etcd-keyfile', async () => {
  await withEtcd(async (c) => {
    await seed(c);
    const tls = c.tls!;
    assert.match(c.uri(), /^etcds:\/\//);
    const flags = ['--etcd-cafile', tls.ca, '--etcd-certfile', tls.clientCert, '--etcd-keyfile', tls.clientKey];
    const ok = await ovlnet(['nodes', '--source', c.uri(), '-o', 'json', ...flags]);
    assert.is(ok.code, 0, ok.stderr);
    assert.is(JSON.parse(ok.stdout).nodes.length, 3);
    // No client certificate: the server refuses, and the message names the endpoint.
    const noCert = await ovlnet(['nodes', '--source', c.uri(), '--etcd-cafile', tls.ca]);
    assert.is(noCert.code, 1);
    assert.ok(noCert.stderr.includes(c.endpoints[0]), noCert.stderr);
    // TLS flags on a plain etcd:// source are a usage mistake, said as such.
    const plain = await ovlnet(['nodes', '--source', c.uri().replace('etcds://', 'etcd://'), ...flags]);
    assert.is(plain.code, 1);
    assert.match(plain.stderr, /need a TLS source: write etcds:\/\//);
  }, 1, { tls: true });
});

test('watch() reports a put and a delete, and survives compaction', async () => {
  await withEtcd(async (c) => {
    await seed(c);
    const src = await openSource(c.uri());
    let changes = 0;
    const errors: Error[] = [];
    try {
      await src.load();
      const stop = src.watch!({ onChange: () => changes++, onError: (e) => errors.push(e) });
      try {
        // Written right away: the watch starts from the listed revision, so a
        // put made while it is still connecting is not lost.
        await c.ctl(['put', `${P}/subnets/198.18.4.0-24`, flannelLease('192.0.2.14', '0e:00:00:00:02:04')]);
        await until('a put to be reported', () => changes > 0);
        const afterPut = changes;
        await c.ctl(['del', `${P}/subnets/198.18.4.0-24`]);
        await until('a delete to be reported', () => changes > afterPut);
        const afterDel = changes;
        await c.ctl(['put', `${P}/config`, '{"Network":"198.18.0.0/16","Backend":{"Type":"host-gw"}}']);
        await until('a config change to be reported', () => changes > afterDel);
      } finally {
        stop();
      }

      // A watch from a compacted revision: listed at R, then R+1.. compacted away.
      await src.load();
      for (let i = 0; i < 3; i++) await c.ctl(['put', `${P}/subnets/198.18.5.0-24`, flannelLease('192.0.2.15', `0e:00:00:00:03:1${i}`)]);
      const status = JSON.parse(await c.ctl(['endpoint', 'status', '-w', 'json']));
      await c.ctl(['compact', String(status[0].Status.header.revision)]);
      const base = changes;
      const errBase = errors.length;
      const stop2 = src.watch!({ onChange: () => changes++, onError: (e) => errors.push(e) });
      try {
        await until('a re-list after compaction', () => changes > base);
        assert.ok(errors.slice(errBase).some((e) => /cancel|compact/i.test(e.message)), errors.map((e) => e.message).join('; '));
        const state = await src.load();
        assert.ok(state.nodes.some((n) => n.name === '198.18.5.0-24'));
        const base2 = changes;
        await c.ctl(['del', `${P}/subnets/198.18.5.0-24`]);
        await until('a delete after the re-list', () => changes > base2);
      } finally {
        stop2();
      }
    } finally {
      await src.close();
    }
  });
});

test.run();
