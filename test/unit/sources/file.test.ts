import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceError, UsageError } from '../../../src/errors.js';
import { FileSource, parseClusterDocument } from '../../../src/sources/file.js';
import { checkDepth, MAX_DEPTH, MAX_FILE_BYTES, MAX_YAML_ALIASES, parseDocument } from '../../../src/sources/parse-limits.js';
import { rawBackend, rawConfigFromObject } from '../../../src/sources/netconf.js';
import { openSource, resolveSourceURI, DEFAULT_SOURCE } from '../../../src/sources/index.js';
import { validateConfig } from '../../../src/validate/config.js';
import { rejectsLike, throwsLike } from '../support/build.js';

const ISSUE_YAML = `network: 10.244.0.0/16
subnetLen: 24                      # optional
backend: { type: vxlan, vni: 1, port: 8472 }   # or { type: host-gw }
nodes:
  - { name: node-a, publicIP: 192.168.121.137, subnet: 10.244.0.0/24 }
  - { name: node-b, publicIP: 192.168.121.138, subnet: 10.244.1.0/24, vtepMAC: "0e:5a:3c:11:22:33" }
`;

const FLANNEL_JSON = JSON.stringify({
  Network: '10.244.0.0/16',
  SubnetLen: 26,
  Backend: { Type: 'vxlan', VNI: 4096, Port: 4789, MTU: 1400, DirectRouting: true },
  Nodes: [{ Name: 'node-a', PublicIP: '192.168.121.137', Subnet: '10.244.0.0/26', VtepMAC: '0e:5a:3c:11:22:33' }],
});

test('the cluster file of the issue, YAML', async () => {
  const s = parseClusterDocument(await parseDocument(ISSUE_YAML, 'cluster.yaml', 'yaml'), 'cluster.yaml');
  assert.equal(s.config, {
    origin: 'cluster.yaml', network: '10.244.0.0/16', subnetLen: 24, subnetMin: undefined, subnetMax: undefined,
    backend: { type: 'vxlan', vni: 1, port: 8472, mtu: undefined, directRouting: undefined },
  });
  assert.equal(s.nodes, [
    { origin: 'cluster.yaml: nodes[0]', name: 'node-a', publicIP: '192.168.121.137', subnet: '10.244.0.0/24', vtepMAC: undefined },
    { origin: 'cluster.yaml: nodes[1]', name: 'node-b', publicIP: '192.168.121.138', subnet: '10.244.1.0/24', vtepMAC: '0e:5a:3c:11:22:33' },
  ]);
  assert.equal(s.warnings, []);
  assert.is(s.namedNodes, true);
});

test('the same cluster as JSON gives the same state', async () => {
  const yaml = parseClusterDocument(await parseDocument(ISSUE_YAML, 'c', 'yaml'), 'c');
  const json = parseClusterDocument(await parseDocument(JSON.stringify({
    network: '10.244.0.0/16', subnetLen: 24, backend: { type: 'vxlan', vni: 1, port: 8472 },
    nodes: [
      { name: 'node-a', publicIP: '192.168.121.137', subnet: '10.244.0.0/24' },
      { name: 'node-b', publicIP: '192.168.121.138', subnet: '10.244.1.0/24', vtepMAC: '0e:5a:3c:11:22:33' },
    ],
  }), 'c', 'json'), 'c');
  assert.equal(json, yaml);
});

test("flannel's net-conf.json spelling (Network, SubnetLen, Backend{Type,VNI,Port,MTU,DirectRouting})", async () => {
  const s = parseClusterDocument(await parseDocument(FLANNEL_JSON, 'net-conf.json', 'json'), 'net-conf.json');
  assert.equal(s.config.backend, { type: 'vxlan', vni: 4096, port: 4789, mtu: 1400, directRouting: true });
  assert.is(s.config.network, '10.244.0.0/16');
  assert.is(s.config.subnetLen, 26);
  assert.equal(s.nodes[0], { origin: 'net-conf.json: nodes[0]', name: 'node-a', publicIP: '192.168.121.137', subnet: '10.244.0.0/26', vtepMAC: '0e:5a:3c:11:22:33' });
  const c = validateConfig(s.config);
  assert.equal([c.network.text, c.subnetLen, c.backend], ['10.244.0.0/16', 26, { type: 'vxlan', vni: 4096, port: 4789, mtu: 1400, directRouting: true }]);
});

