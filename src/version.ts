import { createRequire } from 'node:module';

/** cairn's version, as package.json states it (read once, at load: the one place the number lives). */
export const VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
