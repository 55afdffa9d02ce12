/**
 * Every ```ts example in a doc comment under src/ runs here as a user's module importing `gradpipe`, and
 * type-checks against the sources, so the examples in the API reference cannot rot. Examples state their
 * results with node:assert, so a wrong claim fails the run.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root, typecheckExamples } from './typecheck.js';

export interface DocExample {
  /** The file and the exported name the comment documents, e.g. `src/stages/batch.ts#batch`. */
  readonly name: string;
  readonly code: string;
}

/** The ```ts blocks of the doc comments of `source`, each named after the declaration its comment precedes. */
export const docExamples = (source: string, file: string): DocExample[] =>
  [...source.matchAll(/\/\*\*([\s\S]*?)\*\/\s*(?:export\s+(?:declare\s+)?(?:async\s+)?(?:const|let|function\*?|class|interface|type)\s+(\w+))?/g)].flatMap((m) => {
    const text = m[1]!.split('\n').map((l) => l.replace(/^\s*\* ?/, '')).join('\n');
    const blocks = [...text.matchAll(/^```(?:ts|typescript)[ \t]*\n([\s\S]*?)^```/gm)].map((b) => b[1]!);
    return blocks.map((code, i) => ({ name: `${file}#${m[2] ?? 'comment'}${blocks.length > 1 ? `-${i + 1}` : ''}`, code }));
  });

const sourcesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return d.name === 'assembly' ? [] : sourcesUnder(p); // AssemblyScript, not TypeScript for Node
    return d.name.endsWith('.ts') ? [p] : [];
  });

const examples = sourcesUnder(join(root, 'src')).flatMap((f) => docExamples(readFileSync(f, 'utf8'), relative(root, f).replaceAll('\\', '/')));
const scratch = join(root, 'test', '.examples', 'doc-comments');
const fileFor = (e: DocExample) => join(scratch, `${e.name.replace(/[^\w-]+/g, '_')}.ts`);

/** The entry points whose doc comments must carry an example. */
const REQUIRED = ['epochBatches', 'trainStep', 'stopWhen', 'batch', 'shuffle', 'evaluate', 'grad', 'move', 'gradientCheck', 'initNetwork'];

describe('doc-comment examples', () => {
  it('finds the examples of a comment and names them after the declaration that follows', () => {
    const src = ['/**', ' * Doubles.', ' *', ' * ```ts', ' * const x = 1;', ' * ```', ' */', 'export const double = (n: number) => 2 * n;'].join('\n');
    expect(docExamples(src, 'f.ts')).toEqual([{ name: 'f.ts#double', code: 'const x = 1;\n' }]);
    expect(docExamples('/** no example */\nexport const y = 1;', 'f.ts')).toEqual([]);
  });

  it('every required entry point has an example', () => {
    const documented = new Set(examples.map((e) => e.name.split('#')[1]!.replace(/-\d+$/, '')));
    expect(REQUIRED.filter((n) => !documented.has(n))).toEqual([]);
  });

  for (const e of examples) {
    it(`${e.name} runs`, async () => {
      mkdirSync(scratch, { recursive: true });
      writeFileSync(fileFor(e), `${e.code}\nexport {};\n`);
      await import(/* @vite-ignore */ fileFor(e));
    });
  }

  it('every example type-checks as a module importing gradpipe', () => {
    expect(typecheckExamples(examples.map((e) => ({ name: e.name, code: e.code })), join(root, 'test', '.examples', 'doc-comments-typecheck'))).toEqual([]);
  });
});
