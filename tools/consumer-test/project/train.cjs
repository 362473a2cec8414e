// CJS consumer: every package through require(). Usage: node train.cjs
// @hpf/cli is left out: it is ESM only (its charts use vega, an ES module with top-level await that
// require() cannot load), and import()ing it here would load @hpf/engine's ESM build next to the
// CJS one (two engine module instances). train.mjs covers it.
'use strict';
const { run } = require('./common.cjs');
const names = Object.keys(require('./package.json').dependencies).filter((n) => n.startsWith('@hpf/') && n !== '@hpf/cli');
run('cjs', async (name) => require(name), names);
