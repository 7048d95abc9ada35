// systemd readiness. Node cannot send on a unix datagram socket, so the
// notification goes through `systemd-notify`. systemd accepts it from that
// child process only with NotifyAccess=all (contrib/ovlnet.service sets it):
// impersonating our PID needs CAP_SYS_ADMIN, which the unit does not grant.
import { execa } from 'execa';

export interface NotifyDeps {
  env?: NodeJS.ProcessEnv;
  pid?: number;
  exec?: (cmd: string, args: string[], env: NodeJS.ProcessEnv) => Promise<{ exitCode: number; stderr: string }>;
}

/** The systemd-notify argument vector for a state. Pure. */
export function notifyArgs(state: { ready?: boolean; stopping?: boolean; status?: string }, pid: number): string[] {
  const args: string[] = [];
  if (state.ready) args.push('--ready');
  args.push(`--pid=${pid}`);
  if (state.status !== undefined) args.push(`--status=${state.status.replace(/[\r\n]+/g, ' ')}`);
  if (state.stopping) args.push('STOPPING=1');
  return args;
}

export class SystemdNotifier {
  private readonly env: NodeJS.ProcessEnv;
  private readonly pid: number;
  private readonly exec: NonNullable<NotifyDeps['exec']>;

  constructor(deps: NotifyDeps = {}) {
    this.env = deps.env ?? process.env;
    this.pid = deps.pid ?? process.pid;
    this.exec = deps.exec ?? (async (cmd, args, env) => {
      const r = await execa(cmd, args, { env, reject: false, timeout: 5000, stdin: 'ignore' });
      return { exitCode: r.exitCode ?? 1, stderr: String(r.stderr || r.message || '') };
    });
  }

  /** Whether systemd asked for notifications (Type=notify). */
  get enabled(): boolean {
    return Boolean(this.env.NOTIFY_SOCKET);
  }

  /** Sends the state; resolves to an error message, or undefined when sent (or not asked for). */
  async send(state: { ready?: boolean; stopping?: boolean; status?: string }): Promise<string | undefined> {
    if (!this.enabled) return undefined;
    try {
      const r = await this.exec('systemd-notify', notifyArgs(state, this.pid), this.env);
      if (r.exitCode === 0) return undefined;
      return `systemd-notify exited ${r.exitCode}: ${r.stderr.trim().split('\n')[0]}`;
    } catch (e) {
      return `cannot run systemd-notify: ${(e as Error).message}`;
    }
  }
}
