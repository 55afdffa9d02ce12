/**
 * Command-line parsing (cli/args.ts): Node's own `parseArgs`. A page takes its options from the URL query
 * under the CLI's flag names, turned into an argv, so browser/parseArgs.ts parses the same subset in the
 * same way (strict mode, the same error codes); the tests hold it to Node's.
 */
export { parseArgs } from 'node:util';
