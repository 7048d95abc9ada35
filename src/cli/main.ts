// The command line. Commands are thin and loaded on demand, so
// `ovlnet --version` never pays for the libraries a command needs.
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
// context.js pulls in chalk: imported when a command runs, not for --version/--help.
import type { Context, GlobalOptions } from './context.js';
import { EXIT_ERROR, reportError } from './exit.js';
import { UsageError } from '../errors.js';
import { packageInfo } from '../package.js';
import { settleColorEnv } from './color-env.js';
import { checkConfigKeys, configFileChoice, mergeGlobalFlags, resolveSettings, settingKeys, type Setting } from './settings.js';
import { addFlannelFlags, composeFlannelFlags, goStyleArgs, withFlanneldEnv } from './flannel-flags.js';
import { ifaceNeedsHost, pickIface } from './iface.js';

const pkg = packageInfo();

type Handler = (opts: any, ctx: Context) => Promise<number>;
type Loader = () => Promise<{ default: Handler }>;

function sourceOptions(cmd: Command, withNode = true): Command {
  cmd
    .option('-s, --source <uri>', 'cluster state source: file:PATH, etcd://HOST:PORT[/PREFIX], kube:[KUBECONFIG] (default: $OVLNET_SOURCE, else file:/etc/ovlnet/cluster.yaml)')
    .option('--etcd-cafile <file>', 'etcd TLS: CA certificate')
    .option('--etcd-certfile <file>', 'etcd TLS: client certificate')
    .option('--etcd-keyfile <file>', 'etcd TLS: client key')
    .option('--etcd-username <name>', 'etcd authentication: user name (with --etcd-password)')
    .option('--etcd-password <password>', 'etcd authentication: password (prefer $OVLNET_ETCD_PASSWORD: a flag shows in ps)')
    .option('--net-conf <file>', 'Kubernetes: net-conf.json to use instead of the kube-flannel-cfg ConfigMap')
    .option('--annotation-prefix <prefix>', 'Kubernetes: node annotation prefix', 'flannel.alpha.coreos.com');
  if (withNode) {
    cmd
      .option('--node <name>', 'local node name (default: the host name, or the node owning a local address)')
      .option('--public-ip <ip>', 'find the local node by this public IP')
      .option('--iface <dev|ip>', 'underlay device, by name or address; repeatable: the first on this host (default: the one holding the local public IP)', (v: string, prev?: string[]) => [...(prev ?? []), v])
      .option('-n, --netns <name>', 'read and write in this network namespace (ip -n)');
  }
  return commonOptions(cmd);
}

/** Options every command takes; they may also come before the command (`ovlnet --debug diff`). */
function commonOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'settings file: long options without dashes, e.g. "ip-masq: true" (default: $OVLNET_CONFIG, else /etc/ovlnet/ovlnet.yaml if present)')
    .option('--debug', 'print stack traces on errors')
    .option('--show-config', 'print the settings this command would run with and where each comes from, and exit (as "ovlnet config COMMAND")')
    .option('--no-color', 'never colour the output');
}

/** A boolean flag's value as flanneld (Go's flag package) reads it: --iptables-forward-rules=false. */
export function parseGoBool(value: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new InvalidArgumentError('expected true or false');
}

/** Host options that change what is planned, so plan/diff/apply/daemon agree on them. */
function hostOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--disable-tx-offload <mode>', 'turn off tx-checksum-ip-generic on the vxlan device (63 s delay bug); auto: on kernels older than 5.7').choices(['auto', 'on', 'off']).default('auto'))
    .option('--ip-masq', "install flannel's masquerade rules (chain FLANNEL-POSTRTG) for pod traffic leaving the cluster network")
    .option('--ip-masq-fully-random-disable', 'masquerade without --random-fully (default: with it, where iptables supports it)')
    .addOption(new Option('--iptables-forward-rules [bool]', "install flannel's FORWARD accept rules for the cluster network (chain FLANNEL-FWD); =false to leave the filter table alone").argParser(parseGoBool).default(true))
    .addOption(new Option('--no-iptables-forward-rules', 'the same as --iptables-forward-rules=false'));
}

function outputOption(cmd: Command, formats: string[]): Command {
  return cmd.addOption(new Option('-o, --output <format>', 'output format').choices(formats).default('table'));
}

