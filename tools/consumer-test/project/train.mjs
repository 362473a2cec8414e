// ESM consumer: every package through import(). Usage: node train.mjs
import { readFileSync } from 'node:fs';
import common from './common.cjs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const names = Object.keys(pkg.dependencies).filter((n) => n.startsWith('@hpf/'));
await common.run('esm', (name) => import(name), names);
