/**
 * Laws are stated once and each is tested: every `Laws:` list (or `Law:` line) in a doc comment under src/
 * is read here, and each law must appear, word for word, as the name of a test in a file that uses
 * fast-check (a property test), and in no other doc comment.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from './typecheck.js';

const filesUnder = (dir: string, keep: (name: string) => boolean): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return d.name === 'assembly' || d.name === 'node_modules' || d.name.startsWith('.') ? [] : filesUnder(p, keep);
    return keep(d.name) ? [p] : [];
  });

const squash = (t: string): string => t.replace(/\s+/g, ' ').trim();

export interface StatedLaw {
  readonly file: string;
  readonly law: string;
}

/** The laws stated in the doc comments of `source`: the items of a `Laws:` list, or the text of a `Law:` line. */
export const statedLaws = (source: string, file: string): StatedLaw[] =>
  [...source.matchAll(/\/\*\*([\s\S]*?)\*\//g)].flatMap((m) => {
    const lines = m[1]!.split('\n').map((l) => l.replace(/^\s*\* ?/, ''));
    const laws: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const inline = /^\s*Law: (.+)$/.exec(line);
      if (inline) {
        let text = inline[1]!;
        while (i + 1 < lines.length && lines[i + 1]!.trim() !== '' && !/^\s*(@|-)/.test(lines[i + 1]!)) text += ` ${lines[++i]!.trim()}`;
        laws.push(text);
      } else if (/^\s*Laws:\s*$/.test(line)) {
        let current: string | undefined;
        for (i++; i < lines.length && lines[i]!.trim() !== '' && !/^\s*@/.test(lines[i]!); i++) {
          const item = /^\s*- (.+)$/.exec(lines[i]!);
          if (item) {
            if (current !== undefined) laws.push(current);
            current = item[1]!;
          } else if (current !== undefined) current += ` ${lines[i]!.trim()}`;
        }
        if (current !== undefined) laws.push(current);
      }
    }
    return laws.map((l) => ({ file, law: squash(l).replace(/\.$/, '') }));
  });

const laws = filesUnder(join(root, 'src'), (n) => n.endsWith('.ts')).flatMap((f) => statedLaws(readFileSync(f, 'utf8'), relative(root, f)));
const propertyTests = filesUnder(join(root, 'test'), (n) => n.endsWith('.test.ts'))
  .map((f) => ({ file: relative(root, f), text: squash(readFileSync(f, 'utf8')) }))
  .filter((t) => t.text.includes('fast-check'));

/** The names of the tests of a file: the first string argument of `it(`, `test(`, `.prop([...])(`. */
const testNames = (text: string): string[] =>
  [...text.matchAll(/(?:\b(?:it|test)\(|\.prop\(\[.*?\](?:, \{[^}]*\})?\)\()\s*(['"`])((?:\\.|(?!\1).)*)\1/g)].map((m) => m[2]!.replace(/\\(.)/g, '$1'));

describe('laws', () => {
  it('reads the laws of a doc comment: Laws: lists with continued items, and Law: lines', () => {
    const src = ['/**', ' * Text.', ' *', ' * Laws:', ' * - first law', ' * - a second law', ' *   continued', ' *', ' * @example', ' */', '/** Law: one line law. */'].join('\n');
    expect(statedLaws(src, 'f.ts').map((l) => l.law)).toEqual(['first law', 'a second law continued', 'one line law']);
  });

  it('finds the names of property tests', () => {
    const text = squash(`test.prop([fc.nat()], { numRuns: 100 })('a law, with "quotes"', (n) => {}); it('plain', () => {});`);
    expect(testNames(text)).toEqual(['a law, with "quotes"', 'plain']);
  });

  it('finds laws in the sources', () => {
    expect(laws.length).toBeGreaterThan(30);
  });

  it('laws are written as a Law: line or a Laws: list at the start of a doc-comment line', () => {
    const stray = filesUnder(join(root, 'src'), (n) => n.endsWith('.ts')).flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/\/\*\*([\s\S]*?)\*\//g)].flatMap((m) =>
        m[1]!
          .split('\n')
          .map((l) => l.replace(/^\s*\* ?/, ''))
          .filter((l) => /\bLaws?:/.test(l) && !/^\s*(Law: .+|Laws:\s*)$/.test(l))
          .map((l) => `${relative(root, f)}: ${l.trim()}`),
      ),
    );
    expect(stray).toEqual([]);
  });

  it('every law is stated in one doc comment only', () => {
    const seen = new Map<string, string[]>();
    for (const l of laws) seen.set(l.law, [...(seen.get(l.law) ?? []), l.file]);
    expect([...seen].filter(([, files]) => files.length > 1)).toEqual([]);
  });

  it('every law has a property test with the same words', () => {
    const names = propertyTests.flatMap((t) => testNames(t.text).map(squash));
    const untested = laws.filter((l) => !names.some((n) => n.includes(l.law)));
    expect(untested.map((l) => `${l.file}: ${l.law}`)).toEqual([]);
  });
});
