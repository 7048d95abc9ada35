// docs/lab.md's blocks, run as a newcomer pastes them (from the checkout, as
// root), so the page cannot drift from what works: the setup block converges
// three nodes and pings every pod gateway from every other node, the teardown
// block removes everything. A namespace prefix of this test's own (P) keeps
// it apart from anything else; the teardown block always runs, and any
// namespace it missed is deleted (and the test fails).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT } from '../lib/cli.js';
import { uniqueTag } from '../lib/netns.js';

const PAGE = readFileSync(join(ROOT, 'docs/lab.md'), 'utf8');

/** The fenced sh block right after `<!-- lab:NAME -->`. */
function block(name: string): string {
  const m = new RegExp(`<!-- lab:${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\\n\`\`\`\\n`).exec(PAGE);
  if (!m) throw new Error(`docs/lab.md has no sh block after <!-- lab:${name} -->`);
  return `${m[1]}\n`;
}

async function namespacesWith(prefix: string): Promise<string[]> {
  const r = await execa('ip', ['netns', 'list']);
  return String(r.stdout).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`${prefix}-`));
}

test('the blocks pass shellcheck (test/run.mjs installs it)', async () => {
  for (const name of ['setup', 'teardown']) {
    const r = await execa('shellcheck', ['-s', 'bash', '-'], { input: block(name), reject: false });
    assert.is(r.exitCode, 0, `${name}:\n${r.stdout}${r.stderr}`);
  }
});

test('setup converges three nodes, every pod gateway reaches every other; teardown leaves nothing', async () => {
  const P = uniqueTag();
  const tmp = mkdtempSync(join(tmpdir(), 'ovlnet-lab-'));
  const env = { P, TMPDIR: tmp };
  let setup: Awaited<ReturnType<typeof execa>> | undefined;
  let teardown: Awaited<ReturnType<typeof execa>> | undefined;
  let leftNamespaces: string[] = [];
  let leftFiles: string[] = [];
  try {
    // -e: a failing command stops the block (a paste would go on, but the test must see the first failure).
    setup = await execa('bash', ['-e', '-o', 'pipefail', '-s'], { input: block('setup'), cwd: ROOT, env, reject: false, timeout: 240_000 });
  } finally {
    teardown = await execa('bash', ['-s'], { input: block('teardown'), cwd: ROOT, env, reject: false, timeout: 60_000 });
    leftNamespaces = await namespacesWith(P);
    leftFiles = readdirSync(tmp);
    for (const ns of leftNamespaces) await execa('ip', ['netns', 'del', ns], { reject: false });
    rmSync(tmp, { recursive: true, force: true });
  }
  const out = `${setup.stdout}\n${setup.stderr}`;
  assert.is(setup.exitCode, 0, out);
  assert.is(String(setup.stdout).split('\n').filter((l) => / -> 198\.18\.\d\.1: ok$/.test(l)).length, 6, out);
  assert.match(String(setup.stdout), /^lab converged: every pod gateway reaches every other$/m);
  assert.is(teardown.exitCode, 0, `${teardown.stdout}${teardown.stderr}`);
  assert.equal(leftNamespaces, [], 'the teardown block deletes every namespace');
  assert.equal(leftFiles, [], 'the teardown block deletes the lab directory');
});

test.run();
