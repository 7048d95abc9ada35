// flanneld's command line and FLANNELD_ variables, as ovlnet takes them:
// aliases where ovlnet has the behaviour, refusals by name where it has not,
// Go's flag syntax, and never a refusal of a flag other work adds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { resolveSettings } from '../../src/cli/settings.js';
import { composeFlannelFlags, etcdSourceFromFlannel, FLANNEL_ENV_KEYS, FLANNEL_FLAGS, goStyleArgs, REFUSED, withFlanneldEnv } from '../../src/cli/flannel-flags.js';
import { pickIface, ifaceNeedsHost } from '../../src/cli/iface.js';
import { parseLinks } from '../../src/host/parse.js';
import { parsePrefix } from '../../src/model/ip.js';
import type { HostLink } from '../../src/model/types.js';


/** What `ovlnet daemon ARGS` runs with, flanneld's flags composed. */
async function daemonOptions(args: string[], env: Record<string, string> = {}, extend?: (daemon: Command) => void): Promise<Record<string, unknown>> {
  const program = buildProgram().exitOverride();
  if (extend) extend(program.commands.find((c) => c.name() === 'daemon')!);
  let got: Record<string, unknown> | undefined;
  let error: unknown;
  for (const c of program.commands) {
    c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    c.action(function (this: Command) {
      try {
        const settings = resolveSettings(this, env, undefined, withFlanneldEnv);
        got = { ...this.opts(), ...composeFlannelFlags(settings) };
      } catch (e) {
        error = e;
      }
    });
  }
  await program.parseAsync(goStyleArgs(['daemon', ...args], program), { from: 'user' });
  if (error) throw error;
  return got!;
}

const ACCEPTED: Array<[string, string[], Record<string, string>, Record<string, unknown>]> = [
  ["kube-flannel.yml's args", ['--ip-masq', '--kube-subnet-mgr'], {}, { ipMasq: true, source: 'kube:' }],
  ['a unit file in Go style', ['-etcd-endpoints=https://192.0.2.1:2379,https://192.0.2.2:2379', '-etcd-prefix=/coreos.com/network', '-iface=eth0', '-ip-masq'], {},
    { source: 'etcds://192.0.2.1:2379,192.0.2.2:2379/coreos.com/network', iface: ['eth0'], ipMasq: true }],
  ['Go bools with =true/=false', ['--ip-masq=false', '--kube-subnet-mgr=true'], {}, { ipMasq: undefined, source: 'kube:' }],
  ['--kubeconfig-file', ['--kube-subnet-mgr', '--kubeconfig-file=/etc/kubernetes/flannel.conf'], {}, { source: 'kube:/etc/kubernetes/flannel.conf' }],
  ['--etcd-prefix alone: flanneld\'s default endpoint', ['--etcd-prefix', '/my/net'], {}, { source: 'etcd://127.0.0.1:2379/my/net' }],
  ['--net-config-path and --kube-annotation-prefix', ['-net-config-path', '/etc/kube-flannel/net-conf.json', '--kube-annotation-prefix=example.com'], {},
    { netConf: '/etc/kube-flannel/net-conf.json', annotationPrefix: 'example.com' }],
  ['--healthz-ip/--healthz-port', ['--healthz-ip=127.0.0.1', '--healthz-port=8471'], {}, { metricsAddr: '127.0.0.1:8471' }],
  ['--healthz-port alone listens everywhere, as flanneld', ['--healthz-port', '8471'], {}, { metricsAddr: '0.0.0.0:8471' }],
  ['--healthz-port=0 serves nothing, as flanneld', ['--healthz-port=0'], {}, { metricsAddr: undefined }],
  ['--iface repeated, names and addresses', ['--iface', 'eth1', '-iface=192.0.2.10'], {}, { iface: ['eth1', '192.0.2.10'] }],
  ['--etcd-username/--etcd-password', ['--etcd-username', 'flannel', '--etcd-password=secret'], {}, { etcdUsername: 'flannel', etcdPassword: 'secret' }],
  ['--subnet-lease-renew-margin at the margin ovlnet uses', ['--subnet-lease-renew-margin=60'], {}, {}],
  ['FLANNELD_ variables', [], { FLANNELD_IP_MASQ: 'true', FLANNELD_KUBE_SUBNET_MGR: '1', FLANNELD_IFACE: 'eth0', FLANNELD_PUBLIC_IP: '192.0.2.10' },
    { ipMasq: true, source: 'kube:', iface: ['eth0'], publicIp: '192.0.2.10' }],
  ['OVLNET_ wins over FLANNELD_', [], { FLANNELD_IFACE: 'eth0', OVLNET_IFACE: 'eth1' }, { iface: ['eth1'] }],
  ['a flag wins over FLANNELD_', ['--iface=eth2'], { FLANNELD_IFACE: 'eth0' }, { iface: ['eth2'] }],
  ['FLANNELD_ sets only flags flanneld has', [], { FLANNELD_NODE: 'x', FLANNELD_INTERVAL: '1s' }, { node: undefined, interval: '10s' }],
];

