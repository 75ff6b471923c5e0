// A child process for the concurrency tests: submits `count` one-task workstreams named
// `<prefix>-<n>` through the public API, one batch each, as fast as it can.
// Usage: node dist/test/helpers/submitter.js <state-dir> <prefix> <count>
import { submit } from '../../src/index.js';
import { spec } from './model.js';

const [stateDir, prefix, count] = [process.argv[2]!, process.argv[3]!, Number(process.argv[4])];
for (let i = 1; i <= count; i++) {
  const r = await submit({ stateDir, spec: spec({ id: `${prefix}-${i}`, tasks: [{ id: 't', command: 'true' }] }) });
  if (r.workstream_id !== `${prefix}-${i}`) throw new Error(`submitted ${r.workstream_id}`);
}
