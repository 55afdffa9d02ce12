/**
 * Learning-rate schedules as pure functions of training progress.
 * - constant: lr
 * - step:EPOCHS,GAMMA: lr * GAMMA^floor(epoch / EPOCHS)
 * - cosine: lr * (1 + cos(pi * progress)) / 2, progress = (epoch + fraction of the epoch) / total epochs
 */
import * as E from 'fp-ts/lib/Either.js';
import { optionError, type GradpipeError } from '../errors.js';

/** A learning-rate schedule; `learningRateAt` gives the formulas. */
export type Schedule =
  | { readonly kind: 'constant' }
  | { readonly kind: 'step'; readonly every: number; readonly gamma: number }
  | { readonly kind: 'cosine' };

const HINT = 'use constant, step:EPOCHS,GAMMA (e.g. step:2,0.5) or cosine';

/** Parses `constant`, `cosine` or `step:EPOCHS,GAMMA`; `where` names the option. */
export const parseSchedule = (text: string, where = '--lr-schedule'): E.Either<GradpipeError, Schedule> => {
  if (text === 'constant' || text === 'cosine') return E.right({ kind: text });
  const m = /^step:([^,]+),(.+)$/.exec(text);
  if (!m) return E.left(optionError(where, `unknown schedule '${text}'`, HINT));
  const every = Number(m[1]);
  const gamma = Number(m[2]);
  if (!Number.isInteger(every) || every < 1 || !Number.isFinite(gamma) || gamma <= 0 || gamma > 1) {
    return E.left(optionError(where, `'${text}' needs a whole number of epochs >= 1 and 0 < GAMMA <= 1`, HINT));
  }
  return E.right({ kind: 'step', every, gamma });
};

/** The text form of a schedule, as `parseSchedule` reads it. */
export const formatSchedule = (s: Schedule): string => (s.kind === 'step' ? `step:${s.every},${s.gamma}` : s.kind);

/**
 * The learning rate at `epoch` (0-based) plus `fraction` (0..1) of it, for a run of `totalEpochs`.
 */
export const learningRateAt = (s: Schedule, base: number, epoch: number, fraction: number, totalEpochs: number): number => {
  switch (s.kind) {
    case 'constant':
      return base;
    case 'step':
      return base * Math.pow(s.gamma, Math.floor(epoch / s.every));
    case 'cosine': {
      const progress = Math.min(1, Math.max(0, (epoch + fraction) / Math.max(1, totalEpochs)));
      return (base * (1 + Math.cos(Math.PI * progress))) / 2;
    }
  }
};
