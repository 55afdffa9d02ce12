/**
 * What to change, worded for the configuration in use: the hints of the health findings and of a divergence
 * report advise only what the run does not do already (no "use --init he" when He is in use, no blame of
 * U(0,1) weights when the weights are not uniform). Without a configuration the advice is the general one.
 */
import type { Activation, PointwiseActivation } from '../nn/activation.js';
import { formatInit, type Init } from '../nn/init.js';
import type { LossName } from '../nn/loss.js';

/** The part of a configuration the advice looks at. */
export interface AdviceSetup {
  readonly activation: PointwiseActivation;
  readonly output: Activation;
  readonly loss: LossName;
  readonly init: Init;
  readonly optimizer: { readonly clipNorm: number | undefined };
}

/** The fan-in-scaled initialisation suited to hidden units: He for ReLU-like ones, Glorot for the others. */
const suitedInit = (a: PointwiseActivation): 'he' | 'glorot' => (a === 'relu' || a === 'leaky-relu' ? 'he' : 'glorot');

/**
 * Advice on the initialisation, or undefined when the suited fan-in-scaled one is in use already. With a
 * uniform or normal init it names it (the cause when its weights add up over hundreds of inputs).
 */
export const initAdvice = (c: AdviceSetup | undefined): string | undefined => {
  if (c === undefined) return 'use fan-in-scaled initialisation (--init he for ReLU, glorot for sigmoid/tanh)';
  const suited = suitedInit(c.activation);
  if (c.init.kind === suited) return undefined;
  if (c.init.kind === 'he' || c.init.kind === 'glorot') return `use --init ${suited}, suited to ${c.activation} units (${c.init.kind} is in use)`;
  return `use fan-in-scaled initialisation (--init ${suited} for ${c.activation} units): weights of ${formatInit(c.init)} summed over hundreds of inputs are far too large`;
};

/** Advice on the loss, or undefined when it is computed from the logits already (cross-entropy on softmax or sigmoid). */
export const lossAdvice = (c: AdviceSetup | undefined): string | undefined =>
  c !== undefined && c.loss === 'cross-entropy' && (c.output === 'softmax' || c.output === 'sigmoid')
    ? undefined
    : 'compute the loss from logits (--loss cross-entropy with --output softmax)';

/** Advice on clipping: clip when the run does not, clip harder when it does. */
export const clipAdvice = (c: AdviceSetup | undefined): string =>
  c?.optimizer.clipNorm === undefined ? 'clip the gradient norm (--clip-norm 5)' : `clip the gradient norm harder (--clip-norm below ${c.optimizer.clipNorm})`;

/** What to try after a divergence, for the configuration `c` (the general list without one). */
export const divergenceHints = (c?: AdviceSetup): readonly string[] =>
  ['lower the learning rate (e.g. divide --lr by 10)', clipAdvice(c), lossAdvice(c), initAdvice(c)].filter((h): h is string => h !== undefined);
