/**
 * @file A module worker that inflates a history zip off the main thread (src/store/history_zip.ts, `inflateBundle`):
 * it receives the zip's bytes, answers with its files (their buffers transferred) or the reason it is not readable.
 */
import { inflateBundleSync } from './unzip_sync';

self.onmessage = (ev: MessageEvent<{ zip: Uint8Array; maxBytes: number }>) => {
  try {
    const files = inflateBundleSync(ev.data.zip, ev.data.maxBytes);
    const buffers = Object.values(files).map((b) => b.buffer as ArrayBuffer);
    self.postMessage({ ok: true, files }, { transfer: [...new Set(buffers)] });
  } catch (e) {
    self.postMessage({ ok: false, message: (e as Error).message });
  }
};
