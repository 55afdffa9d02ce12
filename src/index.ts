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
export * from './core.js';

// Node only: files, downloads (the native backend is chosen through #platform/native.js)
export { loadDataset, loadMnist } from './data/dataset.js';
export { decodeIdx, encodeIdx, readIdx } from './data/idx.js';
export { resolveDataDirDefault, type DataDir, type DataDirSource } from './data/resolve.js';
export { downloadMnist, type DownloadOptions, type DownloadedFile, type DownloadProgress } from './data/download.js';
export { readFiles } from './stages/readFiles.js';
export { saveModel, loadModel } from './io/model.js';
export { saveCheckpoint, loadCheckpoint } from './io/checkpoint.js';
export { writeFileAtomic } from './io/atomic.js';
