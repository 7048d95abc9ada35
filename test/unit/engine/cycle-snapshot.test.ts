// snapshot() reads the host while the source is still loading: the kernel
// read starts first, the fdb read gets the device names once the source has
// them, and when both fail the source's error is the one reported (as when
// the source was read first). With the state given, the read is as before.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { snapshot, type CycleOptions } from '../../../src/engine/cycle.js';
import type { Host, HostRead, ReadScope } from '../../../src/engine/host.js';
import { HostError, SourceError } from '../../../src/errors.js';
import type { ClusterState } from '../../../src/model/types.js';
import { parseClusterDocument } from '../../../src/sources/file.js';
import type { Source } from '../../../src/sources/types.js';
import { emptyActual, hostLink, pfx } from '../support/build.js';

const OPTS: CycleOptions = { node: 'node-a', hostname: 'test-host', txOffload: 'off', ipMasq: false };
const NODES = [
  { name: 'node-a', publicIP: '192.0.2.10', subnet: '198.18.0.0/24', vtepMAC: '0e:00:00:00:00:0a' },
  { name: 'node-b', publicIP: '192.0.2.11', subnet: '198.18.1.0/24', vtepMAC: '0e:00:00:00:00:0b' },
];
const STATE: ClusterState = parseClusterDocument({ network: '198.18.0.0/16', backend: { type: 'vxlan', vni: 7, port: 8472 }, nodes: NODES }, 'cluster.json');

/** A source whose load() resolves (or fails) only when told, logging when it is called. */
function slowSource(log: string[]): Source & { finish(e?: Error): void } {
  let finish!: (e?: Error) => void;
  const loaded = new Promise<ClusterState>((resolve, reject) => {
    finish = (e) => (e ? reject(e) : resolve(STATE));
  });
  return {
    uri: 'file:cluster.json',
    load: () => {
      log.push('source load');
      return loaded;
    },
    close: async () => undefined,
    finish: (e?: Error) => finish(e),
  } as unknown as Source & { finish(e?: Error): void };
}

/** A host holding eth0 only; logs each read, the fdb devices it was given, and fails the kernel read if told. */
function fakeHost(log: string[], fail?: Error): Host {
  return {
    async read(scope: ReadScope): Promise<HostRead> {
      if (!scope.kernel) return {};
      log.push('kernel read');
      const devices = await scope.kernel.fdbDevices;
      log.push(`fdb of ${devices.join(',') || 'none'}`);
      if (fail) throw fail;
      const a = emptyActual();
      a.links.set('eth0', hostLink({ name: 'eth0', addrs: [pfx('192.0.2.10/24')] }));
      return { kernel: a };
    },
    write: async () => ({ failures: [], processes: 0 }),
  };
}

const CASES: Array<{ name: string; sourceError?: Error; hostError?: Error; expect: RegExp | 'ok'; log: string[] }> = [
  { name: 'both succeed: the read starts first, the fdb waits for the config', expect: 'ok', log: ['kernel read', 'source load', 'fdb of flannel.7'] },
  { name: 'both fail: the source error wins', sourceError: new SourceError('cluster.json: unreadable'), hostError: new HostError('reading the host failed: boom'), expect: /cluster\.json: unreadable/, log: ['kernel read', 'source load', 'fdb of none'] },
  { name: 'the host fails: its error', hostError: new HostError('reading the host failed: boom'), expect: /boom/, log: ['kernel read', 'source load', 'fdb of flannel.7'] },
  { name: 'the source fails: its error', sourceError: new SourceError('cluster.json: unreadable'), expect: /unreadable/, log: ['kernel read', 'source load', 'fdb of none'] },
];

for (const c of CASES) {
  test(`snapshot: ${c.name}`, async () => {
    const log: string[] = [];
    const source = slowSource(log);
    const p = snapshot(source, OPTS, undefined, fakeHost(log, c.hostError));
    // Let the reads start while the source is still loading.
    await new Promise((r) => setImmediate(r));
    source.finish(c.sourceError);
    if (c.expect === 'ok') {
      const snap = await p;
      assert.equal(snap.desired.peers.map((x) => x.node.name), ['node-b']);
    } else {
      await p.then(() => assert.unreachable('snapshot should fail'), (e: Error) => assert.match(e.message, c.expect as RegExp));
    }
    assert.equal(log, c.log);
  });
}

test('snapshot with the state given: one kernel read with the device names, no source load', async () => {
  const log: string[] = [];
  const snap = await snapshot(slowSource(log), OPTS, STATE, fakeHost(log));
  assert.equal(log, ['kernel read', 'fdb of flannel.7']);
  assert.equal(snap.desired.peers.map((x) => x.node.name), ['node-b']);
});

test.run();
