// Shell completions: the committed files are exactly what the generator
// prints, and every option and command commander knows is in each script.
// (test/e2e/completion-shells.test.ts runs the scripts in real shells.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProgram } from '../../src/cli/main.js';
import { cliSpec, completionScript, SHELLS } from '../../src/cli/completions.js';
import { ROOT } from '../lib/cli.js';

const FILES = { bash: 'completions/ovlnet.bash', zsh: 'completions/_ovlnet', fish: 'completions/ovlnet.fish' } as const;

for (const shell of SHELLS) {
  test(`completions/${FILES[shell]} is what the generator prints (run \`npm run completions\` when this fails)`, () => {
    const committed = readFileSync(join(ROOT, FILES[shell]), 'utf8');
    assert.fixture(committed, completionScript(shell, buildProgram()));
  });
}

test('every command and option commander knows is in every script', () => {
  const spec = cliSpec(buildProgram());
  assert.equal(spec.commands.map((c) => c.name), ['plan', 'diff', 'doctor', 'apply', 'nodes', 'daemon', 'cleanup', 'completion', 'systemd-unit', 'config', 'help']);
  const scripts = Object.fromEntries(SHELLS.map((s) => [s, readFileSync(join(ROOT, FILES[s]), 'utf8')]));
  let checked = 0;
  for (const c of spec.commands) {
    for (const o of c.options) {
      const long = o.long!;
      assert.ok(new RegExp(`\\b${c.name}\\) opts='[^']*${long}\\b`).test(scripts.bash), `bash: ${c.name} ${long}`);
      assert.ok(scripts.zsh.includes(long), `zsh: ${long}`);
      assert.ok(new RegExp(`__fish_seen_subcommand_from ${c.name}'.* -l ${long.slice(2)}\\b`).test(scripts.fish), `fish: ${c.name} ${long}`);
      checked++;
    }
  }
  assert.ok(checked > 50, `only ${checked} options`);
});

test.run();
