// flanneld's command line, accepted by ovlnet, so a flanneld unit file or the
// DaemonSet's `args:` work with `ovlnet daemon` unchanged:
//   - the flags ovlnet has under the same name (--ip-masq, --public-ip,
//     --iface, --subnet-file, --etcd-cafile/certfile/keyfile,
//     --etcd-username/password) are ovlnet's own options;
//   - the flags below map onto ovlnet's options (ALIASES, COMPOSED);
//   - flags whose behaviour ovlnet lacks are refused by name (REFUSED), with
//     the value ovlnet behaves as accepted (--subnet-lease-renew-margin=60);
//   - FLANNELD_<FLAG> variables work as flanneld reads them (settings.ts);
//   - Go's flag syntax: one dash (-iface=eth0) and --bool=true|false.
// Flags other work adds as ovlnet options under flannel's names
// (--iptables-forward-rules, --ip-masq-fully-random-disable,
// --iptables-resync, --set-node-network-unavailable) are in no alias or
// refusal table: they work the day they are defined in main.ts, with their
// FLANNELD_ variable (FLANNEL_ENV_KEYS), and this file never refuses them.
// Pure: data, and functions over commander's definitions and parsed values.
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { defaultEnvNames, keyOf, type EnvNames, type Setting } from './settings.js';

export const FLANNELD_ENV_PREFIX = 'FLANNELD_';

/** ovlnet options under flanneld's own names, that FLANNELD_<FLAG> also sets (when the command has them). */
const SAME_NAME = [
  'ip-masq', 'public-ip', 'iface', 'subnet-file', 'etcd-cafile', 'etcd-certfile', 'etcd-keyfile', 'etcd-username', 'etcd-password',
  // Added by other work; listed so their FLANNELD_ variables work once the options exist.
  'iptables-forward-rules', 'ip-masq-fully-random-disable', 'iptables-resync', 'set-node-network-unavailable',
];

interface Alias {
  flag: string;
  /** The ovlnet option it sets; added to a command only when the command has it. */
  to: string;
  arg?: string;
}

/** One flannel flag, one ovlnet option, the same value. */
export const ALIASES: Alias[] = [
  { flag: 'net-config-path', to: 'net-conf', arg: 'file' },
  { flag: 'kube-annotation-prefix', to: 'annotation-prefix', arg: 'prefix' },
];

interface Composed {
  flag: string;
  /** The ovlnet option the composition sets (the command must have it). */
  to: string;
  arg?: string;
}

/** Flags that together make one ovlnet option (see composeFlannelFlags). */
export const COMPOSED: Composed[] = [
  { flag: 'etcd-endpoints', to: 'source', arg: 'urls' },
  { flag: 'etcd-prefix', to: 'source', arg: 'prefix' },
  { flag: 'kube-subnet-mgr', to: 'source' },
  { flag: 'kubeconfig-file', to: 'source', arg: 'file' },
  { flag: 'healthz-ip', to: 'metrics-addr', arg: 'ip' },
  { flag: 'healthz-port', to: 'metrics-addr', arg: 'port' },
];

interface Refused {
  flag: string;
  arg?: string;
  why: string;
  /** A value that asks for what ovlnet does anyway: accepted. */
  accepts?: string;
}

export const REFUSED: Refused[] = [
  { flag: 'iface-regex', arg: 'regex', why: 'ovlnet does not pick the underlay by a regular expression; name it with --iface DEV or --iface IP' },
  { flag: 'iface-can-reach', arg: 'ip', why: 'ovlnet does not pick the underlay by a route lookup; name it with --iface DEV or --iface IP' },
  { flag: 'public-ipv6', arg: 'ip', why: "ovlnet takes a node's IPv6 address from the source, not from a flag" },
  { flag: 'kube-api-url', arg: 'url', why: 'ovlnet reaches the API server through a kubeconfig or the pod\'s service account; use --kubeconfig-file or --source kube:PATH' },
  { flag: 'subnet-lease-renew-margin', arg: 'minutes', why: 'ovlnet renews etcd leases 60 minutes before they expire, as flanneld by default', accepts: '60' },
];

const ALL = [...ALIASES, ...COMPOSED, ...REFUSED];

