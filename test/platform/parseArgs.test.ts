/** The browser's parseArgs against Node's (node:util, the oracle) on command lines of gradpipe's shapes. */
import { parseArgs as nodeParseArgs } from 'node:util';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { parseArgs as browserParseArgs } from '../../src/platform/browser/parseArgs.js';

const options = {
  layers: { type: 'string' },
  epochs: { type: 'string' },
  file: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const outcome = (parse: typeof browserParseArgs, args: string[], allowPositionals: boolean): unknown => {
  try {
    const { values, positionals } = parse({ args: [...args], options, strict: true, allowPositionals });
    return { values: { ...values }, positionals };
  } catch (e) {
    const err = e as { code?: string; message: string };
    return { code: err.code, option: /'(-{1,2}[^' =<]+)/.exec(err.message)?.[1] };
  }
};

const word = fc.stringMatching(/^[a-z0-9.][a-z0-9.-]{0,6}$/);
const token = fc.oneof(
  fc.constantFrom('--layers', '--epochs', '--file', '--json', '--help', '-h', '--', '--nope', '-x', '--json=1'),
  word.map((w) => `--layers=${w}`),
  word,
);

describe('parseArgs', () => {
  test.prop([fc.array(token, { maxLength: 8 }), fc.boolean()], { numRuns: 500 })(
    'the browser parser gives what node:util parseArgs gives, values or error code and option',
    (args, allowPositionals) => {
      expect(outcome(browserParseArgs, args, allowPositionals)).toEqual(outcome(nodeParseArgs as unknown as typeof browserParseArgs, args, allowPositionals));
    },
  );

  it('parses a page query turned into flags', () => {
    expect(outcome(browserParseArgs, ['--layers', '784-64-10', '--epochs=2', '--json'], false)).toEqual({ values: { layers: '784-64-10', epochs: '2', json: true }, positionals: [] });
  });
});
