import * as path from 'node:path';
import { isValidId } from '../model/ids.js';
import { CairnError } from '../errors.js';

/**
 * Every path cairn uses inside the state folder, in one place. Ids are checked again here, right
 * before they become part of a file name, so no caller can build a path that leaves `.state`.
 */
export class StatePaths {
  constructor(readonly root: string) {}

  get log() { return path.join(this.root, 'transitions.jsonl'); }
  tornLog(stamp: string) { return path.join(this.root, `transitions.jsonl.torn-${stamp}`); }
  /** Where repair-state keeps the part of a log after a corrupt or illegal record. */
  corruptLog(stamp: string) { return path.join(this.root, `transitions.jsonl.corrupt-${stamp}`); }
  /** Where repair-state keeps the other branch's records of a log git merged line by line. */
  theirsLog(stamp: string) { return path.join(this.root, `transitions.jsonl.theirs-${stamp}`); }
  get current() { return path.join(this.root, 'current.json'); }
  get config() { return path.join(this.root, 'config.json'); }
  get metrics() { return path.join(this.root, 'metrics.json'); }
  get interventions() { return path.join(this.root, 'interventions.log'); }
  get workers() { return path.join(this.root, 'workers.json'); }
  /** How far the log's crc chain was already checked (verified-memo.ts); git-ignored. */
  get verifiedMemo() { return path.join(this.root, 'log-verified.json'); }
  get gitignore() { return path.join(this.root, '.gitignore'); }
  get gitattributes() { return path.join(this.root, '.gitattributes'); }
  get readme() { return path.join(this.root, 'README.md'); }
  /** Lock target; the lock lives in the folder `<this>.lock` (see lock.ts). */
  get stateLockTarget() { return path.join(this.root, 'state'); }
  get schedulerLockTarget() { return path.join(this.root, 'scheduler'); }
  get backups() { return path.join(this.root, 'backups'); }
  backup(stamp: string, seq: number) { return path.join(this.backups, `current_${stamp}_${seq}.json`); }
  get checkpoints() { return path.join(this.root, 'checkpoints'); }
  checkpointLatest(ws: string) { return path.join(this.checkpoints, `${id('workstream', ws)}_latest.json`); }
  checkpointDir(ws: string) { return path.join(this.checkpoints, id('workstream', ws)); }
  checkpoint(ws: string, seq: number) { return path.join(this.checkpointDir(ws), `${seq}.json`); }
  get archive() { return path.join(this.root, 'archive'); }
  archived(ws: string) { return path.join(this.archive, `${id('workstream', ws)}.json`); }
  get logs() { return path.join(this.root, 'logs'); }
  taskLogDir(ws: string) { return path.join(this.logs, id('workstream', ws)); }
  taskLog(ws: string, task: string, attempt: number) {
    return path.join(this.taskLogDir(ws), `${id('task', task)}.${attempt}.log`);
  }
  /** `_workers` cannot collide with a workstream's log folder: ids never start with `_`. */
  workerLog(worker: string) { return path.join(this.logs, '_workers', `${id('worker', worker)}.log`); }
  /** Full copies repair-state takes before it changes anything (git-ignored, like backups). */
  get repairCopies() { return path.join(this.root, 'repair-copies'); }
  /** Whole-state snapshots (store/snapshots.ts): a git-ignored cache of the state at every N records. */
  get snapshots() { return path.join(this.root, 'snapshots'); }
  snapshot(seq: number, crc: string) { return path.join(this.snapshots, `${seq}-${crc}.json`); }
  /** Closed, compressed parts of the log (store/segments.ts, store/rotate.ts): `log/<first>-<last>.jsonl.gz`. */
  get segments() { return path.join(this.root, 'log'); }
  /** The token of `cairn serve` (0600, git-ignored): whoever can read it controls this state folder over HTTP. */
  get serveToken() { return path.join(this.root, 'serve-token'); }
}

/** Backup file names: `current_<YYYY-MM-DDTHH-MM-SS.mmmZ>_<seq>.json`. */
export const BACKUP_NAME = /^current_(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}\.\d{3}Z)_(\d+)\.json$/;

/** Whole-state snapshot names: `<seq>-<crc>.json` (the seq and crc of the log record they end at). */
export const SNAPSHOT_NAME = /^(\d{1,15})-([0-9a-f]{8})\.json$/;

export function stampOf(ms: number): string {
  return new Date(ms).toISOString().replace(/:/g, '-');
}

function id(kind: string, value: string): string {
  if (!isValidId(value)) {
    throw new CairnError('BAD_ID', `invalid ${kind} id ${JSON.stringify(value)}`, {
      hint: 'Ids match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$',
    });
  }
  return value;
}
