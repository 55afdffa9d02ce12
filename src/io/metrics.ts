/**
 * `metrics.jsonl`: one JSON object per line, appended as training goes, readable while it is being written.
 *
 * 1. Each record is written as one whole line (JSON has no raw newlines) by a single append, then fsynced,
 *    so a crash can cut at most the line being written.
 * 2. If a previous run was cut mid-line, the next append first ends that broken line, so it cannot swallow
 *    the new record.
 * 3. The reader skips broken lines with a warning naming the line, instead of refusing the whole file.
 * Non-finite numbers (a diverged loss) are kept (see json.ts).
 *
 * Its laws are stated on `readMetrics` and `parseMetrics` below.
 */
import * as fs from 'node:fs/promises';
import * as E from 'fp-ts/lib/Either.js';
import { dataError, type GradpipeError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { fsError } from './ioError.js';
import { parseJson, toJson } from './json.js';

export type MetricRecord = Readonly<Record<string, unknown>>;

export interface MetricsRead {
  readonly records: readonly MetricRecord[];
  /** One per line that was skipped, naming the file and line. */
  readonly warnings: readonly string[];
}

const NEWLINE = 0x0a;

/** Appends `record` as one line of `file` (created if missing) and flushes it to disk. */
export const appendMetric = async (file: string, record: MetricRecord): Promise<E.Either<GradpipeError, void>> => {
  const line = `${toJson(record)}\n`;
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, 'a+');
    const { size } = await handle.stat();
    let prefix = '';
    if (size > 0) {
      const last = new Uint8Array(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== NEWLINE) prefix = '\n';
    }
    const bytes = new TextEncoder().encode(prefix + line);
    const { bytesWritten } = await handle.write(bytes);
    // a regular file takes the whole buffer unless the disk is full; say so rather than write the rest apart
    if (bytesWritten !== bytes.length) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
    await handle.sync();
  } catch (e) {
    return E.left(fsError(file, 'append to the metrics file', e));
  } finally {
    await handle?.close().catch(() => undefined);
  }
  return E.right(undefined);
};

const isRecord = (u: unknown): u is MetricRecord => typeof u === 'object' && u !== null && !Array.isArray(u);

/**
 * Parses the text of a metrics file (see the module comment); `file` names it in warnings and errors.
 *
 * Law: cutting a metrics file at any byte yields a prefix of its records (or no record at all)
 */
export const parseMetrics = (text: string, file: string): E.Either<GradpipeError, MetricsRead> => {
  const lines = text.split('\n');
  const records: MetricRecord[] = [];
  const warnings: string[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = parseJson(line);
    } catch {
      value = undefined;
    }
    if (isRecord(value)) records.push(value);
    else if (i === lines.length - 1) warnings.push(`${file}:${i + 1}: ignored a partial last line (a run was probably stopped while writing it)`);
    else warnings.push(`${file}:${i + 1}: ignored a line that is not a JSON object`);
  });
  if (records.length === 0 && warnings.length > 0) {
    return E.left(dataError(file, 'holds no valid metrics records (no line is a JSON object)', 'give a metrics.jsonl written by gradpipe'));
  }
  return E.right({ records, warnings });
};

/**
 * Reads a metrics file written by `appendMetric`.
 *
 * Law: readMetrics after appendMetric(r1) ... appendMetric(rn) = [r1, ..., rn]
 */
export const readMetrics = async (file: string): Promise<E.Either<GradpipeError, MetricsRead>> => {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    return E.left(fsError(file, 'read the metrics file', e));
  }
  return parseMetrics(text, file);
};

/** Writes `value` as indented JSON to `file` (e.g. `summary.json`) atomically. */
export const writeSummary = (file: string, value: unknown): Promise<E.Either<GradpipeError, void>> =>
  writeFileAtomic(file, `${toJson(value, 2)}\n`);
