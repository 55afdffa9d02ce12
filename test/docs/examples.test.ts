/**
 * Every TypeScript example in README.md and docs/*.md runs here, verbatim, so none can rot. An example is a
 * fenced block whose info string is `ts` or `typescript`; it is written to a scratch module and imported.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const scratch = join(root, 'test', '.examples');

export const examplesIn = (markdown: string): string[] =>
  [...markdown.matchAll(/^```(?:ts|typescript)[ \t]*\n([\s\S]*?)^```/gm)].map((m) => m[1]!);

const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

describe('documentation examples', () => {
  it('finds examples in the README', () => {
    expect(examplesIn(readFileSync(join(root, 'README.md'), 'utf8')).length).toBeGreaterThan(0);
    expect(examplesIn('text\n```ts\nconst a = 1;\n```\n```bash\nls\n```\n')).toEqual(['const a = 1;\n']);
  });

  for (const doc of docs) {
    examplesIn(readFileSync(join(root, doc), 'utf8')).forEach((code, i) => {
      it(`${doc} example ${i + 1} runs`, async () => {
        mkdirSync(scratch, { recursive: true });
        const file = join(scratch, `${doc.replace(/[/.]/g, '_')}_${i + 1}.ts`);
        writeFileSync(file, `${code}\nexport {};\n`);
        await import(/* @vite-ignore */ file);
      });
    });
  }
});
