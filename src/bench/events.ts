/** @file The events the benchmark worker sends to the page (and the page to scripts/bench.mjs). */
import type { CaseResult } from './registry';

export type BenchEvent =
  | { type: 'start'; adapter: string; userAgent: string; benches: string[] }
  | { type: 'bench'; name: string; description: string }
  | { type: 'log'; bench: string; line: string }
  | { type: 'case'; bench: string; result: CaseResult }
  | { type: 'error'; bench: string; message: string }
  | { type: 'done'; ok: boolean };
