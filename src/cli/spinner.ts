// A spinner for waits a person would notice (a slow etcd or API server, a
// large apply). On stderr, only when stderr is a terminal, and only once the
// wait has lasted SPINNER_DELAY_MS: quick runs never flash one, pipes and logs
// never see one. ora is imported only when a spinner is actually shown.
import type { Context } from './context.js';

export const SPINNER_DELAY_MS = 300;

export async function withSpinner<T>(ctx: Pick<Context, 'stderrIsTTY' | 'errStyle'>, text: string, work: () => Promise<T>, delayMs = SPINNER_DELAY_MS): Promise<T> {
  // A terminal without a size (a bare pty, `script` without a tty) makes ora
  // compute infinitely many lines to clear: no spinner there either.
  if (!ctx.stderrIsTTY || !((process.stderr.columns ?? 0) > 0)) return work();
  let done = false;
  let spinner: { stop(): unknown } | undefined;
  const timer = setTimeout(() => {
    import('ora').then(({ default: ora }) => {
      if (done) return;
      const s = ora({
        text,
        stream: process.stderr,
        // Leave stdin alone: raw mode would swallow Ctrl-C as a signal.
        discardStdin: false,
        color: ctx.errStyle.level > 0 ? 'cyan' : false,
      });
      // ora declines TERM=dumb and CI; disabled, start() would print a log
      // line instead, which is noise here.
      if (s.isEnabled) spinner = s.start();
    }).catch(() => { /* a missing spinner is no reason to fail */ });
  }, delayMs);
  try {
    return await work();
  } finally {
    done = true;
    clearTimeout(timer);
    spinner?.stop();
  }
}
