/**
 * @file Plain-data types of the weights store, shared by the worker (which owns the store) and the UI (which shows
 * it). Nothing here imports runtime code, so the worker contract can import these types only.
 */
import type { Manifest } from '../packs/manifest';

/** Where one file of a pack stands in IndexedDB. `corrupt` is transient: it failed its hash and is being re-fetched. */
export type FileState = 'cached' | 'partial' | 'absent' | 'corrupt';

/** cached: every file verified; partial: some bytes stored; absent: nothing stored; unknown: no manifest reachable. */
export type PackState = 'cached' | 'partial' | 'absent' | 'unknown';

export interface FileStatus {
  path: string;
  bytes: number;
  /** Bytes stored in IndexedDB (equals `bytes` when cached). */
  stored: number;
  state: FileState;
}

/** One pack as the model manager shows it: the registry entry, what its manifest asks for, and what is cached. */
export interface PackStatus {
  id: string;
  label: string;
  shipped: boolean;
  testOnly: boolean;
  /** A pack the user added from a URL: the folder URL (absent for shipped packs). */
  addedFrom?: string;
  state: PackState;
  /** From the manifest; null when the manifest is neither cached nor reachable. */
  totalBytes: number | null;
  storedBytes: number;
  gpuFeatures: string[] | null;
  memoryBytes: number | null;
  licence: string | null;
  /** sha256 of the manifest.json bytes the cache holds (or would hold). */
  manifestSha256: string | null;
  /** Why the manifest could not be read (offline, HTTP error, invalid). */
  manifestError?: string;
  files: FileStatus[];
  /** A download of this pack is running in this context. */
  downloading: boolean;
  /**
   * Set when the app pins a newer manifest than the cached one and the store switched to it: the stored files the
   * new version changed were dropped (a download fetches only those).
   */
  updated?: { from: string; to: string; dropped: string[] };
}

/** Progress of a download, per file and for the whole pack. Rates in bytes per second; ETA in seconds. */
export interface DownloadProgress {
  packId: string;
  file: { path: string; loaded: number; total: number };
  /** Files finished (cached) out of files in the pack. */
  filesDone: number;
  filesTotal: number;
  loaded: number;
  total: number;
  /** Bytes per second over the last few seconds of this session (0 before there is a measurement). */
  rate: number;
  /** Seconds left at the current rate; null when unknown. */
  eta: number | null;
  /** Bytes fetched over the network in this session (not counting what was already stored). */
  fetched: number;
  /** Set when the file restarted from a stored byte: the offset the Range request asked for. */
  resumedFrom?: number;
}

export interface VerifyReport {
  packId: string;
  /** Files whose stored bytes were hashed. */
  checked: number;
  /** Files that failed their sha256 (they were dropped and fetched again, alone). */
  failed: string[];
  /** Files fetched again after failing (a subset of `failed`; the rest could not be fetched, e.g. offline). */
  refetched: string[];
  ms: number;
}

/** Result of loading every file of a pack through CachedPackSource: the pack is ready for a pipeline. */
export interface PackReady {
  packId: string;
  manifestSha256: string;
  files: number;
  bytes: number;
  /** Files that had to come from the network (0 when everything was in the cache). */
  fetchedFiles: number;
  ms: number;
}

/** A pack's manifest as the store has it (what history records as the pack's hash). */
export interface PackManifest {
  manifest: Manifest;
  /** sha256 of the manifest.json bytes. */
  sha256: string;
  /** true: from the weights store (IndexedDB); false: fetched, the pack is not cached. */
  cached: boolean;
}

/** Events a store operation streams to the UI. */
export type StoreEvent =
  | { type: 'download'; progress: DownloadProgress }
  | { type: 'verify'; packId: string; path: string; done: number; total: number }
  | { type: 'load'; packId: string; path: string; done: number; total: number }
  /**
   * A checkpoint being converted into a pack in this tab (src/convert/hub_pack.ts): `done` of `total` bytes of the
   * staged checkpoint read by the converter, `path` the pack file being written. `packId` is the conversion's key.
   */
  | { type: 'convert'; packId: string; path: string; done: number; total: number }
  /**
   * The operation waits for another tab (or this tab's model manager) to finish with the pack: `message` says so;
   * an empty `message` says the wait is over.
   */
  | { type: 'waiting'; packId: string; message: string };

export type StoreEventSink = (e: StoreEvent) => void;
