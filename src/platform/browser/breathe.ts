/** Lets the event loop run (see ../breathe.ts): a message to itself, a macrotask without setTimeout's clamp. */
interface Port {
  onmessage: (() => void) | null;
  postMessage(m: unknown): void;
  close(): void;
}
const web = globalThis as unknown as { MessageChannel: new () => { port1: Port; port2: Port } };

export const breathe = (): Promise<void> =>
  new Promise((resolve) => {
    const channel = new web.MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