test("kube-flannel's stock net-conf.json validates to flannel's defaults", async () => {
  const text = '{\n  "Network": "10.244.0.0/16",\n  "EnableNFTables": false,\n  "Backend": {\n    "Type": "vxlan"\n  }\n}\n';
  const s = parseClusterDocument(await parseDocument(text, 'net-conf.json', 'json'), 'net-conf.json');
  assert.equal(s.nodes, []);
  const c = validateConfig(s.config);
  assert.equal([c.network.text, c.subnetLen, c.backend], ['10.244.0.0/16', 24, { type: 'vxlan', vni: 1, port: 8472, mtu: undefined, directRouting: false }]);
  const hg = validateConfig(parseClusterDocument(await parseDocument('{"Network":"10.244.0.0/16","Backend":{"Type":"host-gw"}}', 'x', 'json'), 'x').config);
  assert.equal(hg.backend, { type: 'host-gw' });
});

test('both spellings given: the last one wins, as Go reads them into flannel\'s struct (one file, one answer for both tools)', () => {
  const c = rawConfigFromObject({ network: '10.1.0.0/16', Network: '10.2.0.0/16', SubnetLen: 26, subnetLen: 25 }, 'o');
  assert.is(c.network, '10.2.0.0/16');
  assert.is(c.subnetLen, 25);
  assert.equal(rawBackend({ type: 'host-gw', Type: 'vxlan', VNI: 3 }), { type: 'vxlan', vni: 3, port: undefined, mtu: undefined, directRouting: undefined });
  assert.equal(rawConfigFromObject({ SubnetMin: '10.1.1.0', SubnetMax: '10.1.9.0', Backend: { Type: 'vxlan' } }, 'o'), {
    origin: 'o', network: undefined, subnetLen: undefined, subnetMin: '10.1.1.0', subnetMax: '10.1.9.0',
    backend: { type: 'vxlan', vni: undefined, port: undefined, mtu: undefined, directRouting: undefined },
  });
});

test('rawBackend keeps a non-mapping backend for validation to refuse', () => {
  assert.is(rawBackend(undefined), undefined);
  assert.equal(rawBackend('host-gw'), { type: 'host-gw' });
  assert.equal(rawBackend(['vxlan']), { type: ['vxlan'] });
  assert.equal(rawBackend(42), { type: 42 });
  throwsLike(() => validateConfig({ origin: 'o', network: '10.244.0.0/16', backend: rawBackend(['vxlan']) }), Error, /unknown backend type \["vxlan"\]/);
});

test('parseClusterDocument refuses documents that are not a mapping', () => {
  const rows: Array<[unknown, RegExp]> = [
    [null, /^f\.yaml: expected a mapping with network, backend and nodes$/],
    ['network: x', /expected a mapping/],
    [42, /expected a mapping/],
    [[{ network: '10.0.0.0/8' }], /expected a mapping/],
    [{ network: '10.0.0.0/8', nodes: 'node-a' }, /^f\.yaml: "nodes" must be a list$/],
    [{ network: '10.0.0.0/8', nodes: { a: 1 } }, /"nodes" must be a list/],
    [{ network: '10.0.0.0/8', Nodes: 7 }, /"nodes" must be a list/],
  ];
  for (const [doc, re] of rows) throwsLike(() => parseClusterDocument(doc, 'f.yaml'), SourceError, re);
});

test('a node entry that is not a mapping is a warning, the others are kept', () => {
  const s = parseClusterDocument({ network: '10.244.0.0/16', nodes: ['node-a', null, { name: 'b' }, [1], 3] }, 'f');
  assert.equal(s.nodes.map((n) => [n.origin, n.name]), [['f: nodes[2]', 'b']]);
  assert.equal(s.warnings, [
    'f: nodes[0]: not a mapping; skipped',
    'f: nodes[1]: not a mapping; skipped',
    'f: nodes[3]: not a mapping; skipped',
    'f: nodes[4]: not a mapping; skipped',
  ]);
  assert.equal(parseClusterDocument({ network: '10.244.0.0/16' }, 'f').nodes, []);
});

