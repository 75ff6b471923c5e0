import type { CommandModule } from 'yargs';
import { parseMaxHolders, removeDependency, setResourceLimit, showResources, visualizeDag, type DagFormat } from '../../../index.js';
import { common, emit, type GlobalArgs } from '../../output.js';
import { type ActionArgs, perform, renderAction, withDryRun } from './common.js';

interface ResArgs extends ActionArgs { 'resource-id'?: string; 'max-holders'?: string }
export const showResourcesCommand: CommandModule<GlobalArgs, ResArgs> = {
  command: 'show-resources',
  describe: 'Show each resource\'s limit, the tasks holding it and the tasks waiting for it',
  builder: (y) => y.option('resource-id', { type: 'string', describe: 'only this resource' }) as never,
  handler: async (a) => {
    const r = await showResources({ ...common(a), resource: a['resource-id'] });
    emit(a, r, () => r.resources.map((x) => [
      `${x.id}: ${x.held}/${x.max_holders ?? '∞'} held${x.free !== null && x.free <= 0 && x.waiters.length ? ' (exhausted)' : ''}`,
      ...x.holders.map((h) => `  held by ${h.task} (${h.state}, ${h.units} unit(s)${h.since ? ` since ${h.since}` : ''})`),
      ...x.waiters.map((w) => `  waiting: ${w.task} (${w.units} unit(s)${w.waiting_ms !== null ? `, ${Math.round(w.waiting_ms / 1000)} s` : ''}${w.warned ? ', resource_exhausted logged' : ''})`),
    ].join('\n')).join('\n') || 'no resources declared');
  },
};

export const setResourceLimitCommand: CommandModule<GlobalArgs, ResArgs> = {
  command: 'set-resource-limit',
  describe: 'Change how many units of a resource may be held at once (a number, or unlimited)',
  builder: (y) => withDryRun(y)
    .option('resource-id', { type: 'string', demandOption: true, describe: 'the resource' })
    .option('max-holders', { type: 'string', demandOption: true, describe: 'a whole number >= 1, or unlimited' }) as never,
  handler: async (a) => {
    const max = parseMaxHolders(String(a['max-holders']));
    await perform(a, (dryRun) => setResourceLimit({ ...common(a), resource: a['resource-id']!, maxHolders: max, dryRun }), renderAction);
  },
};

interface DagArgs extends GlobalArgs { 'workstream-id': string; format?: string }
export const visualizeDagCommand: CommandModule<GlobalArgs, DagArgs> = {
  command: 'visualize-dag',
  describe: 'Draw a workstream\'s dependency graph with each task\'s state (text tree, Graphviz dot or Mermaid)',
  builder: (y) => y
    .option('workstream-id', { type: 'string', demandOption: true, describe: 'the workstream' })
    .option('format', { type: 'string', choices: ['text', 'dot', 'mermaid'], default: 'text' }) as never,
  handler: async (a) => {
    const r = await visualizeDag({ ...common(a), workstream: a['workstream-id'], format: a.format as DagFormat });
    emit(a, r, () => r.rendered);
  },
};

interface DepArgs extends ActionArgs { from: string; to: string; 'workstream-id'?: string }
export const removeDependencyCommand: CommandModule<GlobalArgs, DepArgs> = {
  command: 'remove-dependency',
  describe: 'Remove one dependency: --from A --to B makes A stop waiting for B (breaks a cycle or a wrong edge)',
  builder: (y) => withDryRun(y)
    .option('from', { type: 'string', demandOption: true, describe: 'the task that depends (<workstream>/<task> or a bare id)' })
    .option('to', { type: 'string', demandOption: true, describe: 'the dependency it stops waiting for' })
    .option('workstream-id', { type: 'string', describe: 'the workstream of bare task ids' }) as never,
  handler: async (a) => {
    await perform(a, (dryRun) => removeDependency({ ...common(a), from: a.from, to: a.to, workstreamId: a['workstream-id'], dryRun }), renderAction);
  },
};

export const RESOURCE_COMMANDS = [showResourcesCommand, setResourceLimitCommand, visualizeDagCommand, removeDependencyCommand];
