import { validateImageFile } from '../validate';

/**
 * An image the user gives by file picker, drag and drop or paste. A file that is not an image (a PDF…) is refused
 * here, with a message, before any run; the previous image stays.
 */
export class ImageInputState {
  file = $state.raw<File | null>(null);
  url = $state<string | null>(null);
  error = $state<string | null>(null);

  /** Takes a file; false (and `error` set) when it is refused. */
  set(file: File | null | undefined): boolean {
    const c = validateImageFile(file);
    if (!c.ok) {
      this.error = c.error;
      return false;
    }
    if (this.url) URL.revokeObjectURL(this.url);
    this.file = file!;
    this.url = URL.createObjectURL(file!);
    this.error = null;
    return true;
  }

  /** The first file of a drop or paste (or a refusal when it holds none). */
  fromDataTransfer(dt: DataTransfer | null): boolean {
    const f = dt?.files?.[0] ?? [...(dt?.items ?? [])].find((i) => i.kind === 'file')?.getAsFile();
    if (!f) {
      this.error = 'Nothing to use there: drop or paste an image file.';
      return false;
    }
    return this.set(f);
  }

  clear(): void {
    if (this.url) URL.revokeObjectURL(this.url);
    this.file = null;
    this.url = null;
    this.error = null;
  }
}
