import { gradpipeError, type GradpipeError } from '../errors.js';

/**
 * An `IOError` (the file system refused an operation). `src/errors.ts` has helpers for the other tags;
 * this one lives beside the io layer, its only user.
 */
export const ioError = (where: string, message: string, hint: string): GradpipeError =>
  gradpipeError('IOError', where, message, hint);

/** The errno code of a Node file-system error (`ENOENT`, `ENOSPC`, ...), or `undefined`. */
export const errnoCode = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;

/** Plain words for a Node file-system error, with what to do about the common ones. */
export const describeFsError = (e: unknown, action: string): { message: string; hint: string } => {
  const code = errnoCode(e);
  const detail = e instanceof Error ? e.message : String(e);
  switch (code) {
    case 'ENOENT':
      return { message: `cannot ${action}: no such file or folder`, hint: 'check the path' };
    case 'EACCES':
    case 'EPERM':
      return { message: `cannot ${action}: permission denied`, hint: 'check the permissions of the file and its folder' };
    case 'ENOSPC':
    case 'EDQUOT':
      return { message: `cannot ${action}: ${DISK_FULL}`, hint: 'free some space and run again' };
    case 'EROFS':
      return { message: `cannot ${action}: the file system is read-only`, hint: 'choose a writable location' };
    case 'ENOTDIR':
      return { message: `cannot ${action}: a part of the path is not a folder`, hint: 'check the path' };
    case 'EISDIR':
      return { message: `cannot ${action}: it is a folder`, hint: 'give a file path, not a folder' };
    default:
      return { message: `cannot ${action}: ${detail}`, hint: 'check the path, the permissions and the free space' };
  }
};

const DISK_FULL = 'the disk is full';

/**
 * `e` with, when it is a full disk, the way to keep the work once space is freed: `resume`, the command that
 * continues from the last checkpoint when there is one (not "run again", which would start over).
 */
export const onceSpaceIsFreed = (e: GradpipeError, resume: string | undefined): GradpipeError =>
  e._tag === 'IOError' && e.message.endsWith(DISK_FULL)
    ? { ...e, hint: resume === undefined ? 'free some space, then run again' : `free some space, then continue with ${resume}` }
    : e;

/** An `IOError` for the failure `e` of `action` on `file`. */
export const fsError = (file: string, action: string, e: unknown): GradpipeError => {
  const { message, hint } = describeFsError(e, action);
  return ioError(file, message, hint);
};
