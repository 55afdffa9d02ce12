/**
 * Command-line parsing shared by every subcommand: `node:util` parseArgs in strict mode (through
 * #platform/parseArgs.js: a page parses its URL query the same way), its errors turned
 * into one-line `OptionError`s that name the option, help text generated from the same table, and the
 * value checks (numbers, ranges, choices) every option uses.
 */
import { parseArgs } from '#platform/parseArgs.js';
import * as E from 'fp-ts/lib/Either.js';
import { optionError, type GradpipeError } from '../errors.js';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** Placeholder shown in help, e.g. `N` or `DIR`. */
  readonly value?: string;
  readonly help: string;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

export interface CommandSpec {
  readonly name: string;
  /** e.g. `gradpipe eval --model DIR [options]`. */
  readonly usage: string;
  readonly summary: string;
  readonly options: OptionTable;
  /** Whether FILE... arguments are accepted. */
  readonly positionals?: boolean;
  /** Extra lines after the options (examples, exit codes). */
  readonly notes?: readonly string[];
}

/** Options every subcommand takes. */
export const COMMON_OPTIONS: OptionTable = {
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  debug: { type: 'boolean', help: 'print stack traces of unexpected errors' },
};

export type Values = Readonly<Record<string, string | boolean | readonly string[] | undefined>>;

export interface Parsed {
  readonly values: Values;
  readonly positionals: readonly string[];
}

const dashed = (name: string): string => `--${name}`;

/** Parses `argv` against the command's table; every problem is one `OptionError` naming the option. */
export const parseCommand = (spec: CommandSpec, argv: readonly string[]): E.Either<GradpipeError, Parsed> => {
  const options = { ...spec.options, ...COMMON_OPTIONS };
  const seeHelp = `see gradpipe ${spec.name} --help`;
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.entries(options).map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
      ),
      strict: true,
      allowPositionals: spec.positionals === true,
    });
    // parseArgs lets a repeated single-valued option silently keep the last value; say so instead
    for (const [k, o] of Object.entries(options)) {
      if (o.multiple || o.type !== 'string') continue;
      const count = argv.filter((a) => a === dashed(k) || a.startsWith(`${dashed(k)}=`)).length;
      if (count > 1) return E.left(optionError(dashed(k), `given ${count} times`, 'give it once'));
    }
    return E.right({ values: values as Values, positionals });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    const msg = err.message ?? String(e);
    const opt = /'(-{1,2}[^' =<]+)/.exec(msg)?.[1] ?? spec.name;
    switch (err.code) {
      case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
        return E.left(optionError(opt, 'unknown option', `valid options: ${Object.keys(options).map(dashed).join(' ')} (${seeHelp})`));
      case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
        const arg = /argument '([^']*)'/.exec(msg)?.[1] ?? '';
        return E.left(optionError(`gradpipe ${spec.name}`, `unexpected argument '${arg}'`, `options start with --; ${seeHelp}`));
      }
      case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
        if (/does not take an argument/.test(msg)) return E.left(optionError(opt, 'is a switch and takes no value', `write just ${opt}`));
        if (/ambiguous/.test(msg)) return E.left(optionError(opt, 'needs a value, got something that looks like an option', `write ${opt}=VALUE for a value starting with a dash`));
        return E.left(optionError(opt, 'needs a value', `write ${opt} VALUE (${seeHelp})`));
      default:
        return E.left(optionError(`gradpipe ${spec.name}`, msg.split('\n')[0] ?? msg, seeHelp));
    }
  }
};

/** The help text of a command, from its table. */
export const helpText = (spec: CommandSpec): string => {
  const rows = Object.entries({ ...spec.options, ...COMMON_OPTIONS }).map(([k, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${k}${o.value ? ` ${o.value}` : ''}`;
    return [flag, o.help] as const;
  });
  const width = Math.min(30, Math.max(...rows.map(([f]) => f.length)));
  const lines = rows.map(([f, h]) => `  ${f.padEnd(width)}  ${h}`);
  return [`Usage: ${spec.usage}`, '', spec.summary, '', 'Options:', ...lines, ...(spec.notes && spec.notes.length > 0 ? ['', ...spec.notes] : []), ''].join('\n');
};

// Value checks. Each returns the value or an OptionError naming the option, what is wrong and the range.

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A finite decimal number satisfying `ok`; `range` says which values are valid (e.g. `>= 0`). */
export const parseNumber = (name: string, text: string, ok: (x: number) => boolean, range: string, example: string): E.Either<GradpipeError, number> => {
  const x = DECIMAL.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isFinite(x)) return E.left(optionError(name, `'${text}' is not a finite number`, `give a number ${range} (e.g. ${name} ${example})`));
  // the mirror of overflow: a non-zero value too small for a double would silently become 0
  if (x === 0 && /[1-9]/.test(text.trim().split(/[eE]/)[0]!)) {
    return E.left(optionError(name, `'${text}' is too small to represent: it would become 0`, `give a number ${range} (e.g. ${name} ${example}), or 0 itself`));
  }
  if (!ok(x)) return E.left(optionError(name, `${text} is out of range`, `give a number ${range} (e.g. ${name} ${example})`));
  return E.right(x);
};

/** A whole number >= `min` (and <= `max` when given). */
export const parseInteger = (name: string, text: string, min: number, example: string, max = Number.MAX_SAFE_INTEGER): E.Either<GradpipeError, number> => {
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
  const t = text.trim();
  if (!/^[+-]?\d+$/.test(t)) {
    return E.left(optionError(name, `'${text}' is not a whole number written in digits`, `give a whole number ${range} (e.g. ${name} ${example})`));
  }
  const x = Number(t);
  if (!Number.isSafeInteger(x) || x < min || x > max) {
    return E.left(optionError(name, `${text} is out of range`, `give a whole number ${range} (e.g. ${name} ${example})`));
  }
  return E.right(x);
};

/** One of `choices`. */
export const parseChoice = <T extends string>(name: string, text: string, choices: readonly T[]): E.Either<GradpipeError, T> =>
  (choices as readonly string[]).includes(text)
    ? E.right(text as T)
    : E.left(optionError(name, `unknown value '${text}'`, `use one of ${choices.join(', ')}`));

/** A string option's value, if given. */
export const str = (values: Values, name: string): string | undefined => {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
};

/** A switch's value. */
export const flag = (values: Values, name: string): boolean => values[name] === true;

/** A multiple string option's values. */
export const strs = (values: Values, name: string): readonly string[] => {
  const v = values[name];
  return Array.isArray(v) ? (v as readonly string[]) : typeof v === 'string' ? [v] : [];
};

/** Maps an optional string option through `parse` (undefined stays undefined). */
export const optional = <T>(values: Values, name: string, parse: (text: string) => E.Either<GradpipeError, T>): E.Either<GradpipeError, T | undefined> => {
  const text = str(values, name);
  return text === undefined ? E.right(undefined) : parse(text);
};
