/**
 * `gradpipe download [--data DIR]`: fetches the four MNIST files into DIR (default data/mnist), each
 * checked against the committed checksums, with a progress bar on a terminal and one line per file elsewhere.
 */
import * as E from 'fp-ts/lib/Either.js';
import { DEFAULT_DOWNLOAD_DIR, downloadMnist, MNIST_MIRRORS, type DownloadProgress } from '../data/download.js';
import { flag, parseCommand, str, strs, type CommandSpec } from './args.js';
import { EXIT, fail, printHelp } from './common.js';
import { resolvePath, type CliIo } from './io.js';
import { optionError } from '../errors.js';

export const DOWNLOAD_SPEC: CommandSpec = {
  name: 'download',
  usage: 'gradpipe download [--data DIR]',
  summary: `Fetch the four MNIST files into DIR (default ${DEFAULT_DOWNLOAD_DIR}) from public mirrors, verifying each file's SHA-256 against data/mnist.sha256. Files already present and intact are kept.`,
  options: {
    data: { type: 'string', value: 'DIR', help: `where to put the files (default ${DEFAULT_DOWNLOAD_DIR})` },
    mirror: { type: 'string', multiple: true, value: 'URL', help: `a base URL to fetch NAME.gz from; repeatable, tried in order (default ${MNIST_MIRRORS.join(', ')})` },
    quiet: { type: 'boolean', short: 'q', help: 'print nothing but the final line' },
  },
};

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

/** `gradpipe download`. */
export const runDownload = async (argv: readonly string[], io: CliIo): Promise<number> => {
  const parsed = parseCommand(DOWNLOAD_SPEC, argv);
  if (E.isLeft(parsed)) return fail(io, parsed.left);
  const { values } = parsed.right;
  if (flag(values, 'help')) return printHelp(io, DOWNLOAD_SPEC);
  const mirrors = strs(values, 'mirror');
  const badMirror = mirrors.find((m) => !/^https?:\/\/[^\s]+$/.test(m));
  if (badMirror !== undefined) return fail(io, optionError('--mirror', `'${badMirror}' is not an http(s) URL`, 'give a base URL such as https://example.org/mnist/'));
  const dir = resolvePath(io, str(values, 'data') ?? DEFAULT_DOWNLOAD_DIR);
  const quiet = flag(values, 'quiet');
  const tty = io.stderr.isTTY && !quiet;
  let lastDraw = 0;
  const onProgress = (p: DownloadProgress): void => {
    if (!tty) return;
    const now = performance.now();
    const finished = p.total !== undefined && p.done >= p.total;
    if (now - lastDraw < 100 && !finished) return;
    lastDraw = now;
    const width = 30;
    const frac = p.total === undefined ? undefined : Math.min(1, p.done / p.total);
    const bar = frac === undefined ? '' : `[${'='.repeat(Math.round(frac * width)).padEnd(width)}] ${(100 * frac).toFixed(0).padStart(3)}% `;
    io.stderr.write(`\r\x1b[2K${p.file}.gz ${bar}${mb(p.done)}${p.total === undefined ? '' : ` of ${mb(p.total)}`}`);
  };
  const result = await downloadMnist({ dir, ...(mirrors.length > 0 ? { mirrors } : {}), onProgress });
  if (tty) io.stderr.write('\r\x1b[2K');
  if (E.isLeft(result)) return fail(io, result.left);
  if (!quiet) {
    for (const f of result.right) {
      io.stdout.write(`${f.name}: ${f.status === 'present' ? 'already present and intact' : `downloaded from ${f.url ?? '?'}`} (${f.path})\n`);
    }
  }
  const fetched = result.right.filter((f) => f.status === 'downloaded').length;
  io.stdout.write(`MNIST is ready in ${dir} (${fetched} downloaded, ${result.right.length - fetched} already present); train with: gradpipe train${str(values, 'data') === undefined ? '' : ` --data ${str(values, 'data')}`}\n`);
  return EXIT.ok;
};
