export const WEBGPU_ARGS: string[];
export const QUIET_ARGS: string[];
export function findChromium(env?: Record<string, string | undefined>): string;
