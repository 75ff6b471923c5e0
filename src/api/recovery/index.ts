/** The recovery verbs of the public API (one module per tool); re-exported by src/index.ts. */
export {};
