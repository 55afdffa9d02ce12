/**
 * Saving and loading trained networks as `model.safetensors`:
 *   tensors  `layers.{i}.weight` F32 [out, in] and `layers.{i}.bias` F32 [out], for i = 0 .. L-1;
 *   metadata `format: gradpipe/1`, `activations` (comma-separated, layer order), `loss`,
 *            `input` (how inputs were scaled: `pixels/255`, `none` or `standardize`, see data/scaling.ts),
 *            `sha256` (see contentHash.ts), and any extras;
 *   with `input: standardize`, also the tensors `input.mean` and `input.std` F32 [features].
 * Files written before `input` could be anything but `pixels/255` load as `pixels/255`.
 * Any program that reads safetensors can read the weights; gradpipe refuses a file whose content hash
 * does not match, so a truncated or bit-flipped model is never used silently.
 *
 * Its laws are stated on `decodeModel` and `loadModel` below.
 */
import { readFile } from 'node:fs/promises';
import * as E from 'fp-ts/lib/Either.js';
import { modelError, type GradpipeError } from '../errors.js';
import { isActivation } from '../nn/activation.js';
import { createNetwork, type Layer, type Network } from '../nn/network.js';
import { matrix, type Float } from '../tensor/matrix.js';
import { PIXELS, type InputScaling } from '../data/scaling.js';
import { writeFileAtomic } from './atomic.js';
import { contentHash, HASH_KEY, verifyContent } from './contentHash.js';
import { fsError } from './ioError.js';
import { decodeSafetensors, encodeSafetensors, type Tensor } from './safetensors.js';

export const MODEL_FORMAT = 'gradpipe/1';
/** How inputs were scaled for training; `predict` must scale the same way. */
export const MODEL_INPUT = 'pixels/255';
const RESERVED = ['format', 'activations', 'loss', 'input', HASH_KEY] as const;

/** Metadata saved with a model. */
export interface ModelMeta {
  /** The loss the network was trained with, e.g. `cross-entropy`. */
  readonly loss: string;
  /** How the training inputs were scaled (default `pixels/255`; `scalingOf(dataset)` gives it). */
  readonly scaling?: InputScaling;
  /** More string metadata (e.g. the seed); must not use the reserved keys format, activations, loss, input, sha256. */
  readonly extra?: Readonly<Record<string, string>>;
}

/** A model read back: the network, its loss and all of its metadata. */
export interface LoadedModel {
  readonly network: Network;
  readonly loss: string;
  /** How inputs must be scaled for this network (pass it to `predict`). */
  readonly scaling: InputScaling;
  /** All of the file's metadata, reserved keys included. */
  readonly metadata: Readonly<Record<string, string>>;
}

const f32 = (data: Float): Float32Array => (data instanceof Float32Array ? data : Float32Array.from(data));

/** The network's parameters as F32 tensors named `layers.{i}.weight` [out, in] and `layers.{i}.bias` [out]. */
export const networkTensors = (net: Network<Float>): Record<string, Tensor> =>
  Object.fromEntries(
    net.layers.flatMap((l, i) => [
      [`layers.${i}.weight`, { dtype: 'F32', shape: [l.weight.rows, l.weight.cols], data: f32(l.weight.data) }],
      [`layers.${i}.bias`, { dtype: 'F32', shape: [l.weight.rows], data: f32(l.bias) }],
    ]),
  );

const corrupted = (file: string, detail: string): GradpipeError =>
  modelError(file, `is corrupted or truncated (${detail})`, 're-train or restore it');

/**
 * Rebuilds a network from `layers.{i}.*` tensors and the activation names (one per layer), checking dtypes,
 * shapes, the chain of sizes and the activations. Other tensors (e.g. optimiser state) are ignored.
 */
export const networkFromTensors = (
  tensors: Readonly<Record<string, Tensor>>,
  activations: readonly string[],
  file: string,
): E.Either<GradpipeError, Network> => {
  const layers: Layer[] = [];
  for (let i = 0; i < activations.length; i++) {
    const w = tensors[`layers.${i}.weight`];
    const b = tensors[`layers.${i}.bias`];
    const activation = activations[i]!;
    if (w === undefined || b === undefined) return E.left(corrupted(file, `layer ${i} has no weight or bias tensor`));
    if (w.dtype !== 'F32' || b.dtype !== 'F32') return E.left(corrupted(file, `layer ${i} is ${w.dtype}/${b.dtype}, not F32`));
    const [out, inp] = w.shape;
    if (w.shape.length !== 2 || out === undefined || inp === undefined) {
      return E.left(corrupted(file, `layers.${i}.weight has shape [${w.shape.join(', ')}], not [out, in]`));
    }
    if (b.shape.length !== 1 || b.shape[0] !== out) {
      return E.left(corrupted(file, `layers.${i}.bias has shape [${b.shape.join(', ')}] but the layer has ${out} outputs`));
    }
    if (!isActivation(activation)) {
      return E.left(modelError(file, `layer ${i} has the unknown activation '${activation}'`, 'the file was written by another program or a newer gradpipe; re-train it'));
    }
    layers.push({ weight: matrix(out, inp, w.data), bias: b.data, activation });
  }
  if (tensors[`layers.${activations.length}.weight`] !== undefined) {
    return E.left(corrupted(file, `it has more layer tensors than the ${activations.length} activations listed`));
  }
  return E.mapLeft((e: GradpipeError) => modelError(file, `${e.where}: ${e.message}`, 're-train or restore it'))(createNetwork(layers));
};

