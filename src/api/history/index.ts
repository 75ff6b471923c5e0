/** The history verbs (DESIGN §10), loaded on first use like the recovery tools. */
export { resolvePoint, type ResolvedPoint, type GitSource } from './points.js';
export { stateAt, withPointState, type StateAtOptions, type PointHeader, type PointState } from './state-at.js';
export { diff, type DiffOptions, type DiffResult } from './diff.js';
