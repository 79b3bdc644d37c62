#!/usr/bin/env node
// The `witness` command: query, prune and replay the witness log (npm run build first).
import '../dist/cli/main.js';
