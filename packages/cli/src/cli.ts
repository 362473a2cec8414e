#!/usr/bin/env node
import { CommanderError } from 'commander';
import { createProgram } from './cli-app.js';

try {
  await createProgram().parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // commander already printed the message (or the help).
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(`hpf: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
