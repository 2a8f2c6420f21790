#!/usr/bin/env node
// @ts-check
// @file The `rg` command (package.json "bin"; `npm run rg -- <command>`): see src/cli/rg.mjs and README "Command line".
import { main } from '../src/cli/rg.mjs';

process.exitCode = await main(process.argv.slice(2));
