import { readFileSync } from 'node:fs';
import { ulid } from 'ulid';
import { CairnError } from '../errors.js';
import { decide } from '../model/decide.js';
import { parseSpecText } from '../model/spec.js';
import type { LogRecord, WorkstreamSpec } from '../model/types.js';
import { initState } from '../store/init.js';
import { type CommonOptions, operatorOf, stateDirOf, withStore } from './common.js';

/** Reads and checks a spec file; nothing is written when it is invalid. */
export function loadSpec(file: string): WorkstreamSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CairnError('BAD_INPUT', `cannot read the spec ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      hint: 'Check the path of the spec file.',
    });
  }
  return parseSpecText(text, file, { defaultId: () => `ws-${ulid()}` });
}

/** Checks a spec given as JSON text (an HTTP body); `source` names it in messages. Nothing is written. */
export function parseSpec(text: string, source: string): WorkstreamSpec {
  return parseSpecText(text, source, { defaultId: () => `ws-${ulid()}` });
}

export interface SubmitResult {
  /** With dryRun: the records it would append (seq as they would get), nothing written. */
  dry_run?: boolean;
  workstream_id: string;
  tasks: number;
  queued: string[];
  records: LogRecord[];
}

/** Accepts a workstream: validates the spec, then records it with its first tasks queued. */
export async function submit(o: CommonOptions & { spec: string | WorkstreamSpec; init?: boolean; dryRun?: boolean }): Promise<SubmitResult> {
  const spec = typeof o.spec === 'string' ? loadSpec(o.spec) : o.spec;
  if (o.dryRun) return previewSubmit(o, spec);
  if (o.init) initState(stateDirOf(o), o.fs);
  return withStore(o, {}, async (store) => {
    const records = await store.commit((s) => decide(s, { kind: 'submit', spec, operator: operatorOf(o) }, { now: (o.clock ?? Date.now)() }));
    return {
      workstream_id: spec.id,
      tasks: spec.tasks.length,
      queued: records.filter((r) => r.type === 'task_queued').map((r) => String(r.task_id)),
      records,
    };
  });
}

/** The records a submit would append, decided on the current state exactly as the real one is; nothing written. */
async function previewSubmit(o: CommonOptions, spec: WorkstreamSpec): Promise<SubmitResult> {
  // Loaded here only: the action flow brings the scheduler's liveness checks, which submit never needs.
  const { preview } = await import('./recovery/action.js');
  return withStore(o, { readOnly: true }, async (store) => {
    const now = (o.clock ?? Date.now)();
    const { records } = preview(store.state, decide(store.state, { kind: 'submit', spec, operator: operatorOf(o) }, { now }), now);
    return {
      dry_run: true,
      workstream_id: spec.id,
      tasks: spec.tasks.length,
      queued: records.filter((r) => r.type === 'task_queued').map((r) => String(r.task_id)),
      records: records as unknown as LogRecord[],
    };
  });
}
