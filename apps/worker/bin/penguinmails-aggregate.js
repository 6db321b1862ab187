#!/usr/bin/env node
// Committed, not built: installing the workspace links the command before anything is built.
import { runCommand } from '../dist/aggregate.js'

runCommand(process.argv.slice(2))
