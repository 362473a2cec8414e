#!/usr/bin/env node
import { runCli } from './run-cli.js';

try {
  runCli(process.argv.slice(2));
} catch (err) {
  console.error(`hpf-digits-det: ${(err as Error).message}`);
  process.exitCode = 1;
}
