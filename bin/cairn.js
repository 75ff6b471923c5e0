#!/usr/bin/env node
// The cairn command line. The code lives in dist/ (built by `npm ci`, which runs `prepare`).
import { main } from '../dist/src/cli/main.js';

main(process.argv.slice(2));
