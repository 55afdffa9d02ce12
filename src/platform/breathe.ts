/**
 * Lets the event loop run (I/O, timers, messages such as a signal or a Worker's "stop") before going on:
 * `setImmediate` in Node; browser/breathe.ts uses a MessageChannel (a browser has no setImmediate, and
 * setTimeout(0) is clamped to 4 ms once nested).
 */
export const breathe = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
