#!/usr/bin/env node
// The `modelops` command: the CLI face of the engine, built into dist/cli.js by `npm run build`.
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write('modelops: dist/cli.js is missing — run `npm run build` first.\n');
  process.exit(2);
}
require(cli);
