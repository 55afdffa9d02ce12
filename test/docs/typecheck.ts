/**
 * Type-checks code examples as a user's module importing the package by name: each example is written to a
 * scratch file and compiled, with the repository's compiler options, against the sources (`gradpipe` mapped
 * to src/index.ts, as vitest.config.ts aliases it). Running an example only strips its types; this is what
 * catches an example that runs but would not compile for a user.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const root = fileURLToPath(new URL('../../', import.meta.url));

/** The ```ts / ```typescript blocks of a markdown text (the same rule as examples.test.ts, which is a test file and cannot be imported without running it). */
export const codeBlocks = (markdown: string): string[] =>
  [...markdown.matchAll(/^```(?:ts|typescript)[ \t]*\n([\s\S]*?)^```/gm)].map((m) => m[1]!);

/** One line per compiler error in the examples themselves, `name:line: message` (empty when all compile). */
export const typecheckExamples = (examples: readonly { readonly name: string; readonly code: string }[], scratchDir: string): string[] => {
  mkdirSync(scratchDir, { recursive: true });
  const files = examples.map((e) => {
    const file = join(scratchDir, `${e.name.replace(/[^\w-]+/g, '_')}.ts`);
    writeFileSync(file, `${e.code}\nexport {};\n`);
    return { file, name: e.name };
  });
  const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (parsed === undefined) throw new Error('typecheckExamples: tsconfig.json could not be read');
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, paths: { gradpipe: [join(root, 'src', 'index.ts')] } };
  const program = ts.createProgram(files.map((f) => f.file), options);
  return files.flatMap(({ file, name }) => {
    const source = program.getSourceFile(file);
    if (source === undefined) return [`${name}: not compiled`];
    return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map((d) => {
      const line = d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line + 1;
      return `${name}:${line}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
  });
};
