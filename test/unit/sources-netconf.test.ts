// flannel's net-conf.json spelling, read as Go's encoding/json reads it into
// flannel's Config and VXLANConfig structs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rawConfigFromObject } from '../../src/sources/netconf.js';
import { validateCluster, validateConfig } from '../../src/validate/index.js';

const O = 'ConfigMap kube-flannel/kube-flannel-cfg key net-conf.json';
const parse = (json: string, flannel = true) => rawConfigFromObject(JSON.parse(json), O, { flannel });

test('keys match case-insensitively, as Go matches JSON keys to struct fields', () => {
  const rows: Array<[string, Record<string, unknown>]> = [
    ['{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","DirectRouting":true}}', { network: '10.244.0.0/16', type: 'vxlan', directRouting: true }],
    ['{"network":"10.244.0.0/16","backend":{"type":"vxlan","directRouting":true}}', { network: '10.244.0.0/16', type: 'vxlan', directRouting: true }],
    ['{"NETWORK":"10.244.0.0/16","bAcKeNd":{"TYPE":"vxlan","Directrouting":true,"mTu":1400,"vni":7,"PORT":4789}}',
      { network: '10.244.0.0/16', type: 'vxlan', directRouting: true, mtu: 1400, vni: 7, port: 4789 }],
    ['{"Network":"10.244.0.0/16","subnetlen":26,"SUBNETMIN":"10.244.1.0","subnetMAX":"10.244.9.0","Backend":{"Type":"vxlan","gbp":true,"LEARNING":true}}',
      { network: '10.244.0.0/16', subnetLen: 26, subnetMin: '10.244.1.0', subnetMax: '10.244.9.0', type: 'vxlan', gbp: true, learning: true }],
    // Two spellings of one field: the last one in the document wins, as in Go.
    ['{"Network":"10.1.0.0/16","network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":3,"vni":4}}', { network: '10.244.0.0/16', type: 'vxlan', vni: 4 }],
    // null leaves a Go field as it was.
    ['{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":5,"vni":null}}', { network: '10.244.0.0/16', type: 'vxlan', vni: 5 }],
  ];
  for (const [json, want] of rows) {
    const raw = parse(json);
    const got: Record<string, unknown> = { network: raw.network, subnetLen: raw.subnetLen, subnetMin: raw.subnetMin, subnetMax: raw.subnetMax, ...raw.backend };
    for (const k of Object.keys(got)) if (got[k] === undefined) delete got[k];
    assert.equal(got, want, json);
  }
  const dual = parse('{"network":"10.244.0.0/16","ipv6network":"2001:db8:100::/48","enableipv6":true,"Backend":{"Type":"vxlan"}}');
  assert.is(validateConfig(dual).ipv6?.network.text, '2001:db8:100::/48');
});

test('a missing Backend: vxlan, with a warning that flanneld would use udp (net-conf only, not cluster files)', () => {
  const raw = parse('{"Network":"10.244.0.0/16"}');
  assert.is(validateConfig(raw).backend.type, 'vxlan');
  assert.is(raw.warnings?.length, 1);
  assert.match(raw.warnings![0], /^ConfigMap kube-flannel\/kube-flannel-cfg key net-conf\.json: no Backend: ovlnet uses vxlan, but flanneld would use its udp backend/);
  const problems = validateCluster({ config: raw, nodes: [{ origin: 'n', name: 'a', publicIP: '192.0.2.10', subnet: '10.244.1.0/24' }], warnings: [], namedNodes: true }, { name: 'a' }).problems;
  assert.equal(problems.map((p) => p.subject), ['source']);
  assert.equal(parse('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}').warnings, undefined);
  assert.equal(parse('{"Network":"10.244.0.0/16"}', false).warnings, undefined, 'a cluster file defaults to vxlan silently');
});

test.run();
