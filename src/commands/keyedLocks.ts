/** Runs work for one key at a time (across processes, for implementations that can). */
export interface KeyedLocks {
  withLock<T>(key: string, run: () => Promise<T>): Promise<T>;
}
