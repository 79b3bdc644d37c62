#!/usr/bin/env node
// The `witness-consumer` command: the compiled service (npm run build first).
import '../dist/service/main.js';
