/**
 * Tagged errors returned (as fp-ts `Either` lefts) at the boundaries: files, options, network construction.
 * Throwing is reserved for programmer errors (a broken invariant inside the library).
 *
 * Every error says what is wrong and what to do, and names the file or option or layer it concerns, so
 * `formatError` can print the one line `gradpipe: <where>: <what is wrong>; <what to do>`.
 */
export type ErrorTag =
  | 'ShapeError' // network construction, tensor shapes
  | 'OptionError' // a hyperparameter or command-line option
  | 'DataError' // a data file (IDX, MNIST layout, images)
  | 'ModelError' // a model or checkpoint file
  | 'IOError'; // the file system

/** An error at a boundary: its kind, what it concerns, what is wrong and what to do about it. */
export interface GradpipeError {
  readonly _tag: ErrorTag;
  /** The file, option (with its leading dashes) or layer the error concerns. */
  readonly where: string;
  /** What is wrong, in plain words. */
  readonly message: string;
  /** What to do about it. */
  readonly hint: string;
}

/** An error of kind `_tag`; the constructors below fix the kind. */
export const gradpipeError = (_tag: ErrorTag, where: string, message: string, hint: string): GradpipeError => ({
  _tag,
  where,
  message,
  hint,
});

/** A network construction or tensor shape error; `where` names the layer or option. */
export const shapeError = (where: string, message: string, hint: string): GradpipeError =>
  gradpipeError('ShapeError', where, message, hint);
/** A bad hyperparameter or command-line option; `where` is the option, with its leading dashes. */
export const optionError = (where: string, message: string, hint: string): GradpipeError =>
  gradpipeError('OptionError', where, message, hint);
/** A damaged or unsuitable data file; `where` is the file. */
export const dataError = (where: string, message: string, hint: string): GradpipeError =>
  gradpipeError('DataError', where, message, hint);
/** A model or checkpoint file that cannot be used; `where` is the file. */
export const modelError = (where: string, message: string, hint: string): GradpipeError =>
  gradpipeError('ModelError', where, message, hint);

/** `gradpipe: <where>: <message>; <hint>` on one line. */
export const formatError = (e: GradpipeError): string =>
  `gradpipe: ${e.where}: ${e.message}${e.hint ? `; ${e.hint}` : ''}`.replace(/\s*\n\s*/g, ' ');

/** An `Error` carrying a `GradpipeError`, for the few places that must throw across an API (e.g. a stream). */
export class GradpipeException extends Error {
  constructor(readonly error: GradpipeError) {
    super(formatError(error));
    this.name = 'GradpipeException';
  }
}

/** True for values shaped like a `GradpipeError`. */
export const isGradpipeError = (u: unknown): u is GradpipeError =>
  typeof u === 'object' && u !== null && '_tag' in u && 'where' in u && 'message' in u && 'hint' in u;

/**
 * The value of a Right, or throws a GradpipeException carrying the Left: for scripts and examples that
 * prefer exceptions to handling each `Either`.
 */
export const orThrow = <A>(e: { readonly _tag: 'Left'; readonly left: GradpipeError } | { readonly _tag: 'Right'; readonly right: A }): A => {
  if (e._tag === 'Left') throw new GradpipeException(e.left);
  return e.right;
};
