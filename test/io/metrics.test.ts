import { fc, it as prop } from '@fast-check/vitest';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import { parseJson, toJson } from '../../src/io/json.js';
import * as _ from '../../src/io/metrics.js';
import { useTmpDirs } from './support/tmpdir.js';

const tmp = useTmpDirs();

const read = async (file: string): Promise<_.MetricsRead> => {
  const r = await _.readMetrics(file);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

const record = fc.record({ epoch: fc.nat(100), loss: fc.double(), split: fc.constantFrom('train', 'validation'), note: fc.string() });

describe('metrics.jsonl', () => {
  it('appends one JSON object per line and reads them back, NaN included', async () => {
    const file = join(tmp(), 'metrics.jsonl');
    const records = [
      { epoch: 1, loss: 0.5, accuracy: 0.9 },
      { epoch: 2, loss: Number.NaN, accuracy: 0.1 },
    ];
    for (const r of records) expect(await _.appendMetric(file, r)).toEqual(E.right(undefined));
    expect(readFileSync(file, 'utf8')).toBe('{"epoch":1,"loss":0.5,"accuracy":0.9}\n{"epoch":2,"loss":"NaN","accuracy":0.1}\n');
    expect(await read(file)).toEqual({ records, warnings: [] });
  });

  it('isolates a line cut by a crash: the next record survives, the broken line is skipped with a warning', async () => {
    const file = join(tmp(), 'metrics.jsonl');
    await _.appendMetric(file, { epoch: 1 });
    appendFileSync(file, '{"epoch":2,"lo'); // what a killed run leaves behind
    await _.appendMetric(file, { epoch: 3 });
    const { records, warnings } = await read(file);
    expect(records).toEqual([{ epoch: 1 }, { epoch: 3 }]);
    expect(warnings).toEqual([`${file}:2: ignored a line that is not a JSON object`]);
  });

  it('ignores a partial last line with a warning', async () => {
    const file = join(tmp(), 'metrics.jsonl');
    await _.appendMetric(file, { epoch: 1 });
    appendFileSync(file, '{"epoch":2,');
    expect(await read(file)).toEqual({ records: [{ epoch: 1 }], warnings: [`${file}:2: ignored a partial last line (a run was probably stopped while writing it)`] });
  });

  it('keeps every line whole when many appends run at once', async () => {
    const file = join(tmp(), 'metrics.jsonl');
    const rs = Array.from({ length: 40 }, (_x, i) => ({ i, pad: 'x'.repeat(2000 + i) }));
    const results = await Promise.all(rs.map((r) => _.appendMetric(file, r)));
    expect(results.every(E.isRight)).toBe(true);
    const { records, warnings } = await read(file);
    expect(warnings).toEqual([]);
    expect([...records].sort((a, b) => (a.i as number) - (b.i as number))).toEqual(rs);
  });

  // Each append is fsynced: 50 runs of up to 5 appends keep it quick.
  prop.prop([fc.array(record, { minLength: 1, maxLength: 5 })], { numRuns: 50 })('readMetrics after appendMetric(r1) ... appendMetric(rn) = [r1, ..., rn]', async (records) => {
    const file = join(tmp(), 'metrics.jsonl');
    for (const r of records) expect(await _.appendMetric(file, r)).toEqual(E.right(undefined));
    const got = await read(file);
    expect(got.records).toEqual(records.map((r) => parseJson(toJson(r))));
    expect(got.warnings).toEqual([]);
  });

  prop.prop([fc.array(record, { maxLength: 6 }), fc.double({ min: 0, max: 1 })], { numRuns: 200 })(
    'cutting a metrics file at any byte yields a prefix of its records (or no record at all)',
    (records, cut) => {
      const text = records.map((r) => `${toJson(r)}\n`).join('');
      const bytes = new TextEncoder().encode(text);
      const at = Math.floor(cut * bytes.length);
      // cut on a byte, as a crash would; a cut inside a multi-byte character decodes to U+FFFD, still a broken line
      const r = _.parseMetrics(new TextDecoder().decode(bytes.subarray(0, at)), 'm');
      const complete = new TextDecoder().decode(bytes.subarray(0, at)).split('\n').length - 1;
      if (E.isLeft(r)) {
        expect(complete).toBe(0);
      } else {
        const expected = records.map((x) => parseJson(toJson(x)));
        expect(r.right.records).toEqual(expected.slice(0, r.right.records.length));
        expect(r.right.records.length).toBeGreaterThanOrEqual(complete);
      }
    },
  );

  it('refuses a file with no valid record, and reports a missing file as an IOError', async () => {
    expect(_.parseMetrics('hello\nworld\n', 'm.jsonl')).toEqual(E.left(expect.objectContaining({ _tag: 'DataError', where: 'm.jsonl' })));
    expect(_.parseMetrics('', 'm.jsonl')).toEqual(E.right({ records: [], warnings: [] }));
    const missing = join(tmp(), 'none.jsonl');
    expect(await _.readMetrics(missing)).toEqual(E.left(expect.objectContaining({ _tag: 'IOError', where: missing })));
  });
});

describe('writeSummary', () => {
  it('writes indented JSON ending in a newline, replacing the old summary', async () => {
    const file = join(tmp(), 'summary.json');
    await _.writeSummary(file, { accuracy: 0.5 });
    expect(await _.writeSummary(file, { accuracy: 0.98, loss: Number.POSITIVE_INFINITY })).toEqual(E.right(undefined));
    expect(readFileSync(file, 'utf8')).toBe('{\n  "accuracy": 0.98,\n  "loss": "Infinity"\n}\n');
  });
});
