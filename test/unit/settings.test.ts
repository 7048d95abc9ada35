// Where option values come from: flag (after the command or before it,
// kubectl style) > OVLNET_<FLAG> > config file > default, for every option
// alike, checked as commander checks a flag.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ROOT } from '../lib/cli.js';
import { buildProgram } from '../../src/cli/main.js';
import { closest } from '../../src/suggest.js';
import { checkConfigKeys, envName, resolveSettings, settingKeys, withGlobalOptions, type ConfigFile, type Setting } from '../../src/cli/settings.js';

interface Parsed {
  opts: Record<string, unknown>;
  settings: Setting[];
}

/** Parses argv with every action replaced by one that resolves the settings from `env` and `file`. */
async function parsed(args: string[], env: Record<string, string> = {}, values?: Record<string, unknown>): Promise<Parsed> {
  const program = buildProgram().exitOverride();
  let got: Parsed | undefined;
  let error: unknown;
  const file: ConfigFile | undefined = values ? { path: '/etc/ovlnet/ovlnet.yaml', values } : undefined;
  for (const c of program.commands) {
    c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    c.action(function (this: Command) {
      try {
        const settings = resolveSettings(this, env, file);
        got = { opts: this.opts(), settings };
      } catch (e) {
        error = e;
      }
    });
  }
  program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
  await program.parseAsync(args, { from: 'user' });
  if (error) throw error;
  return got!;
}

async function refused(args: string[], env: Record<string, string>, values: Record<string, unknown> | undefined, message: string): Promise<void> {
  try {
    await parsed(args, env, values);
  } catch (e) {
    assert.match(String((e as Error).message), message);
    return;
  }
  assert.unreachable(`accepted: ${args.join(' ')}`);
}

const GLOBALS: Array<[string, string[], Record<string, unknown>]> = [
  ['-n is --netns', ['diff', '-n', 'ns1'], { netns: 'ns1' }],
  ['--netns before the command', ['--netns', 'ns1', 'diff'], { netns: 'ns1' }],
  ['-n before the command', ['-n', 'ns1', 'apply'], { netns: 'ns1' }],
  ['after the command wins', ['-n', 'ns1', 'diff', '-n', 'ns2'], { netns: 'ns2' }],
  ['--source and --debug before', ['-s', 'file:/x.yaml', '--debug', 'plan'], { source: 'file:/x.yaml', debug: true }],
  ['--no-color before', ['--no-color', 'nodes'], { color: false }],
  ['cleanup takes -n', ['cleanup', '-n', 'ns3', '--dry-run'], { netns: 'ns3', dryRun: true }],
  ['--debug before completion', ['--debug', 'completion', 'bash'], { debug: true }],
];

for (const [name, args, want] of GLOBALS) {
  test(`global options: ${name}`, async () => {
    const { opts } = await parsed(args);
    for (const [k, v] of Object.entries(want)) assert.equal(opts[k], v, `${k} of ${args.join(' ')}`);
  });
}

test('a global option the command does not take is refused by name', async () => {
  await refused(['-n', 'ns1', 'nodes'], {}, undefined, 'option --netns does not apply to "ovlnet nodes"');
  // withGlobalOptions (argv only) refuses the same way.
  const program = buildProgram();
  const nodes = program.commands.find((c) => c.name() === 'nodes')!;
  program.setOptionValueWithSource('netns', 'x', 'cli');
  assert.throws(() => withGlobalOptions(nodes), /does not apply/);
});

// [name, argv, env, file, attribute, expected value, expected origin]
type Row = [string, string[], Record<string, string>, Record<string, unknown> | undefined, string, unknown, Setting['origin']];
const PRECEDENCE: Row[] = [
  ['default only', ['diff'], {}, undefined, 'ipMasq', undefined, 'default'],
  ['file over default', ['diff'], {}, { 'ip-masq': true }, 'ipMasq', true, 'file'],
  ['env over file', ['diff'], { OVLNET_IP_MASQ: 'false' }, { 'ip-masq': true }, 'ipMasq', false, 'env'],
  ['env over default', ['diff'], { OVLNET_IP_MASQ: 'true' }, undefined, 'ipMasq', true, 'env'],
  ['flag over env and file', ['diff', '--ip-masq'], { OVLNET_IP_MASQ: 'false' }, { 'ip-masq': false }, 'ipMasq', true, 'flag'],
  ['empty env is unset', ['diff'], { OVLNET_IP_MASQ: '' }, { 'ip-masq': true }, 'ipMasq', true, 'file'],
  ['yes/no booleans', ['apply'], { OVLNET_IP_MASQ: 'yes' }, undefined, 'ipMasq', true, 'env'],
  ['value option from env', ['diff'], { OVLNET_NETNS: 'ns-env' }, { netns: 'ns-file' }, 'netns', 'ns-env', 'env'],
  ['value option from file', ['daemon'], {}, { netns: 'ns-file' }, 'netns', 'ns-file', 'file'],
  ['global flag before the command over env', ['-n', 'ns-flag', 'diff'], { OVLNET_NETNS: 'ns-env' }, undefined, 'netns', 'ns-flag', 'flag'],
  ['choices from the file', ['daemon'], {}, { 'disable-tx-offload': 'off' }, 'disableTxOffload', 'off', 'file'],
  ['default kept when nothing set', ['daemon'], {}, {}, 'disableTxOffload', 'auto', 'default'],
  ['a number in YAML is the flag text', ['cleanup'], {}, { vni: 4 }, 'vni', '4', 'file'],
  ['--no-x from the env', ['plan'], { OVLNET_NO_COLOR: '1' }, undefined, 'color', false, 'env'],
  ['--no-x from the file', ['plan'], {}, { 'no-color': true }, 'color', false, 'file'],
  ['--no-x as OVLNET_X=false', ['plan'], { OVLNET_COLOR: 'false' }, undefined, 'color', false, 'env'],
  ['OVLNET_NO_X before OVLNET_X', ['plan'], { OVLNET_NO_COLOR: 'false', OVLNET_COLOR: 'false' }, undefined, 'color', true, 'env'],
  ['source from OVLNET_SOURCE', ['nodes'], { OVLNET_SOURCE: 'etcd://127.0.0.1:2379' }, { source: 'file:/x' }, 'source', 'etcd://127.0.0.1:2379', 'env'],
  ['a daemon-only key in the file is ignored by diff', ['diff'], {}, { interval: '5s' }, 'ipMasq', undefined, 'default'],
];

