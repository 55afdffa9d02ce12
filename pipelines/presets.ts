/**
 * Named starting points for `gradpipe train --preset NAME` (options given with a preset override it):
 * - fast: the defaults (784-1000-10, 6 epochs, no augmentation, no dropout): about 98% in seconds;
 * - best: chosen by validation accuracy (the last 10,000 training images held out, test never looked at)
 *   among the configurations in docs/accuracy.md: two hidden layers of 1000, random affine distortion,
 *   dropout 0.2, 40 epochs.
 */
import { defaultTrainOptions, type TrainOptions } from './mnist.js';

export const PRESET_NAMES = ['fast', 'best'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** What each preset sets over the defaults. */
export const PRESETS: Readonly<Record<PresetName, Partial<TrainOptions>>> = {
  fast: {},
  best: {
    layers: [784, 1000, 1000, 10],
    augment: { affine: { shift: 2, rotation: 10, scale: 0.1, shear: 0.2 } },
    dropout: 0.2,
    epochs: 40,
  },
};

/** The options of a preset: the defaults with the preset's settings over them. */
export const presetOptions = (name: PresetName): TrainOptions => ({ ...defaultTrainOptions, ...PRESETS[name] });
