/**
 * `gradpipe doctor`: PLACEHOLDER so that main.ts compiles; the doctor subcommand is written by another
 * engineer, who owns this file. It parses the training options (so bad options fail the same way as for
 * train) and reports that the health report is not available yet.
 */
import * as E from 'fp-ts/lib/Either.js';
import { formatError } from '../errors.js';
import { helpText, type CommandSpec } from './args.js';
import { processIo, type CliIo } from './io.js';
import { parseTrainArgs, trainTable } from './options.js';

export const DOCTOR_SPEC: CommandSpec = {
  name: 'doctor',
  usage: 'gradpipe doctor [train options]',
  summary: 'Run a few batches of the configured network and print a health report (not implemented yet).',
  options: trainTable(),
};

/** `gradpipe doctor` (placeholder: see the module comment). */
export const runDoctor = async (argv: readonly string[], io: CliIo = processIo()): Promise<number> => {
  const args = parseTrainArgs(argv, DOCTOR_SPEC);
  if (E.isLeft(args)) {
    io.stderr.write(`${formatError(args.left)}\n`);
    return 1;
  }
  if (args.right.help) {
    io.stdout.write(helpText(DOCTOR_SPEC));
    return 0;
  }
  io.stderr.write('gradpipe: doctor: not implemented yet in this build; use gradpipe train, or see docs/\n');
  return 2;
};
