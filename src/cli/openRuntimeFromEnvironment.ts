import { loadConfig } from '../platform/config.js';
import { createLogger } from '../platform/logger.js';
import { openRuntime, type Runtime } from '../runtime.js';

/** The configuration from the environment, then everything it names opened and migrated. */
export const openRuntimeFromEnvironment = (options: { logToStderr?: boolean } = {}): Promise<Runtime> => {
  const config = loadConfig();
  return openRuntime(config, createLogger(config.logLevel, { toStderr: options.logToStderr }));
};
