/** A writable stream that keeps what is written, for the `io` of the command line's `main()` in unit tests. */
import { Writable } from 'node:stream';

export function capture(): { w: Writable; text: () => string } {
  let text = '';
  const w = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  return { w, text: () => text };
}
