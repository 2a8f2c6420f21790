/**
 * @file Inflating a history zip, synchronously: what the module worker `unzip.worker.ts` runs off the main thread
 * (and the fallback where there are no workers). Only fflate, so the worker stays small.
 */
import { unzipSync } from 'fflate';

/** "1 GiB", "12.0 MiB": a size in the words of the refusals. */
export const gib = (n: number): string =>
  n >= 1024 ** 3 ? `${+(n / 1024 ** 3).toFixed(2)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;

/**
 * The files of `zip`. Throws a plain Error when it is not a readable zip; the declared sizes are summed before
 * anything is inflated, so a zip that would unpack to more than `maxBytes` is refused without inflating it.
 */
export function inflateBundleSync(zip: Uint8Array, maxBytes: number): Record<string, Uint8Array> {
  let declared = 0;
  return unzipSync(zip, {
    filter: (f) => {
      declared += f.originalSize;
      if (declared > maxBytes) throw new Error(`it unpacks to more than ${gib(maxBytes)}`);
      return true;
    },
  });
}