/** The command's options with the environment, the config file and flanneld's flags filled in (settings.ts). */
async function effectiveOptions(cmd: Command, env: NodeJS.ProcessEnv = process.env): Promise<{ opts: GlobalOptions; settings: Setting[]; file?: string }> {
  mergeGlobalFlags(cmd);
  const { loadConfigFile } = await import('./config-file.js');
  const file = await loadConfigFile(configFileChoice(cmd, env));
  if (file) checkConfigKeys(file, settingKeys(cmd.parent ?? cmd));
  const settings = resolveSettings(cmd, env, file, withFlanneldEnv);
  const opts = { ...cmd.opts(), ...composeFlannelFlags(settings) } as GlobalOptions;
  if (Array.isArray(opts.iface)) {
    const values = opts.iface as string[];
    if (!ifaceNeedsHost(values)) opts.iface = values[0];
    else {
      const { readPlanHost } = await import('../host/read.js');
      opts.iface = pickIface(values, (await readPlanHost(opts.netns, false)).links);
      const shown = settings.find((x) => x.key === 'iface');
      if (shown) shown.value = opts.iface;
    }
  }
  return { opts, settings, file: file?.path };
}

async function runCommand(load: Loader, cmd: Command, extra: (opts: GlobalOptions) => Promise<Partial<GlobalOptions>> = async () => ({})): Promise<never> {
  let opts: GlobalOptions;
  try {
    const effective = await effectiveOptions(cmd);
    opts = effective.opts;
    // --show-config: the settings instead of the command (only on the command line: not a setting).
    if (cmd.getOptionValueSource('showConfig') === 'cli' || cmd.parent?.getOptionValueSource('showConfig') === 'cli') {
      load = () => import('./commands/config.js');
      opts = { ...opts, output: cmd.getOptionValueSource('output') === 'cli' ? opts.output : 'table', settings: effective.settings, configFile: effective.file, command: cmd.name() } as GlobalOptions;
    } else opts = { ...opts, ...(await extra(opts)) };
  } catch (e) {
    process.exit(reportError(e, Boolean(cmd.opts().debug), (s) => process.stderr.write(s + '\n')));
  }
  const { makeContext } = await import('./context.js');
  const ctx = makeContext(opts);
  let code: number;
  try {
    const mod = await load();
    code = await mod.default(opts, ctx);
  } catch (e) {
    code = reportError(e, Boolean(opts.debug), ctx.err);
  }
  // Let stdout drain (large JSON through a pipe) before exiting.
  process.exitCode = code;
  await new Promise<void>((r) => process.stdout.write('', () => r()));
  process.exit(code);
}

