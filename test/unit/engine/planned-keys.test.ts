// The incremental plan's planned-key lookup (engine/planned-keys.ts): held
// by a part of each entry instead of a key string per entry, it must answer
// exactly as a set of the entries' keys would.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KEY_PARTS, PlannedKeys } from '../../../src/engine/planned-keys.js';
import { entryKey } from '../../../src/kinds/index.js';
import type { Entry } from '../../../src/model/types.js';
import { ip, mac, pfx } from '../support/build.js';

const route = (dst: string, via: string): Entry => ({ kind: 'route', dst: pfx(dst), via: ip(via), dev: 'flannel.1', onlink: true, proto: 244 });
const neigh = (addr: string, m: string, dev = 'flannel.1'): Entry => ({ kind: 'neigh', dev, ip: ip(addr), mac: mac(m) });
const fdb = (m: string, dst: string, dev = 'flannel.1'): Entry => ({ kind: 'fdb', dev, mac: mac(m), dst: ip(dst) });
const link = (name: string): Entry => ({ kind: 'link', name, mtu: 1450 }) as unknown as Entry;

const samples: Entry[] = [
  route('198.18.1.0/24', '198.18.1.0'), route('2001:db8:1::/64', '2001:db8:1::'),
  neigh('198.18.1.0', '0e:00:00:00:00:01'), neigh('2001:db8:1::', '0e:00:00:00:00:01', 'flannel-v6.1'),
  fdb('0e:00:00:00:00:01', '192.0.2.11'), fdb('0e:00:00:00:00:02', '2001:db8::12', 'flannel-v6.1'),
];

test('key parts: the part read from an entry\'s key is the part the entry holds (IPv4 and IPv6)', () => {
  for (const e of samples) {
    const parts = KEY_PARTS[e.kind as keyof typeof KEY_PARTS];
    assert.is(parts.ofKey(entryKey(e)), (parts.ofEntry as (x: Entry) => string)(e), entryKey(e));
  }
});

type Step = ['add' | 'remove', Entry];
const A = route('198.18.1.0/24', '198.18.1.0');
const A2 = route('198.18.1.0/24', '198.18.1.9'); // the same key, another gateway
const N = neigh('198.18.1.0', '0e:00:00:00:00:01');
const N6 = neigh('198.18.1.0', '0e:00:00:00:00:01', 'flannel-v6.1'); // the same part, another key
const F = fdb('0e:00:00:00:00:01', '192.0.2.11');
const F2 = fdb('0e:00:00:00:00:01', '192.0.2.12');
const L = link('flannel.1');
const cases: Array<{ name: string; steps: Step[] }> = [
  { name: 'added entries', steps: [['add', A], ['add', N], ['add', F], ['add', L]] },
  { name: 'removed again', steps: [['add', A], ['add', N], ['add', F], ['add', L], ['remove', A], ['remove', N], ['remove', F], ['remove', L]] },
  { name: 'a route replaced by another with its key', steps: [['add', A], ['add', A2], ['remove', A]] },
  { name: 'one part, two keys, one removed', steps: [['add', N], ['add', N6], ['remove', N]] },
  { name: 'one MAC, two destinations', steps: [['add', F], ['add', F2], ['remove', F2]] },
  { name: 'a device planned twice, removed once', steps: [['add', L], ['add', L], ['remove', L]] },
  { name: 'removing what is not there', steps: [['remove', A], ['add', N], ['remove', F]] },
];
for (const c of cases) {
  test(`planned keys: ${c.name}: the same answers as a counted set of keys`, () => {
    const keys = new PlannedKeys();
    const counted = new Map<string, number>();
    for (const [op, e] of c.steps) {
      const k = entryKey(e);
      if (op === 'add') {
        keys.add(e, k);
        counted.set(k, (counted.get(k) ?? 0) + 1);
      } else {
        keys.remove(e, k);
        const n = (counted.get(k) ?? 0) - 1;
        if (n > 0) counted.set(k, n);
        else counted.delete(k);
      }
      for (const x of [A, A2, N, N6, F, F2, L, ...samples]) {
        const xk = entryKey(x);
        assert.is(keys.has(xk), counted.has(xk), `after ${op} ${k}: ${xk}`);
        // The planned entry of a key: one with that key while planned (kinds held by a part only; devices are counted).
        const held = keys.entry(xk);
        assert.is(held && entryKey(held), x.kind !== 'link' && counted.has(xk) ? xk : undefined, `after ${op} ${k}: the entry of ${xk}`);
      }
    }
  });
}

test.run();
