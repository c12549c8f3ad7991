#!/usr/bin/env node
import { createProgram } from './cli/index.js';

const program = createProgram();
await program.parseAsync(process.argv);
