import type { Live } from './live.js';

/** What every route plugin is given: the live state and who acts for the token. */
export interface ServerContext {
  live: Live;
  /** The state folder (absolute). */
  stateDir: string;
  /** The token's owner: the operator `cairn serve` was started as (--operator, else $USER); recorded on every action. */
  operator: string;
  /** Counts of the SSE streams open now (for /metrics). */
  sseClients: () => number;
}

// The OpenAPI document (openapi.ts) reads a route's summary, and leaves out routes marked hide.
declare module 'fastify' {
  interface FastifySchema {
    summary?: string;
    hide?: boolean;
  }
}
