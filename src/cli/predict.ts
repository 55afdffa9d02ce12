/**
 * `gradpipe predict --model DIR FILE...`: the class and class probabilities a saved model gives 28x28
 * grayscale PNG or PGM images (white digit on black, like MNIST; --invert for black on white), or the
 * image at `--index I` of an IDX images file (`--idx FILE`). Pixels are scaled as in training (pixels/255).
 */
import { resolve } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { dataError, modelError, optionError, type GradpipeError } from '../errors.js';
import { readIdx } from '../data/idx.js';
import { readDigit } from '../io/image.js';
import { toJson } from '../io/json.js';
import { MODEL_INPUT } from '../io/model.js';
import { predict as forwardOutputs } from '../nn/forward.js';
import { inputSize, type Network } from '../nn/network.js';
import { BACKEND_CHOICES } from '../tensor/select.js';
import { matrix } from '../tensor/matrix.js';
import { flag, optional, parseChoice, parseCommand, parseInteger, str, type CommandSpec } from './args.js';
import { EXIT, fail, loadModelArg, printHelp, withBackend } from './common.js';
import type { CliIo } from './io.js';
import { MAX_THREADS } from '../tensor/backend.js';

export const PREDICT_SPEC: CommandSpec = {
  name: 'predict',
  usage: 'gradpipe predict --model DIR FILE... | gradpipe predict --model DIR --idx FILE --index I',
  summary: 'Classify 28x28 grayscale PNG or PGM images (a white digit on black, like MNIST) with a saved model, printing the class and the class probabilities.',
  positionals: true,
  options: {
    model: { type: 'string', value: 'DIR', help: 'a run folder holding model.safetensors, or the file itself (required)' },
    idx: { type: 'string', value: 'FILE', help: 'an IDX images file (.gz or raw), e.g. t10k-images-idx3-ubyte.gz' },
    index: { type: 'string', value: 'I', help: 'which image of --idx to classify, from 0' },
    invert: { type: 'boolean', help: 'the images are dark digits on a light background: invert them first' },
    backend: { type: 'string', value: 'NAME', help: `numeric backend: ${BACKEND_CHOICES.join('|')} (default auto)` },
    threads: { type: 'string', value: 'N', help: 'threads for the backend (default: all cores)' },
    json: { type: 'boolean', help: 'print the predictions as JSON' },
  },
};

interface Input {
  readonly name: string;
  readonly pixels: Uint8Array;
}

/** The image at `index` of an IDX images file, checked against the network's input size. */
const idxImage = async (file: string, index: number, inputs: number): Promise<E.Either<GradpipeError, Input>> => {
  const idx = await readIdx(file);
  if (E.isLeft(idx)) return idx;
  const { dims, data } = idx.right;
  if (dims.length !== 3) return E.left(dataError(file, `is ${dims.length}-D, not an images file (count, rows, cols)`, 'give an images file such as t10k-images-idx3-ubyte.gz'));
  const [count, rows, cols] = dims as [number, number, number];
  if (index >= count) return E.left(optionError('--index', `${index} is beyond the ${count} images of ${file}`, `give an index from 0 to ${count - 1}`));
  if (rows * cols !== inputs) return E.left(dataError(file, `images are ${rows}x${cols} pixels but the model takes ${inputs} inputs`, 'use images of the size the model was trained on'));
  return E.right({ name: `${file}[${index}]`, pixels: data.subarray(index * inputs, (index + 1) * inputs) });
};

export interface Prediction {
  readonly input: string;
  readonly class: number;
  /** The output layer's activations (class probabilities for a softmax output). */
  readonly probabilities: readonly number[];
}

/** Runs the network on the images (one batch) and picks each one's class. */
export const classify = (network: Network, inputs: readonly Input[]): Prediction[] => {
  const n = inputSize(network);
  const x = new Float32Array(inputs.length * n);
  inputs.forEach((img, i) => {
    for (let j = 0; j < n; j++) x[i * n + j] = img.pixels[j]! / 255;
  });
  const out = forwardOutputs(network, matrix(inputs.length, n, x));
  return inputs.map((img, i) => {
    const p = Array.from(out.data.subarray(i * out.cols, (i + 1) * out.cols));
    let best = 0;
    for (let j = 1; j < p.length; j++) if (p[j]! > p[best]!) best = j;
    return { input: img.name, class: best, probabilities: p };
  });
};

