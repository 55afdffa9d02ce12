import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // examples in README.md and docs/ import the package by name; tests run them against the sources
    alias: [
      { find: /^gradpipe$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
      // the package's imports map (#platform/*.js) points at dist/; tests run Node's side from the sources
      { find: /^#platform\/(.*)\.js$/, replacement: fileURLToPath(new URL('./src/platform/', import.meta.url)) + '$1.ts' },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/support/pinReference.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
