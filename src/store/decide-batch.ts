import { CairnError } from '../errors.js';
import { encodeDraft } from '../log/codec.js';
import { apply } from '../model/apply.js';
import { RECORD_TYPES } from '../model/catalogue.js';
import { DraftState, type State, type StateView } from '../model/state.js';
import { isoTime } from '../model/time.js';
import type { Draft, LogRecord } from '../model/types.js';
import type { LogPosition } from './logfile.js';

/** A decision: given the state (with earlier decisions of the same batch applied), the records to append. */
export type Decide = (s: StateView, now: number) => Draft[];

/** One decision of a batch: its records and their lines (ready to append), or why it was refused. */
export interface Outcome<P> {
  p: P;
  records: LogRecord[] | null;
  text: string;
  error: unknown;
}

/**
 * Decides a group commit under the state lock, writing nothing: each decision runs on a draft that
 * already holds the earlier decisions' records, its records get their envelope (seq, id, ts, crc
 * chained on `pos`) and are trial-applied, so a record that would not replay is refused before it
 * is on disk. `change`: the draft that, put into `st` (DraftState.commitTo) once the records are
 * durable, makes it what the accepted records make it.
 */
export function decideBatch<P extends { decide: Decide }>(
  st: State, pos: LogPosition, batch: readonly P[], clock: () => number, newId: (ms: number) => string,
): { outcomes: Outcome<P>[]; change: DraftState } {
  const draft = new DraftState(st);
  // Until a decision is accepted the draft is empty: deciding on the state itself saves a layer
  // of copy-on-write lookups (a lone commit, the first of a batch).
  let view: StateView = st;
  let seq = pos.seq;
  let crc = pos.crc;
  const outcomes = batch.map((p): Outcome<P> => {
    try {
      // One clock reading per decision: the records' ts and any time decided (retry_at) agree.
      const now = clock();
      const drafts = p.decide(view, now);
      const ts = isoTime(now);
      const out: LogRecord[] = [];
      let text = '';
      const trial = new DraftState(view);
      let s = seq;
      let c = crc;
      for (let k = 0; k < drafts.length; k++) {
        s += 1;
        // A decision of several records is atomic: its first record says how many there are, and
        // a log that ends before the last of them ends in a torn tail (set aside as a whole).
        const n = k === 0 && drafts.length > 1 ? drafts.length : 0;
        const d = drafts[k]!;
        const def = RECORD_TYPES[d.type];
        if (!def) throw new CairnError('INTERNAL', `unknown record type ${String(d.type)}`);
        const enc = encodeDraft(d, { seq: s, id: newId(clock()), ts, batch: n, severity: def.severity, operator: null }, c);
        c = enc.crc;
        apply(trial, enc.record);
        out.push(enc.record);
        text += enc.line;
      }
      // Accepted: the trial's changes go into the batch draft, which the next decision sees and
      // the state takes after the write. Merged, not applied again: the trial was drafted on
      // `view`, which is the batch draft or, while that is still empty, the state it is drafted on.
      trial.commitTo(draft);
      view = draft;
      seq = s;
      crc = c;
      return { p, records: out, text, error: null };
    } catch (error) {
      return { p, records: null, text: '', error };
    }
  });
  return { outcomes, change: draft };
}
