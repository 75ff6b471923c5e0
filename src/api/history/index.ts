/** The history verbs (DESIGN §10), loaded on first use like the recovery tools. */
export { resolvePoint, type ResolvedPoint, type GitSource } from './points.js';
export { readHistory, type HistoryQuery, type TaskHistory, type WorkstreamHistory, type AttemptWithLog } from './story.js';
export { streamLog, type LogQuery, type LogResult, type LogBound } from './log.js';
export type { DecisionLine } from '../../history/decisions.js';
export type { StoryEvent, TaskSummary } from '../../history/story.js';
export { stateAt, withPointState, type StateAtOptions, type PointHeader, type PointState } from './state-at.js';
export { diff, type DiffOptions, type DiffResult } from './diff.js';
export { metrics, type MetricsQuery, type MetricsResult } from './metrics.js';