for (const [name, args, env, file, attr, value, origin] of PRECEDENCE) {
  test(`precedence: ${name}`, async () => {
    const { opts, settings } = await parsed(args, env, file);
    assert.equal(opts[attr], value, attr);
    const s = settings.find((x) => x.attr === attr);
    assert.ok(s, `a setting for ${attr}`);
    assert.is(s!.origin, origin);
    if (origin === 'env') assert.ok(s!.from?.startsWith('OVLNET_'), s!.from);
    if (origin === 'file') assert.is(s!.from, '/etc/ovlnet/ovlnet.yaml');
  });
}

test('settings show a --no-x option as its key reads', async () => {
  const { settings } = await parsed(['plan'], { OVLNET_NO_COLOR: 'true' });
  const s = settings.find((x) => x.key === 'no-color')!;
  assert.is(s.value, true);
});

const BAD: Array<[string, string[], Record<string, string>, Record<string, unknown> | undefined, string]> = [
  ['a boolean that is not one', ['diff'], { OVLNET_IP_MASQ: 'maybe' }, undefined, 'OVLNET_IP_MASQ: "maybe" is not a boolean'],
  ['a choice from the env', ['daemon'], { OVLNET_LOG_FORMAT: 'xml' }, undefined, 'OVLNET_LOG_FORMAT: "xml" is not one of text, json'],
  ['a choice from the file', ['diff'], {}, { 'disable-tx-offload': 'sometimes' }, '/etc/ovlnet/ovlnet.yaml: disable-tx-offload: "sometimes" is not one of auto, on, off'],
  ['a mapping where a value belongs', ['diff'], {}, { netns: { a: 1 } }, 'netns: expected a value'],
];
for (const [name, args, env, file, message] of BAD) test(`refused: ${name}`, () => refused(args, env, file, message));

test('env names: upper case, dashes to underscores', () => {
  assert.is(envName('ip-masq'), 'OVLNET_IP_MASQ');
  assert.is(envName('disable-tx-offload'), 'OVLNET_DISABLE_TX_OFFLOAD');
  assert.is(envName('netns'), 'OVLNET_NETNS');
});

test('config file keys: every long option of every command, and an unknown one named with the closest', () => {
  const keys = settingKeys(buildProgram());
  for (const k of ['ip-masq', 'netns', 'source', 'interval', 'metrics-addr', 'disable-tx-offload', 'no-color']) assert.ok(keys.includes(k), k);
  for (const k of ['help', 'version', 'config']) assert.not.ok(keys.includes(k), k);
  const file = (values: Record<string, unknown>): ConfigFile => ({ path: '/etc/ovlnet/ovlnet.yaml', values });
  checkConfigKeys(file({ 'ip-masq': true, interval: '10s' }), keys);
  assert.throws(() => checkConfigKeys(file({ 'ip-mask': true }), keys), (e: Error) => e.message === '/etc/ovlnet/ovlnet.yaml: unknown setting "ip-mask" (did you mean ip-masq?)');
  assert.throws(() => checkConfigKeys(file({ ipMasq: true }), keys), /unknown setting "ipMasq" \(did you mean ip-masq\?\)/);
  assert.throws(() => checkConfigKeys(file({ zzzzzzzz: 1 }), keys), (e: Error) => !e.message.includes('did you mean'));
});

test('closest: a typo, not any word', () => {
  assert.is(closest('bakend', ['backend', 'network', 'nodes']), 'backend');
  assert.is(closest('publicIp', ['publicIP', 'subnet']), 'publicIP');
  assert.is(closest('colour', ['backend', 'network']), undefined);
});

test('contrib/ovlnet.yaml holds known settings only, its commented examples too', () => {
  const text = readFileSync(`${ROOT}contrib/ovlnet.yaml`, 'utf8');
  const keys = settingKeys(buildProgram());
  const uncommented = text.split('\n').map((l) => l.replace(/^#(?=[a-z-]+: )/, '')).join('\n');
  for (const doc of [text, uncommented]) {
    const values = parse(doc, { uniqueKeys: false }) as Record<string, unknown>;
    assert.ok(Object.keys(values).length >= 3);
    checkConfigKeys({ path: 'contrib/ovlnet.yaml', values }, keys);
  }
});

test.run();
