/** @file What the studio says where a pack without a vision tower cannot take an image. */

/** The reason shown in place of an image input (and on Edit) for a pack whose reasoner reads no images. */
export function noVision(packName: string): string {
  return (
    `${packName} has no vision tower, so it reads no images (Qwen2.5-VL's vision tower is not converted yet, so ` +
    'packs converted from MindOmni or Qwen2 checkpoints have none).'
  );
}
