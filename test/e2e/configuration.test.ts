// One configuration for every command, as an operator meets it: global
// options before the command (kubectl style), OVLNET_* variables and the
// config file, all seen by a plain `ovlnet diff` exactly as by the daemon.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ovlnet } from '../lib/cli.js';
import { clusterYAML, defaultNodes, sh, withTopology } from '../lib/netns.js';

test('-n NS before the command is --netns after it: the same diff, the same apply', async () => {
  const nodes = defaultNodes(2);
  await withTopology(nodes, async (t) => {
    const [a] = t.nodes;
    const src = `file:${t.file('cluster.yaml', clusterYAML(nodes))}`;
    const before = await ovlnet(['-n', a.ns, '--source', src, 'diff', '--node', a.name, '-o', 'json']);
    const after = await ovlnet(['diff', '--netns', a.ns, '--source', src, '--node', a.name, '-o', 'json']);
    assert.is(before.code, 2, before.stderr);
    assert.is(before.stdout, after.stdout);
    const applied = await ovlnet(['--netns', a.ns, 'apply', '-s', src, '--node', a.name]);
    assert.is(applied.code, 0, applied.stderr);
    const clean = await ovlnet(['-n', a.ns, 'diff', '-s', src, '--node', a.name]);
    assert.is(clean.code, 0, clean.stdout + clean.stderr);
  });
});