test('node values are passed through raw (validation judges them), unknown keys ignored', () => {
  const s = parseClusterDocument({ nodes: [{ name: 7, publicIP: ['x'], subnet: { a: 1 }, vtepMAC: null, extra: 'dev eth0' }] }, 'f');
  // A null vtepMAC reads as absent (`??`), which validation treats as "derive it".
  assert.equal(s.nodes[0], { origin: 'f: nodes[0]', name: 7, publicIP: ['x'], subnet: { a: 1 }, vtepMAC: undefined });
});

test('parseDocument: syntax errors name the file, line and column, and show the offending line, on one line', async () => {
  const rows: Array<[string, 'json' | 'yaml', string | RegExp]> = [
    ['{"network": ', 'json', /^c\.json:1:\d+: invalid JSON: Unexpected end of JSON input; line 1: \{"network":$/],
    ['{"network": "10.0.0.0/8"\n "backend": {}}', 'json', /^c\.json:2:2: invalid JSON: Expected ',' or '}' after property value; line 2: "backend": \{\}\}$/],
    ['{network: 1}', 'json', /^c\.json:1:2: invalid JSON: .*; line 1: \{network: 1\}$/],
    ['a: [1, 2', 'yaml', /^c\.json:1:\d+: invalid YAML: .*; line 1: a: \[1, 2$/],
    ['a: 1\na: 2\n', 'yaml', 'c.json:2:1: invalid YAML: Map keys must be unique; line 2: a: 2'],
    ['network: 10.0.0.0/8\nnodes:\n  - name node-b\n    subnet: x\n', 'yaml', 'c.json:3:5: invalid YAML: Implicit keys need to be on a single line; line 3: - name node-b'],
    ['a: b: c', 'yaml', /^c\.json:1:\d+: invalid YAML: .*; line 1: a: b: c$/],
    ['\t- x', 'yaml', /^c\.json:1:1: invalid YAML: .*; line 1: - x$/],
  ];
  for (const [text, fmt, want] of rows) {
    const e = await rejectsLike(parseDocument(text, 'c.json', fmt), SourceError, /./);
    assert.not.match(e.message, /\n/, `one line: ${JSON.stringify(e.message)}`);
    if (typeof want === 'string') assert.is(e.message, want);
    else assert.match(e.message, want);
  }
});

test('parseDocument: a very long offending line is shown around the column, not whole', async () => {
  const text = `{"nodes": [${Array.from({ length: 200 }, (_, i) => `{"name": "n${i}"}`).join(', ')} oops]}`;
  const e = await rejectsLike(parseDocument(text, 'big.json', 'json'), SourceError, /^big\.json:1:\d+: invalid JSON: /);
  assert.ok(e.message.length < 250, e.message);
  assert.match(e.message, /…/);
  assert.match(e.message, /oops/);
});

test('parseDocument: a YAML alias bomb fails fast with a clear message', async () => {
  const levels = 'abcdefghi'.split('');
  const lines = [`a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`];
  for (let i = 1; i < levels.length; i++) {
    const prev = levels[i - 1];
    lines.push(`${levels[i]}: &${levels[i]} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  // 9^9 = 387 million strings if expanded.
  const e = await rejectsLike(parseDocument(lines.join('\n') + '\n', 'bomb.yaml', 'yaml'), SourceError,
    new RegExp(`^bomb\\.yaml: too many YAML aliases \\(more than ${MAX_YAML_ALIASES}\\); refusing a possible alias bomb$`));
  assert.ok(e);
  // A few honest aliases are fine.
  const ok = await parseDocument('base: &b {type: vxlan}\nbackend: *b\nother: *b\n', 'ok.yaml', 'yaml');
  assert.equal(ok, { base: { type: 'vxlan' }, backend: { type: 'vxlan' }, other: { type: 'vxlan' } });
});

test('parseDocument: merge keys are not merged (merge limits: none at all)', async () => {
  const d = await parseDocument('x: &x {network: 10.0.0.0/8}\ny:\n  <<: *x\n', 'm.yaml', 'yaml') as Record<string, any>;
  assert.is(d.y.network, undefined);
  assert.equal(d.y['<<'], { network: '10.0.0.0/8' });
});

test('parseDocument: YAML tags do not execute or construct anything', async () => {
  const d = await parseDocument('a: !!js/function "function(){}"\nb: !!binary aGk=\n', 't.yaml', 'yaml') as Record<string, unknown>;
  assert.is(typeof d.a, 'string');
});

test('parseDocument: depth limit, JSON and YAML, shallow and very deep', async () => {
  const deepJSON = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const deepMap = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
  const rows: Array<[string, 'json' | 'yaml']> = [
    [deepJSON(MAX_DEPTH + 1), 'json'],
    [deepMap(MAX_DEPTH + 1), 'json'],
    [deepJSON(200_000), 'json'],
    [deepJSON(MAX_DEPTH + 1), 'yaml'],
    [Array.from({ length: 40 }, (_, i) => ' '.repeat(i * 2) + 'k:').join('\n') + ' 1\n', 'yaml'],
    // deep enough to exhaust the yaml parser's stack: still the clear message
    [deepJSON(2_000), 'yaml'],
    ['{a: '.repeat(2_000) + '1' + '}'.repeat(2_000), 'yaml'],
  ];
  for (const [text, fmt] of rows) {
    await rejectsLike(parseDocument(text, 'deep', fmt), SourceError, new RegExp(`^deep: nested deeper than ${MAX_DEPTH} levels$`));
  }
  // Exactly at the limit is accepted.
  assert.ok(await parseDocument(deepJSON(MAX_DEPTH), 'ok', 'json'));
  assert.ok(await parseDocument(deepJSON(MAX_DEPTH), 'ok', 'yaml'));
});

test('checkDepth counts containers, not scalars', () => {
  checkDepth({ a: { b: 1 } }, 'o', 2);
  throwsLike(() => checkDepth({ a: { b: { c: 1 } } }, 'o', 2), SourceError, /^o: nested deeper than 2 levels$/);
  checkDepth('scalar', 'o', 0);
});

test('parseDocument: size cap', async () => {
  const big = ' '.repeat(MAX_FILE_BYTES + 1);
  await rejectsLike(parseDocument(big, 'big.yaml', 'yaml'), SourceError, new RegExp(`^big\\.yaml: larger than ${MAX_FILE_BYTES} bytes$`));
  await rejectsLike(parseDocument(big, 'big.json', 'json'), SourceError, /larger than/);
});

test('FileSource: loads YAML and JSON files, picks JSON by extension or a leading brace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-unit-'));
  try {
    const y = join(dir, 'cluster.yaml');
    writeFileSync(y, ISSUE_YAML);
    const j = join(dir, 'net-conf.json');
    writeFileSync(j, FLANNEL_JSON);
    const jy = join(dir, 'json-in.yaml');
    writeFileSync(jy, '  ' + FLANNEL_JSON);
    const sy = await new FileSource(`file:${y}`).load();
    assert.is(sy.nodes.length, 2);
    assert.is(sy.config.origin, y);
    assert.is(sy.nodes[1].origin, `${y}: nodes[1]`);
    const sj = await new FileSource(`file:${j}`).load();
    assert.is(sj.config.backend?.vni, 4096);
    assert.equal((await new FileSource(`file:${jy}`).load()).config, { ...sj.config, origin: jy });
    // A .json file with a YAML-only construct is a JSON error, not silently YAML.
    writeFileSync(j, '{"Network": "10.0.0.0/8",}');
    await rejectsLike(new FileSource(`file:${j}`).load(), SourceError, /invalid JSON/);
    // A YAML file written as one flow mapping is YAML, even though it starts with a brace.
    const flow = join(dir, 'flow.yaml');
    writeFileSync(flow, '{ network: 10.244.0.0/16, backend: { type: host-gw }, nodes: [ { name: a, publicIP: 192.0.2.1, subnet: 10.244.1.0/24 } ] }\n');
    const sf = await new FileSource(`file:${flow}`).load();
    assert.equal([sf.config.network, sf.config.backend?.type, sf.nodes[0].name], ['10.244.0.0/16', 'host-gw', 'a']);
    writeFileSync(flow, '{ network: [ }\n');
    await rejectsLike(new FileSource(`file:${flow}`).load(), SourceError, /invalid YAML/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('FileSource: missing file, too large file (checked before reading), no path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-unit-'));
  try {
    const missing = join(dir, 'nope.yaml');
    const e = await rejectsLike(new FileSource(`file:${missing}`).load(), SourceError, new RegExp(`^cannot read cluster file ${missing}: no such file$`));
    assert.is((e as SourceError).hint, 'pass --source file:PATH or set OVLNET_SOURCE');
    const big = join(dir, 'big.yaml');
    writeFileSync(big, '');
    truncateSync(big, MAX_FILE_BYTES + 1); // sparse: costs no disk
    await rejectsLike(new FileSource(`file:${big}`).load(), SourceError, new RegExp(`^${big}: larger than ${MAX_FILE_BYTES} bytes$`));
    await rejectsLike(new FileSource(`file:${dir}`).load(), SourceError, /^cannot read cluster file /);
    throwsLike(() => new FileSource('file:'), SourceError, /^source file:: no path after file:$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('source URI: flag, then $OVLNET_SOURCE, then the default; unknown schemes refused', async () => {
  assert.is(resolveSourceURI('file:/a', { OVLNET_SOURCE: 'file:/b' }), 'file:/a');
  assert.is(resolveSourceURI(undefined, { OVLNET_SOURCE: 'file:/b' }), 'file:/b');
  assert.is(resolveSourceURI(undefined, {}), DEFAULT_SOURCE);
  assert.is(DEFAULT_SOURCE, 'file:/etc/ovlnet/cluster.yaml');
  const e = await rejectsLike(openSource('/etc/ovlnet/cluster.yaml'), UsageError, /^unknown source "\/etc\/ovlnet\/cluster\.yaml"/);
  assert.is((e as UsageError).hint, 'did you mean --source file:/etc/ovlnet/cluster.yaml?');
  const e2 = await rejectsLike(openSource('http://x'), UsageError, /unknown source/);
  assert.is((e2 as UsageError).hint, undefined);
  assert.instance(await openSource('file:/tmp/x.yaml'), FileSource);
});

test('FileSource: a UTF-8 file is decoded as UTF-8 (an ASCII one is read the fast way), JSON and YAML', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovlnet-utf8-'));
  try {
    const name = 'n\u0153ud-\u00e9t\u00e9-\u{1F600}';
    const files: Array<[string, string]> = [
      ['c.json', JSON.stringify({ network: '198.18.0.0/16', nodes: [{ name, publicIP: '192.0.2.1', subnet: '198.18.1.0/24' }] })],
      ['c.yaml', `# r\u00e9seau\nnetwork: 198.18.0.0/16\nnodes:\n  - { name: "${name}", publicIP: 192.0.2.1, subnet: 198.18.1.0/24 }\n`],
    ];
    for (const [file, text] of files) {
      writeFileSync(join(dir, file), text);
      const src = new FileSource(`file:${join(dir, file)}`);
      assert.is((await src.load()).nodes[0].name, name, file);
      // Read again after a change (a daemon's later reads splice or step from the first).
      writeFileSync(join(dir, `${file}.tmp`), text.replace('192.0.2.1', '192.0.2.9'));
      renameSync(join(dir, `${file}.tmp`), join(dir, file)); // whole: taken at once

      const again = await src.load();
      assert.equal([again.nodes[0].name, again.nodes[0].publicIP], [name, '192.0.2.9'], `${file}, read again`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
