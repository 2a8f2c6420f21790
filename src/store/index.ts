/**
 * @file The weights store and run history, for the pipelines (in the worker) and the UI:
 * - `cachedPack(id)`: the PackSource every loader reads through (IndexedDB first, the network for what is missing);
 * - `saveRun` / `listRuns` / `getRun` / `deleteRun`: run history (call `saveRun` before showing a result);
 * - `PackStore`, `WeightStore`, `HistoryStore`: the classes, for tests and tools that need their own databases.
 */
export { cachedPack, packStore, storeApi } from './pack_service';
export { CachedPackSource } from './cached_source';
export { PackStore } from './pack_store';
export { WeightStore, DEFAULT_CHUNK_SIZE } from './weights';
export {
  HistoryStore,
  saveRun,
  listRuns,
  getRun,
  deleteRun,
  historyStore,
  type NewRun,
  type RunMeta,
  type RunRecord,
  type RunMode,
} from './history';
export { exportHistory, importHistory } from './history_zip';
export { PARTIAL_POLICY, formatBytes, requestPersistence, storageInfo, type StorageInfo } from './storage';
export type * from './types';
