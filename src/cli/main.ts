#!/usr/bin/env node
/**
 * The `gradpipe` command: dispatches to one subcommand per file and turns what escapes them into an exit
 * code. Expected problems (options, data, models) arrive as `GradpipeError`s and print as one line, exit 1;
 * anything else is a bug: one line and exit 2 (with --debug, the stack trace too).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatError, GradpipeException } from '../errors.js';
import { inCliTerms } from './options.js';
import { EXIT } from './common.js';
import { processIo, type CliIo } from './io.js';
import { packageInfo } from './version.js';

export type Command = (argv: readonly string[], io: CliIo) => Promise<number>;

/**
 * The subcommands, in the order `gradpipe --help` lists them. Each is loaded only when run: start-up stays
 * quick, and one command's dependencies (e.g. the PNG decoder of predict) cannot stop the others.
 */
export const COMMANDS: Readonly<Record<string, { readonly load: () => Promise<Command>; readonly summary: string }>> = {
  train: { load: async () => (await import('./train.js')).runTrain, summary: 'train a network on MNIST (npm start runs this with the defaults)' },
  eval: { load: async () => (await import('./eval.js')).runEval, summary: 'test loss, accuracy and confusion matrix of a saved model' },
  predict: { load: async () => (await import('./predict.js')).runPredict, summary: 'classify 28x28 PNG/PGM images (or an image of an IDX file) with a saved model' },
  doctor: { load: async () => (await import('./doctor.js')).runDoctor, summary: 'run a few batches and report gradient check, activation and gradient health' },
  download: { load: async () => (await import('./download.js')).runDownload, summary: 'fetch MNIST into data/mnist, verifying checksums' },
  info: { load: async () => (await import('./info.js')).runInfo, summary: 'versions, backend and why, threads, where the data is' },
  serve: { load: async () => (await import('./serve.js')).runServe, summary: 'serve the training page (trains in the browser, same bits as train) on 127.0.0.1' },
};

export const mainHelp = (): string =>
  [
    'Usage: gradpipe <command> [options]',
    '',
    'Train neural networks as streaming pipelines. Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`),
    '',
    'Run gradpipe <command> --help for the options of each.',
    'Options for every command: --help, --debug (stack traces of unexpected errors).',
    'Exit codes: 0 done, 1 bad option/data/model, 2 internal error, 3 training diverged, 4 doctor found problems, 130 interrupted.',
    '',
  ].join('\n');

/** Runs `gradpipe argv...` and returns the exit code; never throws. */
export const main = async (argv: readonly string[], io: CliIo = processIo()): Promise<number> => {
  const debug = argv.includes('--debug');
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      (name === undefined ? io.stderr : io.stdout).write(mainHelp());
      return name === undefined ? EXIT.usage : EXIT.ok;
    }
    if (name === '--version' || name === '-V') {
      io.stdout.write(`${packageInfo().version}\n`);
      return EXIT.ok;
    }
    const command = COMMANDS[name];
    if (command === undefined) {
      io.stderr.write(`gradpipe: ${name}: unknown command; use one of ${Object.keys(COMMANDS).join(', ')} (gradpipe --help)\n`);
      return EXIT.usage;
    }
    const run = await command.load();
    return await run(rest, io);
  } catch (e) {
    if (e instanceof GradpipeException) {
      io.stderr.write(`${formatError(inCliTerms(e.error))}\n`);
      if (debug && e.stack) io.stderr.write(`${e.stack}\n`);
      return EXIT.usage;
    }
    const message = e instanceof Error ? e.message : String(e);
    io.stderr.write(`gradpipe: internal error: ${message.split('\n')[0]} (${debug ? 'stack trace follows' : 'run with --debug for details'})\n`);
    if (debug) io.stderr.write(`${e instanceof Error && e.stack ? e.stack : String(e)}\n`);
    return EXIT.internal;
  }
};

const invokedDirectly = (): boolean => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
};

if (invokedDirectly()) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    // The command is over and what it wrote is whole: from here a signal ends the process with the command's
    // own code. Left to drain, node would close its signal handling first and then tear down for tens of
    // milliseconds on a loaded machine, where a signal kills the process instead; process.exit keeps the
    // handler in place to the end. It waits for stdout and stderr to take what was written (pipes are
    // asynchronous on some systems).
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(code));
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  });
}