export function buildProgram(): Command {
  const program = new Command('ovlnet')
    .description('Overlay network agent: computes the kernel state a flannel-style overlay needs on this node, shows it, diffs it against the host and applies only the difference.')
    .version(pkg.version, '-V, --version', 'print the version')
    .showSuggestionAfterError(true)
    // Every error line starts with "ovlnet:", commander's own included, and
    // says where to look next.
    .configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, 'ovlnet: ')) })
    .showHelpAfterError('hint: see "ovlnet --help"')
    .configureHelp({ sortSubcommands: false })
    // Options before the command are the program's own (kubectl style:
    // `ovlnet -n NS diff`); after it, the command's.
    .enablePositionalOptions()
    .addHelpText('after', '\nSee ovlnet(8) for sources, the cluster file, exit status and examples;\n"ovlnet COMMAND --help" for the options of a command.');

  // Accepted before any command and merged into its options (settings.ts).
  commonOptions(program
    .option('-s, --source <uri>', 'cluster state source (see the command\'s --help)')
    .option('-n, --netns <name>', 'read and write in this network namespace (ip -n)'));

  const action = (load: Loader) => function (this: Command) {
    return runCommand(load, this);
  };

  outputOption(hostOptions(sourceOptions(program.command('plan').description('show the kernel state this node should have (reads only; no root needed)'))), ['table', 'json', 'commands'])
    .option('--out <file>', 'save the changes that would make the host match, with fingerprints of the source and host state, for "ovlnet apply FILE" (reads the whole host, as diff)')
    .addHelpText('after', '\nExamples:\n  ovlnet plan --source file:examples/cluster.yaml --node node-a\n  sudo ovlnet plan --out /root/ovlnet.plan && sudo ovlnet apply /root/ovlnet.plan')
    .action(action(() => import('./commands/plan.js')));

  outputOption(hostOptions(sourceOptions(program.command('diff').description('compare the plan with the live host; exit 0 in sync, 2 drift, 1 error'))), ['table', 'json'])
    .option('--out <file>', 'also save these changes for "ovlnet apply FILE" (as plan --out)')
    .addHelpText('after', '\nExample:\n  sudo ovlnet diff --source etcd://127.0.0.1:2379')
    .action(action(() => import('./commands/diff.js')));

  outputOption(hostOptions(sourceOptions(program.command('doctor').description('check why pods on two nodes may not talk: state, host settings, routing, probes to peers (reads only); exit 0 ok, 2 a check failed, 1 error'))), ['table', 'json'])
    .option('--subnet-file <path>', "the subnet.env to check against the plan (default /run/flannel/subnet.env; with --netns NS, /run/flannel/netns/NS/subnet.env; '' to skip)")
    .option('--peer <name>', 'also probe this peer when only a sample is probed (repeatable)', (v: string, acc: string[] = []) => [...acc, v])
    .option('--metrics-addr <host:port>', "a running daemon's --metrics-addr: show its probes of each peer (/peers)")
    .addHelpText('after', '\nExample:\n  sudo ovlnet doctor --source etcd://10.0.0.1:2379 --metrics-addr 127.0.0.1:9465')
    .action(action(() => import('./commands/doctor.js')));

  outputOption(hostOptions(sourceOptions(program.command('apply').description('make the host match the plan, changing only the difference'))), ['table', 'json'])
    .addArgument(new Argument('[plan-file]', 'a plan saved by "plan --out": apply exactly its changes, refused (exit 3) if the source or the host moved since'))
    .option('--dry-run', 'show what would change and change nothing')
    .option('--max-delete <n|n%>', 'refuse to remove more than this many peers in one run (default: half of them, when 2 or more)')
    .option('--force', 'allow one run past the --max-delete guard, and apply while a daemon owns the namespace')
    .addHelpText('after', '\nExamples:\n  sudo ovlnet apply --source file:/etc/ovlnet/cluster.yaml\n  sudo ovlnet apply /root/ovlnet.plan')
    .action(function (this: Command, planFile: string | undefined) {
      return runCommand(() => import('./commands/apply.js'), this, async () => (planFile === undefined ? {} : { planFile }) as Partial<GlobalOptions>);
    });

  outputOption(sourceOptions(program.command('nodes').description("list the source's nodes (subnet, public IP, VTEP MAC, lease expiry)"), false), ['table', 'json'])
    .addHelpText('after', '\nExample:\n  ovlnet nodes --source file:examples/cluster.yaml')
    .action(action(() => import('./commands/nodes.js')));

  hostOptions(sourceOptions(program.command('daemon').description('watch the source and keep the host converged (run it under systemd)')))
    .option('--interval <duration>', 'full resync period (e.g. 10s, 1m)', '10s')
    .option('--public-ipv6 <ip>', 'dual stack: the IPv6 address this node publishes (default: the first global address of --iface, of the IPv6 default route\'s device, or of the device holding the public IP)')
    .option('--metrics-addr <host:port>', 'serve Prometheus /metrics, /healthz and /readyz here (e.g. 127.0.0.1:9465)')
    .addOption(new Option('--log-format <format>', 'log line format').choices(['text', 'json']).default('text'))
    .addOption(new Option('--log-level <level>', 'least severe level logged').choices(['debug', 'info', 'warn', 'error']).default('info'))
    .option('--max-delete <n|n%>', 'refuse cycles that remove more than this many peers, in one cycle and within --max-delete-window (default: half of them, when 2 or more)')
    .option('--max-delete-window <duration>', 'the sliding window over which --max-delete counts removals', '5m')
    .option('--force', 'let the first cycle the --max-delete guard refuses through, once, and start while another daemon owns the namespace')
    .option('--subnet-file <path>', "write flannel's subnet.env here for the CNI plugin (default /run/flannel/subnet.env; with --netns NS, /run/flannel/netns/NS/subnet.env)")
    .option('--lease-ttl <duration>', 'etcd: lease time to live', '24h')
    .option('--probe-interval <duration>', 'probe a few peers through the overlay this often (0: never); results on /metrics and /peers', '10s')
    .option('--no-set-node-network-unavailable', "Kubernetes: leave the Node's NetworkUnavailable condition alone (default: set it to False once converged, as flanneld)")
    .option('--iptables-resync <seconds>', "re-check the iptables rules this often between cycles (flanneld's flag; 0: only with each cycle)", '5')
    .option('--repair-limit <n/duration>', 'repair an object the kernel lost or changed between resyncs at most n times within duration; past that, log it and leave it to the resync', '5/1m')
    .addHelpText('after', '\nExample:\n  ovlnet daemon --source etcd://10.0.0.1:2379 --metrics-addr 127.0.0.1:9465')
    .action(action(() => import('./commands/daemon.js')));

  outputOption(sourceOptions(program.command('cleanup').description("remove everything ovlnet put on this host (routes, its vxlan device, iptables rules, subnet file) and nothing else"), false), ['table', 'json'])
    .option('-n, --netns <name>', 'clean up in this network namespace (ip -n)')
    .option('--dry-run', 'show what would be removed and change nothing')
    .option('--subnet-file <path>', 'the subnet.env to remove (default /run/flannel/subnet.env, with --netns NS /run/flannel/netns/NS/subnet.env; removed only when ovlnet wrote it)')
    .option('--vni <n>', 'also remove the vxlan device flannel.<n>, even without proof it is ovlnet\'s')
    .option('--all-flannel-devices', "also remove every vxlan device named flannel.<n>, flannel's own included")
    .addHelpText('after', '\nThe source is read only when --source (or $OVLNET_SOURCE) is given: cleanup works without it.\n\nExamples:\n  sudo ovlnet cleanup --dry-run\n  sudo ovlnet cleanup --source etcd://10.0.0.1:2379')
    .action(action(() => import('./commands/cleanup.js')));

  commonOptions(program.command('completion'))
    .description('print the shell completion script')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .addHelpText('after', '\nExample:\n  ovlnet completion bash > /etc/bash_completion.d/ovlnet')
    .action(function (this: Command, shell: string) {
      return runCommand(() => import('./commands/completion.js'), this, async () => ({ shell }) as Partial<GlobalOptions>);
    });

  commonOptions(program.command('systemd-unit'))
    .description("print a systemd unit for \"ovlnet daemon\" whose ExecStart is this installation's node and ovlnet")
    .option('--exec <program>', 'ExecStart program instead (e.g. ovlnet, looked up in systemd\'s search path)')
    .addHelpText('after', '\nExample:\n  ovlnet systemd-unit | sudo tee /etc/systemd/system/ovlnet.service > /dev/null')
    .action(action(() => import('./commands/systemd-unit.js')));

  // -s and -n pass on to the command shown (`ovlnet -n NS config diff`); hidden: they are that command's.
  outputOption(commonOptions(program.command('config')
    .addOption(new Option('-s, --source <uri>').hideHelp())
    .addOption(new Option('-n, --netns <name>').hideHelp())), ['table', 'json'])
    .description('show the effective settings of a command and where each comes from (flag, environment, config file, default)')
    .addArgument(new Argument('[command]', 'the command whose settings to show').default('daemon'))
    .addArgument(new Argument('[options...]', "that command's options, as they would be given to it"))
    // Everything after the command name is that command's (`ovlnet config daemon --ip-masq`).
    .passThroughOptions()
    .addHelpText('after', '\nEvery option can also be set as OVLNET_<OPTION> (e.g. OVLNET_IP_MASQ=true) or in the config file;\nprecedence: flag > environment > config file > default.\n\nExamples:\n  ovlnet config diff\n  ovlnet config -o json daemon --etcd-endpoints=https://192.0.2.1:2379 --ip-masq')
    .action(function (this: Command, name: string, args: string[]) {
      const config = this;
      return runCommand(() => import('./commands/config.js'), config, async () => {
        const target = program.commands.find((c) => c.name() === name && c.name() !== 'config' && c.name() !== 'help');
        if (!target) throw new UsageError(`config ${name}: no such command`, `one of ${program.commands.map((c) => c.name()).filter((n) => n !== 'config').join(', ')}`);
        // The target sees the flags given before "config" as its own global flags.
        for (const o of config.options) {
          const attr = o.attributeName();
          if (config.getOptionValueSource(attr) === 'cli' && target.options.some((t) => t.attributeName() === attr) && attr !== 'output') {
            target.setOptionValueWithSource(attr, config.getOptionValue(attr), 'cli');
          }
        }
        const rest = target.parseOptions(args);
        if (rest.unknown.length) throw new UsageError(`config ${name}: unknown option ${rest.unknown[0]}`, `see "ovlnet ${name} --help"`);
        const r = await effectiveOptions(target);
        return { settings: r.settings, configFile: r.file, command: name } as Partial<GlobalOptions>;
      });
    });

  for (const c of program.commands) addFlannelFlags(c);
  // `ovlnet config COMMAND` takes (and completes) every command that has settings, however late it was defined.
  const configCmd = program.commands.find((c) => c.name() === 'config')!;
  configCmd.registeredArguments[0].choices(program.commands.map((c) => c.name()).filter((n) => n !== 'config'));
  for (const c of program.commands) c.showHelpAfterError(`hint: see "ovlnet ${c.name()} --help"`);
  return program;
}

export async function main(argv = process.argv): Promise<void> {
  settleColorEnv();
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync([...argv.slice(0, 2), ...goStyleArgs(argv.slice(2), program)]);
  } catch (e) {
    const code = (e as { exitCode?: number; code?: string }).exitCode;
    if (typeof code === 'number') process.exit(code === 0 ? 0 : EXIT_ERROR);
    process.exit(reportError(e, argv.includes('--debug'), (s) => process.stderr.write(s + '\n')));
  }
}