const SCALING_TENSORS = ['input.mean', 'input.std'];

const scalingTensors = (s: InputScaling): Record<string, Tensor> =>
  s.kind === 'standardize'
    ? {
        'input.mean': { dtype: 'F32', shape: [s.mean.length], data: s.mean },
        'input.std': { dtype: 'F32', shape: [s.std.length], data: s.std },
      }
    : {};

/** The scaling a file records (`pixels/255` when it names none, as files from before the field did). */
const scalingFrom = (input: string | undefined, tensors: Readonly<Record<string, Tensor>>, file: string): E.Either<GradpipeError, InputScaling> => {
  if (input === undefined || input === MODEL_INPUT) return E.right(PIXELS);
  if (input === 'none') return E.right({ kind: 'none' });
  if (input !== 'standardize') {
    return E.left(modelError(file, `records the input scaling '${input}', which this gradpipe does not know`, 'the file was written by a newer gradpipe; upgrade it'));
  }
  const mean = tensors['input.mean'];
  const std = tensors['input.std'];
  const width = mean?.shape[0];
  if (mean === undefined || std === undefined || mean.dtype !== 'F32' || std.dtype !== 'F32' || mean.shape.length !== 1 || std.shape.length !== 1 || std.shape[0] !== width) {
    return E.left(corrupted(file, 'input: standardize needs F32 tensors input.mean and input.std of one length'));
  }
  return E.right({ kind: 'standardize', mean: f32(mean.data), std: f32(std.data) });
};

/** The bytes of `model.safetensors` for `net` (converted to float32). Throws if `meta.extra` uses a reserved key. */
export const encodeModel = (net: Network<Float>, meta: ModelMeta): Uint8Array => {
  const extra = meta.extra ?? {};
  const clash = RESERVED.find((k) => k in extra);
  if (clash !== undefined) throw new RangeError(`encodeModel: metadata key '${clash}' is reserved`);
  const scaling = meta.scaling ?? PIXELS;
  const tensors = { ...networkTensors(net), ...scalingTensors(scaling) };
  const metadata: Record<string, string> = {
    ...extra,
    format: MODEL_FORMAT,
    activations: net.layers.map((l) => l.activation).join(','),
    loss: meta.loss,
    input: scaling.kind,
  };
  return encodeSafetensors(tensors, { ...metadata, [HASH_KEY]: contentHash(tensors, metadata) });
};

/**
 * Parses and verifies `model.safetensors` bytes read from `file`.
 *
 * Law: decodeModel(encodeModel(net, meta)) = { network: toFloat32(net), loss: meta.loss, ... }
 */
export const decodeModel = (bytes: Uint8Array, file: string): E.Either<GradpipeError, LoadedModel> => {
  const decoded = decodeSafetensors(bytes, file);
  if (E.isLeft(decoded)) return E.left(corrupted(file, decoded.left.message));
  const { tensors, metadata } = decoded.right;
  const checked = verifyContent(file, tensors, metadata, MODEL_FORMAT, 're-train or restore it');
  if (E.isLeft(checked)) return checked;
  const activations = metadata.activations ?? '';
  const network = networkFromTensors(tensors, activations === '' ? [] : activations.split(','), file);
  if (E.isLeft(network)) return network;
  const extraTensor = Object.keys(tensors).find((k) => !/^layers\.\d+\.(weight|bias)$/.test(k) && !SCALING_TENSORS.includes(k));
  if (extraTensor !== undefined) return E.left(corrupted(file, `it holds an unexpected tensor '${extraTensor}'`));
  const scaling = scalingFrom(metadata.input, tensors, file);
  if (E.isLeft(scaling)) return scaling;
  return E.right({ network: network.right, loss: metadata.loss ?? '', scaling: scaling.right, metadata });
};

/** Writes `net` to `file` atomically (see atomic.ts): a crash leaves the previous model intact. */
export const saveModel = (file: string, net: Network<Float>, meta: ModelMeta): Promise<E.Either<GradpipeError, void>> =>
  writeFileAtomic(file, encodeModel(net, meta));

/**
 * Reads and verifies a model written by `saveModel` (a file whose content hash does not match is refused).
 *
 * Law: loadModel(file) after saveModel(file, net, meta) gives the float32 network and meta.loss.
 */
export const loadModel = async (file: string): Promise<E.Either<GradpipeError, LoadedModel>> => {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    return E.left(fsError(file, 'read the model', e));
  }
  return decodeModel(bytes, file);
};
