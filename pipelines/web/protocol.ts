/**
 * The messages between the page (main.ts) and its training Worker (worker.ts). Everything here is
 * structured-cloneable; the stop flag is a SharedArrayBuffer the page sets and the Worker polls after
 * every step (the Worker runs training synchronously between steps, so a posted "stop" would wait).
 */
import type { TrainOptions } from '../mnist.js';
import type { BackendChoice } from '../../src/tensor/select.js';
import type { EpochEvent, StepEvent } from '../../src/stages/report.js';

export type ToWorker =
  | { readonly kind: 'start'; readonly options: TrainOptions; readonly backend: BackendChoice; readonly threads: number | undefined; readonly stop: SharedArrayBuffer }
  | { readonly kind: 'resume'; readonly stop: SharedArrayBuffer };

/** The run summary (the fields of the CLI's summary.json that mean something in a page). */
export type Summary = Readonly<Record<string, unknown>>;

export type FromWorker =
  | { readonly kind: 'status'; readonly text: string }
  | { readonly kind: 'step'; readonly event: StepEvent; readonly totalSteps: number }
  | { readonly kind: 'epoch'; readonly event: EpochEvent }
  | { readonly kind: 'stopped'; readonly step: number }
  | { readonly kind: 'done'; readonly summary: Summary; readonly model: Uint8Array; readonly confusion: readonly (readonly number[])[] }
  | { readonly kind: 'diverged'; readonly summary: Summary; readonly report: string }
  | { readonly kind: 'error'; readonly message: string };
