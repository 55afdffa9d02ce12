/** The report of a diverged run, as the CLI prints it and the page shows it. */
import { divergenceHints, type AdviceSetup } from './advice.js';
import type { Divergence } from './monitor.js';

const sci = (x: number): string => (Number.isFinite(x) ? x.toExponential(2) : String(x));

/** The divergence report: what went non-finite where, the magnitudes before it, what to try (for `setup` when given). */
export const divergenceReport = (d: Divergence, checkpointFile: string | undefined, metricsFile: string, setup?: AdviceSetup): string => {
  const lines = [`gradpipe: training diverged at ${d.message}`];
  if (d.history.length > 0) {
    lines.push('  largest magnitudes in the steps before (loss, gradient norm, activations per layer):');
    for (const m of d.history) lines.push(`    step ${m.step}: loss ${sci(m.loss)}, gradient norm ${sci(m.gradientNorm)}, activations ${m.activations.map(sci).join(' / ')}`);
  }
  lines.push('  what to try:', ...(setup ? divergenceHints(setup) : d.hints).map((h) => `    - ${h}`));
  lines.push(checkpointFile === undefined ? '  no finite checkpoint was written before it' : `  the last finite checkpoint is ${checkpointFile}; metrics so far are in ${metricsFile}`);
  return `${lines.join('\n')}\n`;
};
