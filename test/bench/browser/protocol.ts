/** What the browser bench's page asks its Worker (one run of one system) and what the Worker answers. */
import type { Job } from '../job.js';

/** gradpipe's wasm backend, jax-js's wasm device, TensorFlow.js's wasm backend (its own thread choice, or all cores). */
export type BrowserSystem = 'gradpipe' | 'jax' | 'tfjs' | 'tfjs-all';

export interface BenchRequest {
  readonly system: BrowserSystem;
  readonly job: Job;
}

export type BenchAnswer =
  | { readonly ok: true; readonly description: string; readonly seconds: number; readonly samples: number; readonly tailLoss: number; readonly digest: string }
  | { readonly ok: false; readonly message: string };
