import { validateImageFile } from '../validate';
import { checkImageHeader, IMAGE_HEADER_BYTES } from '../../models/reasoner/image';
import { toErrorInfo } from '../../errors';

/**
 * An image the user gives by file picker, drag and drop or paste. A file that is not an image (a PDF…), one over
 * the byte limit (from File.size, before reading it) or one whose header declares more pixels than the limit (from
 * its first bytes, before anything decodes it) is refused here, with a message, before any run; the previous image
 * stays.
 */
export class ImageInputState {
  file = $state.raw<File | null>(null);
  url = $state<string | null>(null);
  error = $state<string | null>(null);
  /** Bumped by every `set`, so a slow header read never overrides a later choice. */
  private generation = 0;

  /** Takes a file; false (and `error` set) when it is refused. */
  async set(file: File | null | undefined): Promise<boolean> {
    const generation = ++this.generation;
    const c = validateImageFile(file);
    if (!c.ok) {
      this.error = c.error;
      return false;
    }
    try {
      checkImageHeader(new Uint8Array(await file!.slice(0, IMAGE_HEADER_BYTES).arrayBuffer()));
    } catch (e) {
      if (generation !== this.generation) return false;
      const info = toErrorInfo(e);
      this.error = `“${file!.name}”: ${info.message}. ${info.hint ?? ''}`.trim();
      return false;
    }
    if (generation !== this.generation) return false;
    if (this.url) URL.revokeObjectURL(this.url);
    this.file = file!;
    this.url = URL.createObjectURL(file!);
    this.error = null;
    return true;
  }

  /** The first file of a drop or paste (or a refusal when it holds none). */
  fromDataTransfer(dt: DataTransfer | null): Promise<boolean> {
    const f =
      dt?.files?.[0] ??
      Array.from(dt?.items ?? [])
        .find((i) => i.kind === 'file')
        ?.getAsFile();
    if (!f) {
      this.error = 'Nothing to use there: drop or paste an image file.';
      return Promise.resolve(false);
    }
    return this.set(f);
  }

  clear(): void {
    this.generation++;
    if (this.url) URL.revokeObjectURL(this.url);
    this.file = null;
    this.url = null;
    this.error = null;
  }
}
