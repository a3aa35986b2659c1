#!/usr/bin/env node
// One bundled file: loading ~40 modules one by one costs more start-up time than the work itself.
import '../dist/bundle/cli/main.js';
