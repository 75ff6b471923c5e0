import { CairnError } from '../errors.js';
import { readConfig } from './config.js';
import type { FsLayer } from './fsio.js';
import type { StatePaths } from './paths.js';
import type { Problem } from './verify.js';

const FIX = 'edit .state/config.json (schemas/config.schema.json documents each key), or delete the key to use its default';

/**
 * config.json checked exactly as every command that reads it does (readConfig: schema, forbidden
 * keys, relations between keys), so validate-state never calls ok a file that `cairn run` refuses.
 * One CONFIG_INVALID problem per violation, with its JSON path.
 */
export function configProblems(io: FsLayer, paths: StatePaths): Problem[] {
  try {
    readConfig(io, paths);
    return [];
  } catch (e) {
    if (!(e instanceof CairnError) || e.code !== 'SCHEMA_INVALID') throw e;
    const errors = e.details.errors;
    if (!Array.isArray(errors) || errors.length === 0) return [{ code: 'CONFIG_INVALID', message: e.message, fix: FIX, file: 'config.json' }];
    return errors.map((p: { path: string; message: string }) => ({
      code: 'CONFIG_INVALID', message: `config.json: ${p.path}: ${p.message}`, fix: FIX, file: 'config.json', path: p.path,
    }));
  }
}
