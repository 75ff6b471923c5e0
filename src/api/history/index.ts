/** The history verbs (DESIGN §10), loaded on first use like the recovery tools. */
export { resolvePoint, type ResolvedPoint, type GitSource } from './points.js';
