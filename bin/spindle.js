#!/usr/bin/env node
// The installed `spindle` command: runs the compiled CLI (dist/src/cli.js,
// built by `npm run build`). From a source checkout without a build, run
// `npx tsx src/cli.ts ...` instead; this stub says so rather than failing obscurely.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/src/cli.js', import.meta.url));
if (!existsSync(compiled)) {
  process.stderr.write("spindle: not built (no dist/src/cli.js); run 'npm run build', or from source 'npx tsx src/cli.ts serve ...'\n");
  process.exit(1);
}
const { main } = await import(pathToFileURL(compiled).href);
await main(process.argv.slice(2));
