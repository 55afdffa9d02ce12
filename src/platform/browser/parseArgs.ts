/**
 * `parseArgs` for a browser (see ../parseArgs.ts): strict mode only, as cli/args.ts calls it: `--name`,
 * `--name value`, `--name=value`, single-letter `-x` switches, `multiple`, positionals and `--`; the errors
 * carry Node's codes and name the option in quotes, as Node's do.
 */
interface OptionConfig {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
}
interface ParseConfig {
  readonly args: string[];
  readonly options: Readonly<Record<string, OptionConfig>>;
  readonly strict: true;
  readonly allowPositionals: boolean;
}

const fail = (code: string, message: string): TypeError => Object.assign(new TypeError(message), { code });

export const parseArgs = (config: ParseConfig): { values: Record<string, string | boolean | (string | boolean)[]>; positionals: string[] } => {
  const { args, options, allowPositionals } = config;
  const values: Record<string, string | boolean | (string | boolean)[]> = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(options).flatMap(([name, o]) => (o.short ? [[o.short, name] as const] : [])));
  const positional = (arg: string): void => {
    if (!allowPositionals) throw fail('ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL', `Unexpected argument '${arg}'. This command does not take positional arguments`);
    positionals.push(arg);
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      args.slice(i + 1).forEach(positional);
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional(arg);
      continue;
    }
    const long = arg.startsWith('--');
    const eq = long ? arg.indexOf('=') : -1;
    const name = long ? arg.slice(2, eq < 0 ? undefined : eq) : byShort.get(arg.slice(1, 2));
    const shown = long ? `--${arg.slice(2, eq < 0 ? undefined : eq)}` : arg.slice(0, 2);
    const o = name === undefined ? undefined : options[name];
    if (name === undefined || o === undefined || (!long && arg.length > 2)) throw fail('ERR_PARSE_ARGS_UNKNOWN_OPTION', `Unknown option '${shown}'`);
    let value: string | boolean = true;
    if (o.type === 'boolean') {
      if (eq >= 0) throw fail('ERR_PARSE_ARGS_INVALID_OPTION_VALUE', `Option '${shown}' does not take an argument`);
    } else if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      const next = args[i + 1];
      if (next === undefined) throw fail('ERR_PARSE_ARGS_INVALID_OPTION_VALUE', `Option '${shown} <value>' argument missing`);
      if (next.startsWith('-')) throw fail('ERR_PARSE_ARGS_INVALID_OPTION_VALUE', `Option '${shown}' argument is ambiguous.`);
      value = next;
      i++;
    }
    if (o.multiple) values[name] = [...((values[name] as (string | boolean)[] | undefined) ?? []), value];
    else values[name] = value;
  }
  return { values, positionals };
};