/** `gradpipe predict`. */
export const runPredict = async (argv: readonly string[], io: CliIo): Promise<number> => {
  const parsed = parseCommand(PREDICT_SPEC, argv);
  if (E.isLeft(parsed)) return fail(io, parsed.left);
  const { values, positionals } = parsed.right;
  if (flag(values, 'help')) return printHelp(io, PREDICT_SPEC);
  const modelArg = str(values, 'model');
  if (modelArg === undefined) return fail(io, optionError('--model', 'is required', 'give the output folder of a gradpipe train run, e.g. --model runs/20261127-101500'));
  const idxFile = str(values, 'idx');
  const index = optional(values, 'index', (t) => parseInteger('--index', t, 0, '0'));
  if (E.isLeft(index)) return fail(io, index.left);
  if ((idxFile === undefined) !== (index.right === undefined)) {
    return fail(io, optionError(idxFile === undefined ? '--index' : '--idx', 'needs the other: --idx FILE and --index I go together', 'e.g. --idx t10k-images-idx3-ubyte.gz --index 0'));
  }
  if (idxFile === undefined && positionals.length === 0) {
    return fail(io, optionError('gradpipe predict', 'no images given', 'name PNG or PGM files after the options, or use --idx FILE --index I'));
  }
  const backend = parseChoice('--backend', str(values, 'backend') ?? 'auto', BACKEND_CHOICES);
  if (E.isLeft(backend)) return fail(io, backend.left);
  const threads = optional(values, 'threads', (t) => parseInteger('--threads', t, 1, '2', MAX_THREADS));
  if (E.isLeft(threads)) return fail(io, threads.left);

  const model = await loadModelArg(io, modelArg);
  if (E.isLeft(model)) return fail(io, model.left);
  const { network, file, metadata } = model.right;
  if (metadata['input'] !== MODEL_INPUT) {
    return fail(io, modelError(file, `expects inputs scaled as '${metadata['input'] ?? '?'}', which predict does not know`, `use a model trained with inputs ${MODEL_INPUT}`));
  }
  const n = inputSize(network);
  const side = Math.round(Math.sqrt(n));
  if (positionals.length > 0 && side * side !== n) {
    return fail(io, modelError(file, `takes ${n} inputs, not a square image`, 'use --idx with images of that size'));
  }

  const inputs: Input[] = [];
  for (const f of positionals) {
    const pixels = await readDigit(resolve(io.cwd, f), { size: side });
    if (E.isLeft(pixels)) return fail(io, { ...pixels.left, where: pixels.left.where === resolve(io.cwd, f) ? f : pixels.left.where });
    inputs.push({ name: f, pixels: pixels.right });
  }
  if (idxFile !== undefined && index.right !== undefined) {
    const img = await idxImage(resolve(io.cwd, idxFile), index.right, n);
    if (E.isLeft(img)) return fail(io, img.left);
    inputs.push({ ...img.right, name: `${idxFile}[${index.right}]` });
  }
  const ready = flag(values, 'invert') ? inputs.map((i) => ({ ...i, pixels: i.pixels.map((v) => 255 - v) })) : inputs;

  const predictions = await withBackend(backend.right, threads.right, async () => classify(network, ready));
  if (E.isLeft(predictions)) return fail(io, predictions.left);
  const softmax = network.layers[network.layers.length - 1]!.activation === 'softmax';
  if (flag(values, 'json')) {
    io.stdout.write(`${toJson({ model: file, predictions: predictions.right }, 2)}\n`);
    return EXIT.ok;
  }
  for (const p of predictions.right) {
    const conf = softmax ? ` (${(100 * p.probabilities[p.class]!).toFixed(2)}%)` : '';
    const all = p.probabilities.map((x, j) => `${j}:${x.toFixed(3)}`).join(' ');
    io.stdout.write(`${p.input}: ${p.class}${conf}  ${softmax ? 'probabilities' : 'outputs'} ${all}\n`);
  }
  return EXIT.ok;
};