for (const [name, args, env, want] of ACCEPTED) {
  test(`accepted: ${name}`, async () => {
    const o = await daemonOptions(args, env);
    for (const [k, v] of Object.entries(want)) assert.equal(o[k], v, k);
  });
}

const REFUSALS: Array<[string, string[], Record<string, string>, string]> = [
  ['--iface-regex', ['--iface-regex=eth.*'], {}, "--iface-regex: flanneld's --iface-regex is not supported: ovlnet does not pick the underlay by a regular expression"],
  ['-iface-can-reach (Go style)', ['-iface-can-reach=192.0.2.1'], {}, "--iface-can-reach: flanneld's --iface-can-reach is not supported"],
  ['--public-ipv6', ['--public-ipv6', '2001:db8::1'], {}, "--public-ipv6: flanneld's --public-ipv6 is not supported"],
  ['--kube-api-url', ['--kube-api-url=https://192.0.2.1:6443'], {}, "--kube-api-url: flanneld's --kube-api-url is not supported"],
  ['another renew margin', ['--subnet-lease-renew-margin=30'], {}, "--subnet-lease-renew-margin: flanneld's --subnet-lease-renew-margin is not supported"],
  ['a refused flag from FLANNELD_', [], { FLANNELD_IFACE_REGEX: 'eth.*' }, "FLANNELD_IFACE_REGEX: flanneld's --iface-regex is not supported"],
  ['--source with --etcd-endpoints', ['--source', 'file:/x', '--etcd-endpoints=http://192.0.2.1:2379'], {}, '--source and --etcd-endpoints both set the source: give one'],
  ['--metrics-addr with --healthz-port', ['--metrics-addr', '127.0.0.1:1', '--healthz-port=2'], {}, '--metrics-addr and --healthz-port both set the metrics-addr'],
  ['--kube-subnet-mgr with --etcd-endpoints', ['--kube-subnet-mgr', '--etcd-endpoints=http://192.0.2.1:2379'], {}, 'the Kubernetes API or etcd, not both'],
  ['--kubeconfig-file without --kube-subnet-mgr', ['--kubeconfig-file=/k'], {}, '--kubeconfig-file without --kube-subnet-mgr'],
  ['--net-config-path with --net-conf', ['--net-conf', '/a', '--net-config-path=/b'], {}, '--net-conf and --net-config-path both set the net-conf'],
];

for (const [name, args, env, message] of REFUSALS) {
  test(`refused by name: ${name}`, async () => {
    try {
      await daemonOptions(args, env);
    } catch (e) {
      assert.match(String((e as Error).message), message);
      return;
    }
    assert.unreachable('accepted');
  });
}

