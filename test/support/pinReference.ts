/**
 * Test set-up: the suite compares results with the TypeScript reference, so it pins that backend; without a
 * pin the first pipeline would pick native or wasm (src/tensor/registry.ts). Tests of the default itself run
 * it in a fresh module graph (test/tensor/registry.test.ts) or a fresh process (test/package/*.test.ts).
 */
import { setBackend, tsBackend } from '../../src/tensor/registry.js';

setBackend(tsBackend);
