import { CairnError } from '../errors.js';
import { ID_PATTERN } from '../model/ids.js';
import type { StateView } from '../model/state.js';
import type { Draft } from '../model/types.js';
import { operatorDecision, type Operator, resolveWorkstream } from './common.js';

/**
 * Names for points of the log: `checkpoint` names a workstream's current point, `system-checkpoint
 * create` the whole state's. A name is a record and nothing else; the caller finds the names already
 * given (store/named-points.ts) and passes them in, so this stays pure.
 */

/** What the decision needs to know of a name already given. */
export interface TakenName {
  checkpoint_seq: number;
  seq: number;
  operator: string | null;
}

/**
 * Refuses a name --to-checkpoint or `restore` could not read unambiguously: it must be an id
 * (DESIGN §2), and neither all digits (a seq) nor `latest`.
 */
export function checkName(name: string): void {
  const hint = 'Use letters, digits, ".", "_" and "-", starting with a letter or digit, and not only digits (e.g. nightly-ok, before-deploy.2)';
  if (!ID_PATTERN.test(name)) throw new CairnError('BAD_INPUT', `--name ${JSON.stringify(name)} is not an id (${ID_PATTERN.source})`, { hint });
  if (name === 'latest' || /^\d+$/.test(name)) {
    throw new CairnError('BAD_INPUT', `--name ${JSON.stringify(name)} would read as ${name === 'latest' ? 'the latest checkpoint' : 'a seq'} where names are taken (--to-checkpoint, restore)`, { hint });
  }
}

function refuseTaken(what: string, name: string, taken: ReadonlyMap<string, TakenName>, list: string): never {
  const t = taken.get(name)!;
  const names = [...taken.keys()];
  throw new CairnError('DUPLICATE_NAME', `${what} already has a checkpoint named ${name} (seq ${t.checkpoint_seq}, named at seq ${t.seq}${t.operator ? ` by ${t.operator}` : ''}); names are never reused, so --to-checkpoint ${name} keeps meaning one point`, {
    details: { name, checkpoint_seq: t.checkpoint_seq, named_at: t.seq, taken: names },
    hint: `Pick another name, e.g. ${free(name, taken)} (taken: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}); see them all: ${list}`,
  });
}

/** `name-2`, `name-3`, …: the first that is free. */
function free(name: string, taken: ReadonlyMap<string, TakenName>): string {
  for (let i = 2; ; i++) if (!taken.has(`${name}-${i}`)) return `${name}-${i}`;
}

export interface NameCheckpointRequest extends Operator {
  workstream: string;
  name: string;
  /** The workstream's names so far. */
  taken: ReadonlyMap<string, TakenName>;
}

/** checkpoint: one `checkpoint_named` record giving the workstream's last task transition a name. */
export function decideNamed(state: StateView, req: NameCheckpointRequest, now: number): Draft[] {
  checkName(req.name);
  const ws = resolveWorkstream(state, req.workstream);
  if (req.taken.has(req.name)) refuseTaken(`workstream ${ws.id}`, req.name, req.taken, `cairn checkpoints --workstream-id ${ws.id}`);
  const d = operatorDecision(state, now, req, 'checkpoint');
  d.emit({ type: 'checkpoint_named', workstream_id: ws.id, name: req.name, checkpoint_seq: ws.last_task_seq });
  return d.out;
}

export interface SystemCheckpointRequest extends Operator {
  name: string;
  taken: ReadonlyMap<string, TakenName>;
}

/** system-checkpoint create: one `system_checkpoint_created` naming the whole state as of the last record, with the log's crc there. */
export function decideSystem(state: StateView, req: SystemCheckpointRequest, now: number): Draft[] {
  checkName(req.name);
  if (req.taken.has(req.name)) refuseTaken('the state', req.name, req.taken, 'cairn system-checkpoint list');
  const d = operatorDecision(state, now, req, 'system_checkpoint_create');
  d.emit({ type: 'system_checkpoint_created', name: req.name, checkpoint_seq: state.seq, checkpoint_crc: state.seq === 0 ? '00000000' : state.crc });
  return d.out;
}
