import { writeFileSync } from 'node:fs';

/*
 * Loaded with `node --import` into a process the bench measures (the scheduler of `cairn run`): at
 * exit it writes the process's own peak resident set size, in bytes, to $CAIRN_BENCH_RSS_FILE. Its
 * worker processes do not load it (they are forked without the scheduler's node flags).
 */
const out = process.env.CAIRN_BENCH_RSS_FILE;
if (out) process.on('exit', () => writeFileSync(out, String(process.resourceUsage().maxRSS * 1024)));
