// The one-shot runner (src/host/spawn-once.ts) keeps what the host reads and
// writes relied on when they went through execa: stdin input, the merged
// environment, exit codes, a start failure reported (not thrown), a timeout
// that kills, an output cap, stdout to a descriptor; and never a shell.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnOnce } from '../../../src/host/spawn-once.js';
import { run } from '../../../src/host/exec.js';
import { HostError } from '../../../src/errors.js';

const MAX = 1024 * 1024;

test('input reaches stdin; stdout, stderr and the exit code come back whole', async () => {
  const r = await spawnOnce('sh', ['-c', 'cat; echo oops >&2; exit 3'], { input: 'a\nb\n', maxBuffer: MAX });
  assert.equal(r, { stdout: 'a\nb\n', stderr: 'oops\n', exitCode: 3 });
});

test('arguments are passed as they are: no shell expands them', async () => {
  const r = await spawnOnce('printf', ['%s|', '$HOME', '*', 'a b', '`id`'], { input: '', maxBuffer: MAX });
  assert.is(r.stdout, '$HOME|*|a b|`id`|');
  assert.is(r.exitCode, 0);
});

test('the environment is the inherited one with the changes: a value set, an undefined one removed', async () => {
  process.env.OVLNET_SPAWN_TEST_KEEP = 'kept';
  process.env.OVLNET_SPAWN_TEST_DROP = 'dropped';
  try {
    const r = await spawnOnce('sh', ['-c', 'echo "$OVLNET_SPAWN_TEST_KEEP,${OVLNET_SPAWN_TEST_DROP-unset},$OVLNET_SPAWN_TEST_NEW"'], {
      input: '', maxBuffer: MAX, env: { OVLNET_SPAWN_TEST_DROP: undefined, OVLNET_SPAWN_TEST_NEW: 'new' },
    });
    assert.is(r.stdout, 'kept,unset,new\n');
  } finally {
    delete process.env.OVLNET_SPAWN_TEST_KEEP;
    delete process.env.OVLNET_SPAWN_TEST_DROP;
  }
});

test('a tool that is not installed is reported with ENOENT, not thrown; run() names its package', async () => {
  const r = await spawnOnce('ovlnet-no-such-tool', [], { input: '', maxBuffer: MAX });
  assert.is(r.code, 'ENOENT');
  assert.is(r.exitCode, undefined);
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    await run('ip', ['link'], {});
    assert.unreachable('run without ip on PATH');
  } catch (e) {
    assert.instance(e, HostError);
    assert.match((e as Error).message, /ip not found in PATH; it comes with the iproute2 package/);
  } finally {
    process.env.PATH = saved;
  }
});

test('a timeout kills the tool: no exit code, a message', async () => {
  const r = await spawnOnce('sleep', ['30'], { input: '', maxBuffer: MAX, timeoutMs: 50 });
  assert.is(r.exitCode, undefined);
  assert.match(r.message ?? '', /timed out/);
});

test('a tool ignoring SIGTERM after its timeout is killed all the same (SIGKILL after the grace period)', async () => {
  // The grace period is 5 s: this test waits for it once.
  // An ignored signal stays ignored across exec: this sleep ignores SIGTERM.
  const r = await spawnOnce('sh', ['-c', "trap '' TERM; exec sleep 30"], { input: '', maxBuffer: MAX, timeoutMs: 50 });
  assert.is(r.exitCode, undefined);
  assert.match(r.message ?? '', /timed out/);
});

test('output over the cap kills the tool and says so', async () => {
  const r = await spawnOnce('sh', ['-c', 'head -c 100000 /dev/zero; exec sleep 30'], { input: '', maxBuffer: 1000 });
  assert.is(r.exitCode, undefined);
  assert.match(r.message ?? '', /stdout over 1000 bytes/);
});

test('a tool that exits without reading its input is judged by its exit status (no EPIPE error)', async () => {
  const r = await spawnOnce('true', [], { input: 'x'.repeat(4 * 1024 * 1024), maxBuffer: MAX });
  assert.is(r.exitCode, 0);
});

test('stdout to a descriptor: the tool writes there, nothing is collected', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-spawn-test-'));
  try {
    const path = join(dir, 'out');
    const fd = openSync(path, 'w+');
    try {
      const r = await spawnOnce('sh', ['-c', 'echo to-file; echo to-stderr >&2'], { input: '', maxBuffer: MAX, stdoutFd: fd });
      assert.equal(r, { stdout: '', stderr: 'to-stderr\n', exitCode: 0 });
    } finally {
      closeSync(fd);
    }
    assert.is(readFileSync(path, 'utf8'), 'to-file\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
