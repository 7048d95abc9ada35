import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Chalk } from 'chalk';
import { expiry, NODES_JSON_VERSION, nodesJSON, nodesText, type NodesView } from '../../../../src/render/views/nodes.js';
import { config, node } from '../../support/build.js';
import { backendOf } from '../../../../src/backends/registry.js';

const plain = new Chalk({ level: 0 });
const NOW = Date.parse('2026-12-03T10:00:00Z');
const base: NodesView = { config: config(), backend: 'vxlan (VNI 1, port 8472)', nodes: [node(0), node(1)], problems: [], now: NOW };

test('expiry: lease time to live as the table shows it', () => {
  const rows: Array<[Date | null | undefined, string]> = [
    [undefined, ''], [null, 'reservation'], [new Date(NOW - 1000), 'expired'],
    [new Date(NOW + 90_000), '1m30s'], [new Date(NOW + 3 * 3600_000 + 5 * 60_000), '3h05m'],
  ];
  for (const [at, want] of rows) assert.is(expiry(node(1, { expiresAt: at }), NOW), want);
});

test('nodesText and nodesJSON: the same nodes, counts and problems', () => {
  const bad = { subject: 'node node-9 (nodes[9]).publicIP', message: '"x" is not an IP address', code: 'invalid-node' as const, node: 'node-9', field: 'publicIP', value: '"x"' };
  const rows: Array<{ name: string; v: NodesView; last: string; summary: object; problems: object[] }> = [
    { name: 'two nodes', v: base, last: '2 nodes.', summary: { nodes: 2, problems: 0 }, problems: [] },
    { name: 'one node, one problem', v: { ...base, nodes: [node(0)], problems: [bad] }, last: '1 node, 1 problem (above).', summary: { nodes: 1, problems: 1 },
      problems: [{ code: 'invalid-node', subject: bad.subject, message: bad.message, node: 'node-9', field: 'publicIP', value: '"x"' }] },
    { name: 'none', v: { ...base, nodes: [] }, last: '0 nodes.', summary: { nodes: 0, problems: 0 }, problems: [] },
  ];
  for (const r of rows) {
    const lines = nodesText(r.v, plain, 'plain').split('\n');
    assert.is(lines[0], 'Network 198.18.0.0/16  subnet length /24  Backend vxlan (VNI 1, port 8472)', r.name);
    assert.is(lines.at(-1), r.last, r.name);
    if (!r.v.nodes.length) assert.ok(lines.includes('(no nodes)'), r.name);
    const j = JSON.parse(JSON.stringify(nodesJSON(r.v))) as { version: number; summary: object; nodes: Array<{ name: string }>; problems: object[] };
    assert.is(j.version, NODES_JSON_VERSION);
    assert.is(j.version, 2);
    assert.equal(j.summary, r.summary, r.name);
    assert.equal(j.nodes.map((n) => n.name), r.v.nodes.map((n) => n.name), r.name);
    assert.equal(j.problems, r.problems, r.name);
  }
});

test('nodesText: the backend\'s own columns, none for host-gw and udp', () => {
  const rows: Array<{ name: string; columns?: NodesView['columns']; head: string[]; cell: string }> = [
    { name: 'vxlan', columns: backendOf('vxlan').table.nodeColumns, head: ['Name', 'Subnet', 'Public IP', 'VTEP MAC'], cell: node(1).vtepMAC.text },
    { name: 'host-gw', columns: backendOf('host-gw').table.nodeColumns, head: ['Name', 'Subnet', 'Public IP'], cell: '' },
    { name: 'udp', columns: backendOf('udp').table.nodeColumns, head: ['Name', 'Subnet', 'Public IP'], cell: '' },
    { name: 'wireguard', columns: backendOf('wireguard').table.nodeColumns, head: ['Name', 'Subnet', 'Public IP', 'Public key'], cell: '-' },
  ];
  for (const r of rows) {
    const lines = nodesText({ ...base, columns: r.columns }, plain, 'plain').split('\n');
    const head = lines.find((l) => l.includes('Name'))!;
    assert.equal(head.trim().split(/\s{2,}/), r.head, r.name);
    assert.is(head.includes('VTEP MAC'), r.name === 'vxlan', r.name);
    if (r.cell) assert.ok(lines.some((l) => l.includes('node-1') && l.includes(r.cell)), r.name);
  }
  const key = 'mDsR4Lw1P4hnMuC35Xa/6Mxj0CzQ0M0mFLXhUlvuXm8=';
  const wg = nodesText({ ...base, columns: backendOf('wireguard').table.nodeColumns, nodes: [node(1, { backendData: { PublicKey: key } })] }, plain, 'plain');
  assert.ok(wg.includes(key), wg);
});

test.run();
