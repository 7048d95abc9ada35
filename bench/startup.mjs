// Startup: `ovlnet --version` and `--help` against a bare `node -e 0`.
import { timed } from './lib.mjs';
import { NODE, fmtMs, fmtX, must, ovlnet, sample } from './ovlnet.mjs';

export default {
  name: 'startup',
  options: {
    'startup-runs': { type: 'string', default: '11', quick: '7', help: 'runs of each startup measurement' },
  },
  async run({ opt }) {
    const bare = [];
    const ver = [];
    const help = [];
    for (let r = 0; r < Math.max(1, Number(opt['startup-runs'])); r++) {
      bare.push(must(await timed(NODE, ['-e', '0']), 'node -e 0'));
      ver.push(must(await ovlnet(['--version']), 'ovlnet --version'));
      help.push(must(await ovlnet(['--help']), 'ovlnet --help'));
    }
    const out = { nodeBare: sample(bare), version: sample(ver), help: sample(help) };
    out.version.ratioToBareNode = out.version.medianMs / out.nodeBare.medianMs;
    out.help.ratioToBareNode = out.help.medianMs / out.nodeBare.medianMs;
    return out;
  },
  report(s) {
    const v = s.version.ratioToBareNode;
    return [`startup: node -e 0 ${fmtMs(s.nodeBare.medianMs)} ms (cpu ${fmtMs(s.nodeBare.medianCpuMs)}), ovlnet --version ${fmtMs(s.version.medianMs)} ms (${fmtX(s.version.ratioToBareNode)}; cpu ${fmtMs(s.version.medianCpuMs)}), ovlnet --help ${fmtMs(s.help.medianMs)} ms (${fmtX(s.help.ratioToBareNode)}; cpu ${fmtMs(s.help.medianCpuMs)})`,
      `target --version <= 1.5x node -e 0: ${fmtX(v)} ${v <= 1.5 ? 'met' : 'MISSED'}`];
  },
};
