// The daemon's reconciler against a source with register() (what the etcd
// and Kubernetes sources implement), in a network namespace: registration
// happens once, before the first load, is retried while it fails without
// touching the kernel, and its public IP picks the local node.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '../../src/daemon/logger.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { Reconciler } from '../../src/daemon/reconciler.js';
import { parseMaxDelete } from '../../src/reconcile/guard.js';
import { SourceError } from '../../src/errors.js';
import type { ClusterState } from '../../src/model/types.js';
import type { RegisterOptions, Registration, Source } from '../../src/sources/types.js';
import { ipn, withTopology } from '../lib/netns.js';

const OURS = { ip: '192.0.2.20', subnet: '198.18.5.0/24', mac: '0e:00:00:00:00:14' };

class LeaseSource implements Source {
  readonly uri = 'etcd://127.0.0.1:1';
  calls: string[] = [];
  registered: RegisterOptions[] = [];
  registerFailures = 1;

  async register(o: RegisterOptions): Promise<Registration> {
    this.calls.push('register');
    this.registered.push(o);
    if (this.registerFailures-- > 0) throw new SourceError('etcd unreachable: 127.0.0.1:1');
    return { publicIP: OURS.ip, subnet: OURS.subnet, vtepMAC: OURS.mac };
  }

  async load(): Promise<ClusterState> {
    this.calls.push('load');
    return {
      config: { origin: 'etcd /coreos.com/network/config', network: '198.18.0.0/16', backend: { type: 'vxlan', vni: 1, port: 8472 } },
      // Leases name no node; another lease also has an address of this host.
      nodes: [
        { origin: 'lease 198.18.1.0-24', name: '198.18.1.0-24', publicIP: '192.0.2.10', subnet: '198.18.1.0/24', vtepMAC: '0e:00:00:00:00:0a' },
        { origin: 'lease 198.18.5.0-24', name: '198.18.5.0-24', publicIP: OURS.ip, subnet: OURS.subnet, vtepMAC: OURS.mac },
        { origin: 'lease 198.18.7.0-24', name: '198.18.7.0-24', publicIP: '192.0.2.77', subnet: '198.18.7.0/24', vtepMAC: '0e:00:00:00:00:4d' },
      ],
      warnings: ['lease 198.18.9.0-24: invalid JSON; skipped'],
      namedNodes: false,
    };
  }

  async close(): Promise<void> {}
}

test('register() once before the first load, retried without touching the kernel; its public IP finds the local node', async () => {
  await withTopology([{ name: 'node-a', publicIP: '192.0.2.10', subnet: OURS.subnet }], async (t) => {
    const ns = t.nodes[0].ns;
    await ipn(ns, 'addr', 'add', `${OURS.ip}/24`, 'dev', 'eth0');
    const lines: string[] = [];
    const log = new Logger({ format: 'json', level: 'debug', write: (s) => lines.push(s) });
    const metrics = new DaemonMetrics();
    const source = new LeaseSource();
    const subnetFile = join(t.tmp, 'subnet.env');
    const make = () => new Reconciler({
      source, cycle: { netns: ns }, maxDelete: parseMaxDelete(undefined), subnetFile, leaseTTLSeconds: 3600, log, metrics,
    });
    const r = make();

    assert.is(await r.run(['start']), false);
    assert.equal(source.calls, ['register'], 'no load before registration');
    assert.is(await ipn(ns, 'route', 'show', 'proto', '244'), '');
    assert.not.match(await ipn(ns, 'link', 'show'), /flannel\.1/, 'kernel untouched while registration fails');
    assert.ok(lines.some((l) => /source failed: etcd unreachable/.test(l) && /"stage":"register"/.test(l)), lines.join(''));
    assert.match(await metrics.text(), /ovlnet_errors_total\{stage="register"\} 1/);

    assert.is(await r.run(['retry']), true, lines.join(''));
    assert.equal(source.calls, ['register', 'register', 'load']);
    const o = source.registered[1];
    assert.is(o.netns, ns);
    assert.is(o.subnetFile, subnetFile);
    assert.is(o.leaseTTLSeconds, 3600);
    assert.is(o.existingVtepMAC, undefined, 'no device yet');
    // Local = the registered lease (192.0.2.20), not the other lease on a host address.
    assert.match(readFileSync(subnetFile, 'utf8'), /^FLANNEL_SUBNET=198\.18\.5\.1\/24$/m);
    const routes = await ipn(ns, 'route', 'show', 'proto', '244');
    assert.match(routes, /198\.18\.1\.0\/24 via 198\.18\.1\.0 dev flannel\.1/);
    assert.not.match(routes, /198\.18\.5\.0\/24/);
    assert.match(await ipn(ns, 'link', 'show', 'flannel.1'), new RegExp(OURS.mac));

    assert.is(await r.run(['resync']), true);
    assert.equal(source.calls, ['register', 'register', 'load', 'load'], 'registered once');
    assert.is(lines.filter((l) => l.includes('invalid JSON; skipped')).length, 1, 'a skipped entry is warned about once');

    // A restarted daemon offers the MAC already on the device, so the published one stays.
    const r2 = make();
    assert.is(await r2.run(['start']), true);
    assert.is(source.registered[2].existingVtepMAC, OURS.mac);
  });
});

test.run();