test('a plain diff sees --ip-masq from OVLNET_IP_MASQ and from the config file: a flushed masquerade chain is drift', async () => {
  const nodes = defaultNodes(2);
  await withTopology(nodes, async (t) => {
    const [a] = t.nodes;
    const src = `file:${t.file('cluster.yaml', clusterYAML(nodes))}`;
    const base = ['--source', src, '--node', a.name, '--netns', a.ns];
    // The daemon's settings, as contrib/ovlnet.yaml would hold them.
    const config = t.file('ovlnet.yaml', 'ip-masq: true\n');
    const applied = await ovlnet(['apply', ...base, '--config', config]);
    assert.is(applied.code, 0, applied.stdout + applied.stderr);
    assert.match(await sh('ip', ['netns', 'exec', a.ns, 'iptables-save', '-t', 'nat']), '-j FLANNEL-POSTRTG');

    await sh('ip', ['netns', 'exec', a.ns, 'iptables', '-t', 'nat', '-F', 'FLANNEL-POSTRTG']);
    // Control: without the daemon's settings, diff cannot know the rules belong there.
    const blind = await ovlnet(['diff', ...base]);
    assert.is(blind.code, 0, blind.stdout + blind.stderr);

    for (const [how, extra, env] of [
      ['OVLNET_IP_MASQ', [], { OVLNET_IP_MASQ: 'true' }],
      ['--config', ['--config', config], {}],
      ['OVLNET_CONFIG', [], { OVLNET_CONFIG: config }],
    ] as Array<[string, string[], Record<string, string>]>) {
      const r = await ovlnet(['diff', ...base, ...extra], { env });
      assert.is(r.code, 2, `${how}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, '+ nat FLANNEL-POSTRTG', how);
    }
    // The flag still wins over both.
    const off = await ovlnet(['diff', ...base, '--config', config], { env: { OVLNET_IP_MASQ: 'false' } });
    assert.is(off.code, 0, off.stdout + off.stderr);

    const shown = await ovlnet(['config', '-o', 'json', 'diff', '--config', config], { env: { OVLNET_NETNS: a.ns } });
    assert.is(shown.code, 0, shown.stderr);
    const settings = (JSON.parse(shown.stdout) as { settings: Array<{ key: string; value: unknown; origin: string; from?: string }> }).settings;
    assert.equal(settings.find((s) => s.key === 'ip-masq'), { key: 'ip-masq', value: true, origin: 'file', from: config });
    assert.equal(settings.find((s) => s.key === 'netns'), { key: 'netns', value: a.ns, origin: 'env', from: 'OVLNET_NETNS' });

    const fixed = await ovlnet(['apply', ...base], { env: { OVLNET_CONFIG: config } });
    assert.is(fixed.code, 0, fixed.stdout + fixed.stderr);
    assert.is((await ovlnet(['diff', ...base], { env: { OVLNET_IP_MASQ: '1' } })).code, 0);
  });
});

test("flanneld's command line, Go style, runs ovlnet unchanged; flags ovlnet lacks are refused by name", async () => {
  const nodes = defaultNodes(2);
  await withTopology(nodes, async (t) => {
    const [a] = t.nodes;
    const src = `file:${t.file('cluster.yaml', clusterYAML(nodes))}`;
    // --iface as an address of this host (in the namespace), then a name that is not there: the first match wins.
    const flannelArgs = [`-iface=${a.publicIP}`, '-iface=eth9', '-ip-masq=true', `-public-ip=${a.publicIP}`];
    const applied = await ovlnet(['apply', `-source=${src}`, `-netns=${a.ns}`, ...flannelArgs]);
    assert.is(applied.code, 0, applied.stdout + applied.stderr);
    assert.match(await sh('ip', ['netns', 'exec', a.ns, 'iptables-save', '-t', 'nat']), '-j FLANNEL-POSTRTG');
    const clean = await ovlnet(['diff', '-s', src, '-n', a.ns], { env: { FLANNELD_IP_MASQ: 'true', FLANNELD_IFACE: 'eth0', FLANNELD_PUBLIC_IP: a.publicIP } });
    assert.is(clean.code, 0, clean.stdout + clean.stderr);
    const shown = await ovlnet(['config', '-o', 'json', '-n', a.ns, 'daemon', `--iface=${a.publicIP}`, '--kube-subnet-mgr', '--healthz-port=8471']);
    assert.is(shown.code, 0, shown.stderr);
    const settings = (JSON.parse(shown.stdout) as { settings: Array<{ key: string; value: unknown; from?: string }> }).settings;
    const get = (k: string) => settings.find((s) => s.key === k);
    assert.equal([get('source')?.value, get('source')?.from], ['kube:', '--kube-subnet-mgr']);
    assert.is(get('iface')?.value, 'eth0', 'the address resolved to its device in the namespace');
    assert.is(get('metrics-addr')?.value, '0.0.0.0:8471');

    for (const [args, flag] of [[['--iface-regex=eth.*'], '--iface-regex'], [['-iface-can-reach', '192.0.2.1'], '--iface-can-reach'], [['--kube-api-url=https://192.0.2.1:6443'], '--kube-api-url']] as Array<[string[], string]>) {
      const r = await ovlnet(['daemon', '-s', src, '-n', a.ns, ...args]);
      assert.is(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, `ovlnet: ${flag}: flanneld's ${flag} is not supported: `);
    }
  });
});

test('a config file with an unknown key, a missing --config file, a bad value: refused by name', async () => {
  await withTopology(defaultNodes(1), async (t) => {
    const typo = t.file('typo.yaml', 'ip-mask: true\n');
    const r = await ovlnet(['nodes', '--config', typo, '--source', 'file:/nonexistent']);
    assert.is(r.code, 1);
    assert.match(r.stderr, `ovlnet: ${typo}: unknown setting "ip-mask" (did you mean ip-masq?)`);
    const missing = await ovlnet(['nodes', '--config', `${t.tmp}/none.yaml`]);
    assert.is(missing.code, 1);
    assert.match(missing.stderr, `config file ${t.tmp}/none.yaml (from --config): no such file`);
    const bad = await ovlnet(['diff'], { env: { OVLNET_DISABLE_TX_OFFLOAD: 'sometimes' } });
    assert.is(bad.code, 1);
    assert.match(bad.stderr, 'ovlnet: OVLNET_DISABLE_TX_OFFLOAD: "sometimes" is not one of auto, on, off');
  });
});

test('--show-config prints the settings the command would run with and runs nothing; only from the command line', async () => {
  const env = { OVLNET_IP_MASQ: 'true', OVLNET_SOURCE: 'file:/nonexistent/cluster.yaml' };
  const rows: Array<[string[], RegExp]> = [
    [['diff', '--show-config', '--netns', 'nowhere'], /^ip-masq +true +env OVLNET_IP_MASQ$/m],
    [['--netns', 'nowhere', 'daemon', '--show-config'], /^netns +nowhere +flag/m],
    [['--show-config', 'apply', '--max-delete', '3'], /^max-delete +3 +flag$/m],
  ];
  for (const [argv, re] of rows) {
    const r = await ovlnet(argv, { env });
    assert.is(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /^Settings of ovlnet (diff|daemon|apply) /);
    assert.match(r.stdout, re, argv.join(' '));
    assert.not.match(r.stdout, /show-config/, 'not a setting itself');
  }
  const j = await ovlnet(['plan', '--show-config', '-o', 'json'], { env });
  assert.equal((JSON.parse(j.stdout) as { command: string; version: number }).command, 'plan');
  // From the environment it is not honoured: the command runs (here: the missing file is the error).
  const viaEnv = await ovlnet(['nodes'], { env: { ...env, OVLNET_SHOW_CONFIG: 'true' } });
  assert.is(viaEnv.code, 1, viaEnv.stdout);
  assert.match(viaEnv.stderr, /nonexistent/);
});

test.run();
