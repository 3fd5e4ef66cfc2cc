#!/usr/bin/env node
// The installed `spindle` command: runs the compiled CLI (dist/src/cli.js,
// built by `npm run build`). From a source checkout without a build, run
// `node --import tsx src/cli.ts ...` instead; this stub says so rather than failing
// obscurely. To serve a .ts app with the installed package, run this file under tsx:
// `node --import tsx node_modules/.bin/spindle serve app.ts`.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/src/cli.js', import.meta.url));
if (!existsSync(compiled)) {
  process.stderr.write("spindle: not built (no dist/src/cli.js); run 'npm run build', or from source 'node --import tsx src/cli.ts serve ...'\n");
  process.exit(1);
}
const { main } = await import(pathToFileURL(compiled).href);
await main(process.argv.slice(2));
