/**
 * `gradpipe eval --model DIR [--data DIR]`: test loss, accuracy and confusion matrix of a saved model.
 * It runs the very evaluation the training summary used (same stage, batch size and test slice), so it
 * reproduces summary.json's testAccuracy exactly.
 */
import * as E from 'fp-ts/lib/Either.js';
import { modelError, optionError } from '../errors.js';
import { parseLoss } from '../nn/loss.js';
import { inputSize, outputSize, sizes } from '../nn/network.js';
import { evaluate, type Evaluation } from '../stages/evaluate.js';
import { takeDataset } from '../stages/read.js';
import { BACKEND_CHOICES } from '../tensor/select.js';
import { EVAL_BATCH } from '../../pipelines/mnist.js';
import { flag, optional, parseChoice, parseCommand, parseInteger, str, type CommandSpec } from './args.js';
import { EXIT, fail, loadData, loadModelArg, printHelp, withBackend } from './common.js';
import type { CliIo } from './io.js';
import { toJson } from '../io/json.js';
import { MAX_THREADS } from '../tensor/backend.js';

export const EVAL_SPEC: CommandSpec = {
  name: 'eval',
  usage: 'gradpipe eval --model DIR [options]',
  summary: 'Evaluate a saved model on the MNIST test set: loss, accuracy and the confusion matrix.',
  options: {
    model: { type: 'string', value: 'DIR', help: 'a run folder holding model.safetensors, or the file itself (required)' },
    data: { type: 'string', value: 'DIR', help: 'folder with the four MNIST IDX files (default: $GRADPIPE_DATA, data/mnist, ../shared/datasets/mnist)' },
    'test-limit': { type: 'string', value: 'N', help: 'use only the first N test examples (default: the limit the model was trained with, if any)' },
    backend: { type: 'string', value: 'NAME', help: `numeric backend: ${BACKEND_CHOICES.join('|')} (default auto)` },
    threads: { type: 'string', value: 'N', help: 'threads for the backend (default: all cores)' },
    json: { type: 'boolean', help: 'print the result as JSON' },
  },
};

/** The confusion matrix as a text table (rows: true class, columns: predicted) with per-class recall. */
export const confusionTable = (confusion: readonly (readonly number[])[]): string => {
  const w = Math.max(5, ...confusion.flat().map((c) => String(c).length + 1));
  const head = `${'true\\pred'.padStart(9)}${confusion.map((_r, j) => String(j).padStart(w)).join('')}  recall`;
  const rows = confusion.map((r, i) => {
    const total = r.reduce((a, b) => a + b, 0);
    const recall = total === 0 ? '-' : `${((100 * r[i]!) / total).toFixed(1)}%`;
    return `${String(i).padStart(9)}${r.map((c) => String(c).padStart(w)).join('')}  ${recall.padStart(6)}`;
  });
  return [head, ...rows].join('\n');
};

/** `gradpipe eval`. */
export const runEval = async (argv: readonly string[], io: CliIo): Promise<number> => {
  const parsed = parseCommand(EVAL_SPEC, argv);
  if (E.isLeft(parsed)) return fail(io, parsed.left);
  const { values } = parsed.right;
  if (flag(values, 'help')) return printHelp(io, EVAL_SPEC);
  const modelArg = str(values, 'model');
  if (modelArg === undefined) return fail(io, optionError('--model', 'is required', 'give the output folder of a gradpipe train run, e.g. --model runs/20261127-101500'));
  const backend = parseChoice('--backend', str(values, 'backend') ?? 'auto', BACKEND_CHOICES);
  if (E.isLeft(backend)) return fail(io, backend.left);
  const threads = optional(values, 'threads', (t) => parseInteger('--threads', t, 1, '2', MAX_THREADS));
  if (E.isLeft(threads)) return fail(io, threads.left);
  const limitArg = optional(values, 'test-limit', (t) => parseInteger('--test-limit', t, 1, '1000'));
  if (E.isLeft(limitArg)) return fail(io, limitArg.left);

  const model = await loadModelArg(io, modelArg);
  if (E.isLeft(model)) return fail(io, model.left);
  const { network, file, metadata } = model.right;
  const loss = parseLoss(model.right.loss, file);
  if (E.isLeft(loss)) return fail(io, modelError(file, `was trained with the unknown loss '${model.right.loss}'`, 'use a model written by gradpipe train'));
  const stored = metadata['testLimit'] ?? '';
  const limit = limitArg.right ?? (/^\d+$/.test(stored) ? Number(stored) : undefined);

  const data = await loadData(io, str(values, 'data'), inputSize(network), outputSize(network));
  if (E.isLeft(data)) return fail(io, data.left);
  const test = limit === undefined ? data.right.test : takeDataset(data.right.test, 0, limit);

  const result = await withBackend(backend.right, threads.right, async () => evaluate(network, test, { loss: loss.right, batchSize: EVAL_BATCH }));
  if (E.isLeft(result)) return fail(io, result.left);
  const ev: Evaluation = result.right;
  const out = {
    model: file,
    layers: sizes(network).join('-'),
    activations: network.layers.map((l) => l.activation).join(','),
    loss: loss.right,
    data: data.right.dir.dir,
    count: ev.count,
    testLoss: ev.loss,
    testAccuracy: ev.accuracy,
    correct: ev.correct,
    confusion: ev.confusion,
  };
  if (flag(values, 'json')) {
    io.stdout.write(`${toJson(out, 2)}\n`);
    return EXIT.ok;
  }
  io.stdout.write(
    [
      `model ${file}: ${out.layers} (${out.activations}), ${out.loss}`,
      `test set: ${ev.count} examples${limit === undefined ? '' : ` (the first ${limit})`} from ${out.data}`,
      `test loss ${ev.loss.toFixed(4)}  accuracy ${(100 * ev.accuracy).toFixed(2)}% (${ev.correct}/${ev.count})`,
      '',
      'confusion matrix (rows: true class, columns: predicted class):',
      confusionTable(ev.confusion),
      '',
    ].join('\n'),
  );
  return EXIT.ok;
};
