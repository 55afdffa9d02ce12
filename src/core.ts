/**
 * The isomorphic core of gradpipe: everything that runs in a browser as in Node (stages, networks,
 * optimisers, diagnostics, the ts and wasm backends, datasets from bytes or fetched, the model codec). It
 * imports no `node:` module: what differs by platform sits behind `#platform/*` (see src/platform/), and
 * the package's `browser` export condition resolves `gradpipe` to this module. index.ts adds files,
 * downloads and the native backend for Node.
 *
 * @packageDocumentation
 */
export * from './errors.js';

// tensor
export { matrix, zeros, zeros64, fromRows, argmaxRows, type Float, type Matrix, type Matrix64 } from './tensor/matrix.js';
export type { Backend, BackendName, OptimizerUpdates } from './tensor/backend.js';
export type { Workspace } from './tensor/workspace.js';
export { getBackend, setBackend, tsBackend, ready, backendStatus, backendChosen, BACKEND_ENV } from './tensor/registry.js';
export { resolveBackend, BACKEND_CHOICES, type BackendChoice, type Resolved } from './tensor/select.js';

// nn
export * from './nn/activation.js';
export * from './nn/network.js';
export * from './nn/init.js';
export * from './nn/loss.js';
export { forward, type Forward } from './nn/forward.js';
export { predict, type Prediction } from './nn/predict.js';
export { dropoutMasks, type Dropout, type DropoutMasks, type DropoutStep } from './nn/dropout.js';
export { grad, backprop, type Batch, type Backprop } from './nn/grad.js';
export * from './nn/gradient.js';
export { rng, keyedRng, permutation, type Rng } from './nn/random.js';

// optim
export * from './optim/optimizer.js';
export { move, initialState, allocParams, type OptimizerState, type Moved, type Params } from './optim/move.js';
export { descend, stepBuffers, type DescendConfig, type Descended, type StepBuffers, type LabeledInputs } from './optim/descend.js';
export * from './optim/trainState.js';
export * from './optim/schedule.js';

// diagnostics
export * from './diagnostics/gradcheck.js';
export * from './diagnostics/health.js';
export * from './diagnostics/nonfinite.js';
export * from './diagnostics/monitor.js';
export * from './diagnostics/advice.js';
export * from './diagnostics/probe.js';

// data
export type { Dataset, DatasetOptions, Inputs } from './data/dataset.js';
export { datasetFromBytes, mnistFromBytes, type NamedBytes, type MnistBytes } from './data/fromBytes.js';
export { fetchMnist } from './data/fetchMnist.js';
export { floatDataset, scalingOf, type FloatDatasetInput } from './data/floatDataset.js';
export { distortImage, distortMany, drawWarp, isIdentity, warpImage, type AffineBounds, type ElasticParams, type DistortSpec, type DistortKey, type DistortTask, type Warp } from './data/distort.js';
export type { InputScaling } from './data/scaling.js';
export { checkFits } from './data/fits.js';
export type { Idx } from './data/idx.js';
export type { Checksums } from './data/checksums.js';

// stages
export * from './stages/stage.js';
export * from './stages/read.js';
export * from './stages/shuffle.js';
export * from './stages/batch.js';
export * from './stages/augment.js';
export * from './stages/epochs.js';
export * from './stages/trainStep.js';
export * from './stages/evaluate.js';
export * from './stages/validate.js';
export * from './stages/heldOut.js';
export * from './stages/stopWhen.js';
export * from './stages/report.js';
export * from './stages/checkpoint.js';
export * from './stages/scanHealth.js';
export * from './stages/prefetch.js';
export * from './stages/parallel.js';
export type { StartOptions, StartWorker, WorkerPort, WorkerFunction } from './platform/worker.js';

// io
export { encodeModel, decodeModel, type LoadedModel, type ModelMeta } from './io/modelCodec.js';
export type { Checkpoint, F32Tensor } from './io/checkpoint.js';
export { curvesSvg, confusionMatrixSvg, lineChart, type EpochCurves, type ChartSpec, type Size, type Series, type Point } from './io/svg.js';
