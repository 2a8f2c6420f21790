// The files of a picked or dropped folder as paths inside it (src/ui/folder_files.ts), on stand-ins for the browser's
// File and FileSystemEntry objects: the directory reader answers in batches until an empty one, as Chromium's does.
import { describe, expect, it } from 'vitest';
import { MAX_FOLDER_FILES, filesFromDrop, filesFromInput } from '../../../src/ui/folder_files';

type Tree = { [name: string]: Tree | string };

/** A FileSystemEntry stand-in for `tree` (strings are file contents); readEntries gives two entries per call. */
function entry(name: string, node: Tree | string, full = `/${name}`): FileSystemEntry {
  if (typeof node === 'string')
    return {
      name,
      fullPath: full,
      isFile: true,
      isDirectory: false,
      file: (ok: (f: File) => void) => ok(new File([node], name)),
    } as unknown as FileSystemEntry;
  const kids = Object.entries(node).map(([n, v]) => entry(n, v, `${full}/${n}`));
  return {
    name,
    fullPath: full,
    isFile: false,
    isDirectory: true,
    createReader: () => {
      let at = 0;
      return {
        readEntries: (ok: (e: FileSystemEntry[]) => void) => {
          const batch = kids.slice(at, at + 2);
          at += batch.length;
          setTimeout(() => ok(batch), 0);
        },
      };
    },
  } as unknown as FileSystemEntry;
}

const drop = (...entries: (FileSystemEntry | null)[]) =>
  ({ items: entries.map((e) => ({ webkitGetAsEntry: () => e })) }) as unknown as DataTransfer;

describe('folder files', () => {
  it('a dropped folder: every file at any depth, paths inside the folder, read past the first batch', async () => {
    const tree: Tree = {
      'manifest.json': '{}',
      'config.json': 'c',
      'tokenizer.json': 't',
      reasoner: { 'a.onnx': 'aa', deeper: { 'b.bin': 'bbb' } },
    };
    const got = await filesFromDrop(drop(entry('README.md', 'x'), entry('my-pack', tree)));
    expect(got?.name).toBe('my-pack');
    const paths = got!.files.map((f) => f.path).sort();
    expect(paths).toEqual([
      'config.json',
      'manifest.json',
      'reasoner/a.onnx',
      'reasoner/deeper/b.bin',
      'tokenizer.json',
    ]);
    const b = got!.files.find((f) => f.path === 'reasoner/deeper/b.bin')!;
    expect(await b.file.text()).toBe('bbb');
  });

  it('no folder dropped (only files): null; a folder over the bound: refused', async () => {
    expect(await filesFromDrop(drop(entry('a.txt', 'x'), null))).toBeNull();
    const many: Tree = Object.fromEntries(Array.from({ length: MAX_FOLDER_FILES + 2 }, (_, i) => [`f${i}`, '']));
    await expect(filesFromDrop(drop(entry('big', many)))).rejects.toThrow('more than 10,000 files');
  });

  it('a folder input: the first segment of webkitRelativePath is the folder', () => {
    const f = (rel: string) => Object.assign(new File(['x'], rel.split('/').pop()!), { webkitRelativePath: rel });
    const got = filesFromInput([f('pack/manifest.json'), f('pack/sub/w.bin')]);
    expect(got).toEqual({
      name: 'pack',
      files: [
        { path: 'manifest.json', file: expect.any(File) },
        { path: 'sub/w.bin', file: expect.any(File) },
      ],
    });
    expect(filesFromInput([])).toBeNull();
  });
});
