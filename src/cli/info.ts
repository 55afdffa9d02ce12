/**
 * `gradpipe info`: versions, the backend that would be used and why, its threads, and where the data
 * directory resolves to (or every path tried). Never fails for want of data: that is what it reports.
 */
import { availableParallelism, cpus } from 'node:os';
import * as E from 'fp-ts/lib/Either.js';
import { DATA_ENV } from '../data/resolve.js';
import { toJson } from '../io/json.js';
import { BACKEND_CHOICES, resolveBackend } from '../tensor/select.js';
import { flag, optional, parseChoice, parseCommand, parseInteger, str, type CommandSpec } from './args.js';
import { dataDir, EXIT, fail, printHelp } from './common.js';
import type { CliIo } from './io.js';
import { packageInfo } from './version.js';
import { MAX_THREADS } from '../tensor/backend.js';

export const INFO_SPEC: CommandSpec = {
  name: 'info',
  usage: 'gradpipe info [options]',
  summary: 'Show versions, the numeric backend in use and why, threads, and where the MNIST data directory resolves to.',
  options: {
    data: { type: 'string', value: 'DIR', help: 'check this data folder instead of the default resolution' },
    backend: { type: 'string', value: 'NAME', help: `backend to resolve: ${BACKEND_CHOICES.join('|')} (default auto)` },
    threads: { type: 'string', value: 'N', help: 'threads for the backend (default: all cores)' },
    json: { type: 'boolean', help: 'print the information as JSON' },
  },
};

/** `gradpipe info`. */
export const runInfo = async (argv: readonly string[], io: CliIo): Promise<number> => {
  const parsed = parseCommand(INFO_SPEC, argv);
  if (E.isLeft(parsed)) return fail(io, parsed.left);
  const { values } = parsed.right;
  if (flag(values, 'help')) return printHelp(io, INFO_SPEC);
  const choice = parseChoice('--backend', str(values, 'backend') ?? 'auto', BACKEND_CHOICES);
  if (E.isLeft(choice)) return fail(io, choice.left);
  const threads = optional(values, 'threads', (t) => parseInteger('--threads', t, 1, '2', MAX_THREADS));
  if (E.isLeft(threads)) return fail(io, threads.left);
  const resolved = await resolveBackend(choice.right, threads.right);
  if (E.isLeft(resolved)) return fail(io, resolved.left);
  const backend = {
    name: resolved.right.backend.name,
    threads: resolved.right.backend.threads,
    description: resolved.right.backend.description,
    why: resolved.right.why,
  };
  resolved.right.backend.dispose();
  const data = dataDir(io, str(values, 'data'));
  const pkg = packageInfo();
  const info = {
    gradpipe: pkg.version,
    installedAt: pkg.root,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: `${availableParallelism()} x ${cpus()[0]?.model.trim() ?? 'unknown'}`,
    backend,
    data: E.isRight(data)
      ? { found: true, dir: data.right.dir, source: data.right.source }
      : { found: false, problem: `${data.left.where}: ${data.left.message}`, hint: data.left.hint },
  };
  if (flag(values, 'json')) {
    io.stdout.write(`${toJson(info, 2)}\n`);
    return EXIT.ok;
  }
  const source = { option: '--data', env: DATA_ENV, default: 'default search' } as const;
  io.stdout.write(
    [
      `gradpipe ${info.gradpipe} (${info.installedAt})`,
      `node      ${info.node} on ${info.platform}, ${info.cpus}`,
      `backend   ${backend.name}, ${backend.threads} thread${backend.threads === 1 ? '' : 's'}: ${backend.description}`,
      `          why: ${backend.why}`,
      E.isRight(data)
        ? `data      ${data.right.dir} (from ${source[data.right.source]})`
        : `data      not found: ${info.data.found ? '' : `${data.left.message}; ${data.left.hint}`}`,
      '',
    ].join('\n'),
  );
  return EXIT.ok;
};
