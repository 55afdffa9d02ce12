/**
 * Optimisers as one general step, in order of increasing complexity: SGD is momentum with mu = 0, Nesterov
 * is momentum with a look-ahead, Adam adds a second moment and bias correction. Hyperparameters are checked
 * once, at construction (`optimizer`), and return an `Either` whose left names the option.
 *
 * Sign convention: the learning rate is positive and `move` descends (w <- w - lr * update); the original
 * Haskell design needed callers to pass a negative rate.
 */
import * as E from 'fp-ts/lib/Either.js';
import { optionError, type GradpipeError } from '../errors.js';

/** The optimisers, in order of increasing complexity. */
export type OptimizerKind = 'sgd' | 'momentum' | 'nesterov' | 'adam';
/** Every optimiser name. */
export const OPTIMIZERS: readonly OptimizerKind[] = ['sgd', 'momentum', 'nesterov', 'adam'];

/** A validated optimiser configuration; make one with `optimizer`. */
export interface OptimizerConfig {
  readonly kind: OptimizerKind;
  /** Learning rate, >= 0 (0 leaves the network unchanged). */
  readonly lr: number;
  /** Momentum coefficient mu in [0, 1) for momentum and nesterov. */
  readonly momentum: number;
  /** Adam's first and second moment decay rates in [0, 1), and its epsilon > 0. */
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** L2 weight decay >= 0, added to weight gradients (not biases) as decay * w. */
  readonly weightDecay: number;
  /** Clip the gradient's global L2 norm to this value (> 0), or undefined for no clipping. */
  readonly clipNorm: number | undefined;
}

/** The values `optimizer` fills in for fields not given: SGD at lr 0.1, and the usual momentum and Adam settings. */
export const defaultOptimizer: OptimizerConfig = {
  kind: 'sgd',
  lr: 0.1,
  momentum: 0.9,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  weightDecay: 0,
  clipNorm: undefined,
};

const check = (
  ok: boolean,
  where: string,
  value: unknown,
  range: string,
): E.Either<GradpipeError, void> =>
  ok ? E.right(undefined) : E.left(optionError(where, `${String(value)} is not ${range}`, `give a finite number ${range}`));

/** Validates a configuration (partial fields take the defaults). */
export const optimizer = (partial: Partial<OptimizerConfig> & { readonly kind?: string }): E.Either<GradpipeError, OptimizerConfig> => {
  const c = { ...defaultOptimizer, ...partial } as OptimizerConfig;
  if (!(OPTIMIZERS as readonly string[]).includes(c.kind)) {
    return E.left(optionError('optimizer.kind', `unknown optimizer '${c.kind}'`, `use one of ${OPTIMIZERS.join(', ')}`));
  }
  const fin = Number.isFinite;
  const checks = [
    check(fin(c.lr) && c.lr >= 0, 'optimizer.lr', c.lr, '>= 0'),
    check(fin(c.momentum) && c.momentum >= 0 && c.momentum < 1, 'optimizer.momentum', c.momentum, 'in [0, 1)'),
    check(fin(c.beta1) && c.beta1 >= 0 && c.beta1 < 1, 'optimizer.beta1', c.beta1, 'in [0, 1)'),
    check(fin(c.beta2) && c.beta2 >= 0 && c.beta2 < 1, 'optimizer.beta2', c.beta2, 'in [0, 1)'),
    check(fin(c.epsilon) && c.epsilon > 0, 'optimizer.epsilon', c.epsilon, '> 0'),
    check(fin(c.weightDecay) && c.weightDecay >= 0, 'optimizer.weightDecay', c.weightDecay, '>= 0'),
    check(c.clipNorm === undefined || (fin(c.clipNorm) && c.clipNorm > 0), 'optimizer.clipNorm', c.clipNorm, '> 0'),
  ];
  for (const r of checks) if (E.isLeft(r)) return r;
  return E.right(c);
};