/** The flannel flags a command takes, as hidden options (help, man and completions show ovlnet's own). */
export function addFlannelFlags(cmd: Command): Command {
  const has = (key: string) => cmd.options.some((o) => o.long === `--${key}`);
  for (const f of [...ALIASES, ...COMPOSED]) {
    if (!has(f.to) || has(f.flag)) continue;
    cmd.addOption(new Option(f.arg ? `--${f.flag} <${f.arg}>` : `--${f.flag}`, `flanneld's --${f.flag}`).hideHelp());
  }
  if (has('source')) {
    for (const f of REFUSED) if (!has(f.flag)) cmd.addOption(new Option(`--${f.flag} <${f.arg}>`, `flanneld's --${f.flag} (refused)`).hideHelp());
  }
  return cmd;
}

/** The variables flanneld reads for option `key` (flagutil.SetFlagsFromEnv): FLANNELD_IP_MASQ. */
export function flanneldEnvName(key: string): string {
  return FLANNELD_ENV_PREFIX + key.toUpperCase().replace(/-/g, '_');
}

/** OVLNET_<FLAG> first, then FLANNELD_<FLAG> for the options flanneld has (a `--no-x` option: FLANNELD_X, x's value). */
export const withFlanneldEnv: EnvNames = (o) => {
  const positive = o.negate ? keyOf(o).replace(/^no-/, '') : keyOf(o);
  if (!FLANNEL_ENV_KEYS.has(positive)) return defaultEnvNames(o);
  return [...defaultEnvNames(o), { name: flanneldEnvName(positive), positive: o.negate ? true : undefined }];
};

/**
 * Go's flag syntax to commander's: `-iface=eth0` and `-ip-masq` (one dash,
 * a long name) become `--iface=eth0`, `--ip-masq`; `--ip-masq=true` becomes
 * `--ip-masq` and `--x=false` becomes `--no-x` (or nothing, when false is the
 * default and there is no --no-x). Names ovlnet does not know are left for
 * commander to refuse. Stops at `--`.
 */
export function goStyleArgs(argv: readonly string[], program: Command): string[] {
  const options = new Map<string, Option>();
  for (const c of [program, ...program.commands]) for (const o of c.options) if (o.long) options.set(o.long, o);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const known = (name: string) => options.has(`--${name}`) || options.has(`--no-${name}`);
    const single = /^-([a-z][a-z0-9-]+)((?:=[\s\S]*)?)$/.exec(a);
    if (single && known(single[1])) a = `--${single[1]}${single[2]}`;
    const withBool = /^--([a-z][a-z0-9-]*)=(true|false|1|0|t|f|TRUE|FALSE|True|False)$/.exec(a);
    if (withBool) {
      const name = withBool[1].replace(/^no-/, '');
      const pos = options.get(`--${name}`);
      const neg = options.get(`--no-${name}`);
      const isBool = (o?: Option) => o !== undefined && !(o.required || o.optional);
      if ((isBool(pos) || !pos) && (isBool(neg) || !neg) && (pos || neg)) {
        const on = /^(true|1|t)$/i.test(withBool[2]) !== withBool[1].startsWith('no-');
        if (on && pos) out.push(`--${name}`);
        else if (!on && neg) out.push(`--no-${name}`);
        // Otherwise the value asked for is the default: nothing to pass.
        continue;
      }
    }
    out.push(a);
  }
  return out;
}

function setting(settings: Setting[], key: string): Setting | undefined {
  const s = settings.find((x) => x.key === key);
  return s && s.origin !== 'default' && s.value !== undefined ? s : undefined;
}

const said = (s: Setting) => (s.origin === 'flag' ? `--${s.key}` : s.origin === 'env' ? s.from! : `${s.key} in ${s.from}`);

