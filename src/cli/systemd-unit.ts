// The systemd unit for `ovlnet daemon`. `ovlnet systemd-unit` prints it with
// this installation's node and ovlnet paths; contrib/ovlnet.service is the
// same text with the bare command `ovlnet`, which systemd looks up in its own
// search path (/usr/local/bin, /usr/bin, ...), where `npm install -g` links
// it. Pure: the paths are given.

/**
 * One word of a systemd command line (systemd.service(5) "Command lines"):
 * quoted when it holds whitespace or quotes, `%` doubled (specifiers) and
 * `$` doubled (variable expansion).
 */
export function systemdWord(s: string): string {
  if (s === '' || /[\x00-\x1f\x7f]/.test(s)) throw new Error(`refusing to put ${JSON.stringify(s)} on a systemd command line`);
  const escaped = s.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (!/[\s"'\\;]/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Node options for the daemon where ovlnet's own files start it (this unit,
 * contrib/kubernetes/kube-ovlnet.yml): V8's young generation at 2 MB a
 * semi-space instead of 16. At 10 000 peers that is 25-35 MB less RSS for
 * 10-20 % more CPU per etcd or Kubernetes change (docs/performance.md,
 * "Daemon memory"; the measurements in docs/performance-history.md).
 * V8 reads it only when the process starts (the daemon cannot set it for
 * itself), hence the environment; /etc/ovlnet/ovlnet.env overrides it.
 */
export const DAEMON_NODE_OPTIONS = '--max-semi-space-size=2';

/** The unit, with ExecStart running `command` (argv words) followed by `daemon $OVLNET_DAEMON_ARGS`. */
export function renderSystemdUnit(command: string[], header: string[] = []): string {
  const execStart = command.map(systemdWord).join(' ');
  return [
    '# systemd unit for `ovlnet daemon` (see ovlnet(8), FILES).',
    ...header,
    '# Local changes belong in a drop-in: systemctl edit ovlnet',
    '',
    `[Unit]
Description=ovlnet overlay network agent (flannel-compatible vxlan / host-gw)
Documentation=man:ovlnet(8)
Wants=network-online.target
After=network-online.target
# Pods need /run/flannel/subnet.env, which ovlnet writes after its first
# converged cycle: start the kubelet (or containerd's CNI) after readiness.
Before=kubelet.service

[Service]
# READY=1 is sent after the first successful cycle (routes programmed,
# subnet.env written). ovlnet sends it through systemd-notify, a child
# process, so systemd must accept notifications from the whole unit.
Type=notify
NotifyAccess=all
# Settings: /etc/ovlnet/ovlnet.yaml, read by the daemon and by every other
# ovlnet command alike; the environment file holds secrets and overrides.
# V8's young generation small: 25-35 MB less RSS at 10 000 peers, 10-20 %
# more CPU per etcd event (about a third more per change with a file source,
# which walks every node); NODE_OPTIONS= in the environment file undoes it.
Environment=NODE_OPTIONS=${DAEMON_NODE_OPTIONS}
EnvironmentFile=-/etc/ovlnet/ovlnet.env
ExecStart=${execStart} daemon $OVLNET_DAEMON_ARGS
# SIGHUP: re-read the source and resync now.
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2s
# The first cycle waits for the source (etcd, the API server) with backoff;
# give it time rather than restarting it in a loop.
TimeoutStartSec=5min
# ovlnet exits within 2 s of SIGTERM and leaves routes in place; only the main
# process gets SIGTERM, so a running \`ip -batch\` finishes its lines.
KillMode=mixed
TimeoutStopSec=10s

# Privileges: root, but only the network capabilities. ovlnet runs \`ip\` and
# \`bridge\`, which inherit them. (To run as a dedicated user instead, set
# User=ovlnet and keep AmbientCapabilities=.)
CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW
AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW
NoNewPrivileges=yes

# Filesystem: read-only everywhere except flannel's runtime directory, which
# survives restarts (the CNI plugin reads subnet.env while ovlnet restarts).
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
RuntimeDirectory=flannel
RuntimeDirectoryMode=0755
RuntimeDirectoryPreserve=yes
ReadWritePaths=/run/flannel

# Kernel and process hardening. Not set: MemoryDenyWriteExecute (Node's JIT
# needs it), PrivateNetwork/RestrictNamespaces on netns (ovlnet programs the
# host's network).
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
# Also forbids --netns (a test and lab option) under this unit.
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
UMask=0022

[Install]
WantedBy=multi-user.target`,
    '',
  ].join('\n');
}

/** The header lines of contrib/ovlnet.service: how to install it. */
export const CONTRIB_HEADER = [
  '# Install (the package, then this unit):',
  '#   npm install -g ovlnet     # links ovlnet into /usr/local/bin (or /usr/bin)',
  '#   ovlnet systemd-unit > /etc/systemd/system/ovlnet.service   # or this file as it is',
  '#   install -D -m 0644 contrib/ovlnet.yaml /etc/ovlnet/ovlnet.yaml',
  '#   install -D -m 0600 contrib/ovlnet.env /etc/ovlnet/ovlnet.env',
  '#   systemctl daemon-reload && systemctl enable --now ovlnet',
];