test('flags other work adds under flanneld names are never refused, and work with their FLANNELD_ variable once defined', async () => {
  const others = ['iptables-forward-rules', 'ip-masq-fully-random-disable', 'iptables-resync', 'set-node-network-unavailable'];
  for (const f of others) {
    assert.not.ok(REFUSED.some((r) => r.flag === f), f);
    assert.not.ok(FLANNEL_FLAGS.includes(f) && !FLANNEL_ENV_KEYS.has(f), f);
  }
  const o = await daemonOptions(['-iptables-forward-rules=false', '--iptables-resync=7'], { FLANNELD_SET_NODE_NETWORK_UNAVAILABLE: 'false' }, (d) => {
    d.option('--no-iptables-forward-rules', 'as another developer may define it');
    d.option('--iptables-resync <seconds>', 'as another developer may define it', '5');
    d.option('--no-set-node-network-unavailable', 'as another developer may define it');
  });
  assert.is(o.iptablesForwardRules, false);
  assert.is(o.iptablesResync, '7');
  assert.is(o.setNodeNetworkUnavailable, false);
});

test("Go's flag syntax: one dash, =true/=false; short options and unknown names untouched", () => {
  const program = buildProgram();
  const rows: Array<[string[], string[]]> = [
    [['daemon', '-iface=eth0', '-ip-masq'], ['daemon', '--iface=eth0', '--ip-masq']],
    [['daemon', '-iface', 'eth0'], ['daemon', '--iface', 'eth0']],
    [['daemon', '--ip-masq=true'], ['daemon', '--ip-masq']],
    [['daemon', '--ip-masq=false'], ['daemon']],
    [['plan', '--no-color=false'], ['plan']],
    [['plan', '-no-color=true'], ['plan', '--no-color']],
    [['diff', '-n', 'ns1', '-o', 'json'], ['diff', '-n', 'ns1', '-o', 'json']],
    [['daemon', '-bogus-flag=1'], ['daemon', '-bogus-flag=1']],
    [['daemon', '--', '-iface=eth0'], ['daemon', '--', '-iface=eth0']],
    [['daemon', '--source=file:/a=b'], ['daemon', '--source=file:/a=b']],
  ];
  for (const [argv, want] of rows) assert.equal(goStyleArgs(argv, program), want, argv.join(' '));
});

test("--etcd-endpoints as flanneld writes them, as an ovlnet source", () => {
  const rows: Array<[string, string | undefined, string]> = [
    ['http://127.0.0.1:2379', undefined, 'etcd://127.0.0.1:2379'],
    ['https://192.0.2.1:2379,https://192.0.2.2:2379/', '/coreos.com/network', 'etcds://192.0.2.1:2379,192.0.2.2:2379/coreos.com/network'],
    ['http://[2001:db8::1]:2379', 'my/prefix/', 'etcd://[2001:db8::1]:2379/my/prefix'],
  ];
  for (const [e, p, want] of rows) assert.is(etcdSourceFromFlannel(e, p), want);
  assert.throws(() => etcdSourceFromFlannel('http://a:1,https://b:2', undefined), /mixes http/);
  assert.throws(() => etcdSourceFromFlannel('192.0.2.1:2379', undefined), /not an http/);
});

const link = (name: string, ...addrs: string[]): HostLink => ({ name, index: 1, mtu: 1500, up: true, addrs: addrs.map((a) => parsePrefix(a)!) });

test('--iface: the first name or address that is on this host', () => {
  const links = new Map([['eth0', link('eth0', '192.0.2.10/24')], ['eth1', link('eth1', '198.51.100.10/24', '2001:db8::10/64')]]);
  const rows: Array<[string[], string]> = [
    [['eth1'], 'eth1'],
    [['192.0.2.10'], 'eth0'],
    [['eth9', '198.51.100.10'], 'eth1'],
    [['2001:db8::10', 'eth0'], 'eth1'],
    [['203.0.113.1', 'eth0'], 'eth0'],
  ];
  for (const [values, want] of rows) assert.is(pickIface(values, links), want, values.join(','));
  assert.throws(() => pickIface(['eth9', '203.0.113.1'], links), /--iface eth9, 203\.0\.113\.1: none of these is a device or an address of this host/);
  assert.not.ok(ifaceNeedsHost(['eth0']));
  assert.ok(ifaceNeedsHost(['192.0.2.10']));
  assert.ok(ifaceNeedsHost(['eth0', 'eth1']));
  assert.ok(parseLinks); // the host parser is what feeds pickIface in the CLI
});

test.run();
