import { CairnError } from '../errors.js';
import { parseConfig, type Config } from '../schemas/config.js';
import { readWhole, type FsLayer } from './fsio.js';
import type { StatePaths } from './paths.js';
import { parseDoc } from './snapshot.js';

export type StoreConfig = Config;

/** Reads config.json (every key optional) and lays the overrides on top; a bad file is exit 2. */
export function readConfig(io: FsLayer, paths: StatePaths, overrides: Partial<Config> = {}): Config {
  const buf = readWhole(io, paths.config);
  let file: Record<string, unknown> = {};
  if (buf && buf.length > 0) {
    try {
      file = parseDoc(buf.toString('utf8'), 'config.json');
    } catch (e) {
      throw new CairnError('SCHEMA_INVALID', (e as Error).message, { hint: 'Fix .state/config.json (see schemas/config.schema.json) or delete it to use the defaults.' });
    }
  }
  return parseConfig({ ...file, ...stripUndefined(overrides) });
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
