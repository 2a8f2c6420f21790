/**
 * @file The files of a folder the user picked (`<input webkitdirectory>`) or dropped, as paths inside that folder,
 * for "Add a pack from a folder" (the worker's `packImport` checks them against the pack's manifest).
 */
import type { FolderFile } from '../store/pack_service';

/** A folder holding more entries than this is refused (a pack has tens of files). */
export const MAX_FOLDER_FILES = 10_000;

export interface PickedFolder {
  /** The folder's name (for messages). */
  name: string;
  files: FolderFile[];
}

function tooMany(): Error {
  return new Error(
    `That folder holds more than ${MAX_FOLDER_FILES.toLocaleString('en-US')} files; pick the pack folder.`,
  );
}

/** A directory input's files: `webkitRelativePath` is "folder/sub/file"; the first segment is the folder. */
export function filesFromInput(list: FileList | readonly File[]): PickedFolder | null {
  const all = Array.from(list);
  if (all.length === 0) return null;
  if (all.length > MAX_FOLDER_FILES) throw tooMany();
  const name = (all[0]!.webkitRelativePath || all[0]!.name).split('/')[0] ?? '';
  const files = all.map((file) => {
    const rel = file.webkitRelativePath || file.name;
    const cut = rel.indexOf('/');
    return { path: cut >= 0 ? rel.slice(cut + 1) : rel, file };
  });
  return { name, files };
}

/** Every entry of a directory reader (it answers in batches until an empty one). */
async function readAll(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const out: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
    if (batch.length === 0) return out;
    out.push(...batch);
    if (out.length > MAX_FOLDER_FILES) throw tooMany();
  }
}

/** A dropped folder's files (the first dropped item that is a folder); null when no folder was dropped. */
export async function filesFromDrop(data: DataTransfer): Promise<PickedFolder | null> {
  const root = Array.from(data.items)
    .map((i) => i.webkitGetAsEntry?.())
    .find((e): e is FileSystemDirectoryEntry => !!e && e.isDirectory);
  if (!root) return null;
  const files: FolderFile[] = [];
  const walk = async (dir: FileSystemDirectoryEntry, prefix: string): Promise<void> => {
    for (const e of await readAll(dir)) {
      if (files.length > MAX_FOLDER_FILES) throw tooMany();
      if (e.isDirectory) await walk(e as FileSystemDirectoryEntry, `${prefix}${e.name}/`);
      else {
        const file = await new Promise<File>((ok, fail) => (e as FileSystemFileEntry).file(ok, fail));
        files.push({ path: `${prefix}${e.name}`, file });
      }
    }
  };
  await walk(root, '');
  return { name: root.name, files };
}
