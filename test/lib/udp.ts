// Which source address does a datagram arrive with? A one-shot UDP listener
// in one namespace, a sender in another: tells whether NAT rewrote the
// source, without tcpdump or conntrack.
import { execa } from 'execa';

const LISTENER = `
const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => { process.stdout.write('from ' + r.address + '\\n'); process.exit(0); });
s.bind(Number(process.argv[2]), process.argv[1], () => process.stdout.write('ready\\n'));
`;

const SENDER = `
const s = require('node:dgram').createSocket('udp4');
s.bind(0, process.argv[1], () => {
  let n = 0;
  const send = () => { s.send('x', Number(process.argv[3]), process.argv[2]); if (++n === 5) setTimeout(() => process.exit(0), 200); else setTimeout(send, 100); };
  send();
});
`;

/**
 * Sends a few datagrams from `from.addr` in namespace `from.ns` to
 * `to.addr:port` in `to.ns`; returns the source address the listener saw, or
 * undefined when nothing arrived within the deadline.
 */
export async function udpSourceSeen(from: { ns: string; addr: string }, to: { ns: string; addr: string }, port = 9999, deadlineMs = 5000): Promise<string | undefined> {
  const listener = execa('ip', ['netns', 'exec', to.ns, process.execPath, '-e', LISTENER, to.addr, String(port)], { reject: false, timeout: deadlineMs });
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      listener.stdout!.on('data', (d) => { out += d; if (out.includes('ready')) resolve(); });
      listener.then((r) => reject(new Error(`listener exited before it was ready: ${r.stderr}`)), reject);
    });
    await execa('ip', ['netns', 'exec', from.ns, process.execPath, '-e', SENDER, from.addr, to.addr, String(port)], { reject: false, timeout: deadlineMs });
    const r = await listener;
    return /^from (\S+)$/m.exec(String(r.stdout))?.[1];
  } finally {
    listener.kill('SIGKILL');
  }
}
