/**
 * gradpipe: train neural networks as streaming pipelines of small, law-abiding stages.
 *
 * Data flows one way: stages -> nn / optim / diagnostics -> tensor; io and data sit beside them.
 *
 * Where to start (the guides are README.md and docs/pipelines.md; every law is argued in docs/laws.md):
 * - the stage model: {@link Stage}, {@link compose}, {@link runStage}, and the adapters {@link rx} (RxJS),
 *   {@link ix} and {@link ixSync} (IxJS);
 * - the backend: {@link ready} (the fastest, chosen once; pipelines call it), {@link backendStatus}, {@link setBackend};
 * - data: {@link loadMnist}, {@link loadDataset}, {@link floatDataset} (any numeric data), {@link encodeIdx} / {@link decodeIdx}, {@link takeDataset};
 * - the source of a training run: {@link epochBatches} (read, {@link shuffle}, {@link batch});
 * - networks: {@link initNetwork}, {@link createNetwork}, {@link forward}, {@link predict} (class and probabilities of raw inputs);
 * - gradients and steps: {@link grad}, {@link move}, {@link optimizer}, {@link descend}, {@link trainStep}
 *   (states are values, {@link TrainState}, or borrowed, {@link Borrowed}, kept with {@link snapshot});
 * - around the step: {@link validate}, {@link report}, {@link tap}, {@link stopWhen} with {@link anyOf},
 *   {@link maxEpochs}, {@link earlyStopping}, {@link diverged}; {@link checkpoint} with {@link checkpointWriter};
 * - results and files: {@link evaluate}, {@link saveModel} / {@link loadModel}, {@link saveCheckpoint} /
 *   {@link loadCheckpoint};
 * - diagnostics: {@link gradientCheck}, {@link locateNonFinite};
 * - errors: {@link GradpipeError}, {@link formatError}, {@link orThrow}.
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
export { grad, backprop, type Batch, type Backprop } from './nn/grad.js';
export * from './nn/gradient.js';
export { rng, permutation, type Rng } from './nn/random.js';

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

// data
export { loadDataset, loadMnist, type Dataset, type DatasetOptions, type Inputs } from './data/dataset.js';
export { floatDataset, scalingOf, type FloatDatasetInput } from './data/floatDataset.js';
export type { InputScaling } from './data/scaling.js';
export { checkFits } from './data/fits.js';
export { decodeIdx, encodeIdx, readIdx, type Idx } from './data/idx.js';
export { resolveDataDirDefault, type DataDir, type DataDirSource } from './data/resolve.js';
export { downloadMnist, type DownloadOptions, type DownloadedFile, type DownloadProgress } from './data/download.js';
export type { Checksums } from './data/checksums.js';

// stages
export * from './stages/stage.js';
export * from './stages/read.js';
export * from './stages/shuffle.js';
export * from './stages/batch.js';
export * from './stages/epochs.js';
export * from './stages/trainStep.js';
export * from './stages/evaluate.js';
export * from './stages/validate.js';
export * from './stages/stopWhen.js';
export * from './stages/report.js';
export * from './stages/checkpoint.js';
export * from './stages/prefetch.js';
export * from './stages/parallel.js';
export type { StartWorker, WorkerPort } from './platform/worker.js';

// io
export { saveModel, loadModel, type LoadedModel, type ModelMeta } from './io/model.js';
export { saveCheckpoint, loadCheckpoint, type Checkpoint, type F32Tensor } from './io/checkpoint.js';
export { writeFileAtomic } from './io/atomic.js';
export { curvesSvg, confusionMatrixSvg, lineChart, type EpochCurves, type ChartSpec, type Size, type Series, type Point } from './io/svg.js';