/** flanneld's --etcd-endpoints (http[s]://host:port, comma-separated) and --etcd-prefix as an ovlnet source URI. */
export function etcdSourceFromFlannel(endpoints: string, prefix: string | undefined): string {
  const urls = endpoints.split(',').map((e) => e.trim()).filter(Boolean);
  if (!urls.length) throw new UsageError('--etcd-endpoints: no endpoint');
  const schemes = new Set<string>();
  const hosts = urls.map((u) => {
    const m = /^(https?):\/\/([^/]+)\/?$/.exec(u);
    if (!m) throw new UsageError(`--etcd-endpoints: "${u.slice(0, 80)}" is not an http:// or https:// URL`, 'as flanneld takes it: --etcd-endpoints=https://192.0.2.1:2379,https://192.0.2.2:2379');
    schemes.add(m[1]);
    return m[2];
  });
  if (schemes.size > 1) throw new UsageError('--etcd-endpoints: mixes http:// and https:// endpoints', 'use one scheme for every endpoint');
  const scheme = schemes.has('https') ? 'etcds' : 'etcd';
  const p = prefix === undefined ? '' : `/${prefix.replace(/^\/+|\/+$/g, '')}`;
  return `${scheme}://${hosts.join(',')}${p === '/' ? '' : p}`;
}

/**
 * The ovlnet options that flanneld's flags given for this command make: the
 * source from --etcd-endpoints/--etcd-prefix or --kube-subnet-mgr/
 * --kubeconfig-file, --metrics-addr from --healthz-ip/--healthz-port, the
 * plain aliases; and the refusals. A flannel flag and the ovlnet option it
 * makes, both given, are refused as a conflict rather than one silently
 * winning.
 */
export function composeFlannelFlags(settings: Setting[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  /** Records the value an ovlnet option gets from flanneld's flag `by`, in the settings too. */
  const made = (attr: string, value: unknown, by: Setting) => {
    out[attr] = value;
    const s = settings.find((x) => x.attr === attr);
    if (s) Object.assign(s, { value, origin: by.origin, from: by.origin === 'flag' ? `--${by.key}` : by.from });
  };
  for (const r of REFUSED) {
    const s = setting(settings, r.flag);
    if (s && String(s.value) !== r.accepts) throw new UsageError(`${said(s)}: flanneld's --${r.flag} is not supported: ${r.why}`);
  }
  const conflict = (made: string, from: Setting[]) => {
    const own = setting(settings, made);
    if (own && from.length) throw new UsageError(`${said(own)} and ${said(from[0])} both set the ${made}: give one`);
  };
  for (const a of ALIASES) {
    const s = setting(settings, a.flag);
    if (!s) continue;
    conflict(a.to, [s]);
    made(settings.find((x) => x.key === a.to)!.attr, s.value, s);
  }
  const endpoints = setting(settings, 'etcd-endpoints');
  const prefix = setting(settings, 'etcd-prefix');
  const kube = setting(settings, 'kube-subnet-mgr');
  const kubeconfig = setting(settings, 'kubeconfig-file');
  if (endpoints || prefix || kube?.value || kubeconfig) {
    conflict('source', [endpoints, prefix, kube, kubeconfig].filter((s): s is Setting => s !== undefined));
    if (kube?.value) {
      if (endpoints) throw new UsageError(`${said(kube)} and ${said(endpoints)}: the Kubernetes API or etcd, not both`);
      made('source', `kube:${kubeconfig?.value ?? ''}`, kube);
    } else if (kubeconfig) {
      throw new UsageError(`${said(kubeconfig)} without --kube-subnet-mgr: flanneld would use etcd`, 'add --kube-subnet-mgr');
    } else {
      // flanneld's default endpoints.
      made('source', etcdSourceFromFlannel(String(endpoints?.value ?? 'http://127.0.0.1:2379'), prefix?.value as string | undefined), (endpoints ?? prefix)!);
    }
  }
  const hip = setting(settings, 'healthz-ip');
  const hport = setting(settings, 'healthz-port');
  if (hport && hport.value !== '0') {
    conflict('metrics-addr', [hport]);
    const port = Number(hport.value);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`${said(hport)}: "${String(hport.value)}" is not a port`);
    const ip = String(hip?.value ?? '0.0.0.0');
    made('metricsAddr', `${ip.includes(':') ? `[${ip}]` : ip}:${port}`, hport);
  }
  // --healthz-ip alone: flanneld serves nothing without --healthz-port, and neither does ovlnet.
  return out;
}

/** Every flannel flag this file knows, for the docs test. */
export const FLANNEL_FLAGS = ALL.map((f) => f.flag);

/** The option keys flanneld's FLANNELD_<FLAG> variables set. */
export const FLANNEL_ENV_KEYS: ReadonlySet<string> = new Set([...SAME_NAME, ...FLANNEL_FLAGS]);
