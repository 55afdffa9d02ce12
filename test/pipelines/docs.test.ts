/**
 * docs/pipelines.md shows each example file in full: every file under pipelines/examples/ must open one of its
 * blocks verbatim (importing `gradpipe` where the file imports the sources), so the page and the tested files
 * cannot drift apart. The blocks run in test/docs/examples.test.ts; here they are also type-checked.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeBlocks, root, typecheckExamples } from '../docs/typecheck.js';

const page = readFileSync(join(root, 'docs', 'pipelines.md'), 'utf8');
const blocks = codeBlocks(page);
const exampleDir = join(root, 'pipelines', 'examples');
const files = readdirSync(exampleDir).filter((f) => f.endsWith('.ts'));

describe('docs/pipelines.md', () => {
  it('has one block per example file', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
    expect(blocks).toHaveLength(files.length);
  });

  for (const f of files) {
    it(`shows pipelines/examples/${f} verbatim`, () => {
      const shown = readFileSync(join(exampleDir, f), 'utf8').replaceAll("'../../src/index.js'", "'gradpipe'");
      expect(blocks.filter((b) => b.startsWith(shown))).toHaveLength(1);
    });
  }

  it('every block type-checks as a module importing gradpipe', () => {
    const errors = typecheckExamples(
      blocks.map((code, i) => ({ name: `pipelines_md_${i + 1}`, code })),
      join(root, 'test', '.examples', 'typecheck-pipelines'),
    );
    expect(errors).toEqual([]);
  });
});
