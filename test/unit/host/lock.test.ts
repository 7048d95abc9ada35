// The writer lock's file name (src/host/lock.ts): one per network namespace,
// whatever name reached it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../../../src/errors.js';
import { lockFileName } from '../../../src/host/lock.js';

const INODES: Record<string, number> = { '/proc/self/ns/net': 4026531840, '/run/netns/a': 4026532001, '/run/netns/b': 4026532002 };
const inode = (p: string) => {
  if (!(p in INODES)) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
  return INODES[p];
};

test('keyed by the namespace inode: --netns NAME and the namespace a process runs in agree; unknown names fall back to the name', () => {
  const rows: Array<[string | undefined, string]> = [
    [undefined, 'net-4026531840.lock'],
    ['a', 'net-4026532001.lock'],
    ['b', 'net-4026532002.lock'],
    ['gone', 'netns-gone.lock'],
  ];
  for (const [ns, want] of rows) assert.is(lockFileName(ns, inode), want, String(ns));
  // Inside namespace a (ip netns exec a), this process's own namespace is a's.
  assert.is(lockFileName(undefined, (p) => (p === '/proc/self/ns/net' ? INODES['/run/netns/a'] : inode(p))), lockFileName('a', inode));
  assert.is(lockFileName(undefined, () => { throw new Error('no /proc'); }), 'host.lock');
});

test('names that could leave the run directory are refused', () => {
  for (const bad of ['..', '.', 'a/b', '', 'a b']) assert.throws(() => lockFileName(bad, inode), (e: Error) => e instanceof UsageError, bad);
});

test.run();
