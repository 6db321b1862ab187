#!/usr/bin/env node
// Committed, not built: installing the workspace links the command before anything is built.
import { runCommand } from '../dist/index.js'

runCommand()
