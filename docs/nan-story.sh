#!/usr/bin/env bash
# Regenerates every number and figure of docs/nan-story.md.
#
# Runs `gradpipe doctor` and `gradpipe train` (seed 1, --backend auto) on each configuration of the story,
# copies each run's curves.svg to docs/img/nan-story-<run>.svg, writes docs/nan-story.numbers.json, and
# rewrites the generated parts of docs/nan-story.md in place: the blocks between
# `<!-- gen:NAME -->` and `<!-- /gen:NAME -->`, and the inline values `<!--n:KEY-->...<!--/n-->`.
# A marker whose value the runs did not produce is an error, so the page and the runs cannot drift apart.
#
# Usage: bash docs/nan-story.sh        (from any folder)
#        NAN_STORY_RUNS=DIR bash docs/nan-story.sh               keeps the run folders in DIR
#        NAN_STORY_RUNS=DIR bash docs/nan-story.sh --page-only   rewrites the page from the runs in DIR
# Needs the compiled CLI (npm run build; built here if missing) and MNIST where gradpipe looks for it
# (--data is not passed: set GRADPIPE_DATA, or use data/mnist or ../shared/datasets/mnist).
# Takes about 10 to 15 minutes on 2 cores; the run folders go to a temporary directory, removed at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# (re)compile when the CLI is missing or older than a source file; tsc still emits when an unrelated file
# fails to typecheck, and the CLI only needs to exist and be fresh
if [ ! -f dist/src/cli/main.js ] || [ -n "$(find src pipelines -name '*.ts' -newer dist/src/cli/main.js -print -quit)" ]; then
  npx tsc -p tsconfig.build.json >/dev/null || [ -z "$(find src pipelines -name '*.ts' -newer dist/src/cli/main.js -print -quit)" ]
fi
RUNS="${NAN_STORY_RUNS:-}"
if [ -z "$RUNS" ]; then
  RUNS="$(mktemp -d "${TMPDIR:-/tmp}/gradpipe-nan-story.XXXXXX")"
  trap 'rm -rf "$RUNS"' EXIT
fi
mkdir -p "$RUNS"
mkdir -p docs/img

# The configurations, one fix at a time. BUDGET is the same for the five compared runs: 60,000 examples
# seen (5 passes over the first 12,000 training images, so that curves.svg has five points per curve).
SGD="--batch-size 20 --lr 0.05 --optimizer sgd --lr-schedule constant"
BUDGET="--train-limit 12000 --epochs 5 --seed 1"
declare -A CONFIG=(
  [original]="--layers 784-1000-10 --activation sigmoid --output softmax --loss mse --init uniform:0,1 $SGD"
  [glorot]="--layers 784-1000-10 --activation sigmoid --output softmax --loss mse --init glorot $SGD"
  [xent]="--layers 784-1000-10 --activation sigmoid --output softmax --loss cross-entropy --init glorot $SGD"
  [relu]="--layers 784-1000-10 --activation relu --output softmax --loss cross-entropy --init he $SGD"
  [momentum]="--layers 784-1000-10 --activation relu --output softmax --loss cross-entropy --init he --batch-size 128 --lr 0.1 --optimizer momentum --momentum 0.9 --lr-schedule cosine"
  [relu-uniform]="--layers 784-1000-10 --activation relu --output softmax --loss cross-entropy --init uniform:0,1 $SGD"
)
COMPARED=(original glorot xent relu momentum)

gp() { node dist/src/cli/main.js "$@"; }

# doctor NAME: the health report of CONFIG[NAME] (exit 4 means problems found, not a failure here).
doctor() {
  local name=$1 code=0
  echo "gradpipe doctor ${CONFIG[$name]}" | tee "$RUNS/$name.doctor.cmd"
  gp doctor ${CONFIG[$name]} --json >"$RUNS/$name.doctor.json" || code=$?
  [ "$code" = 0 ] || [ "$code" = 4 ] || { echo "doctor $name failed with exit $code" >&2; exit 1; }
}

# train NAME ARGS...: a training run of CONFIG[NAME] with ARGS; its curves go to docs/img.
train() {
  local name=$1 code=0
  shift
  echo "gradpipe train $*" | tee "$RUNS/$name.train.cmd"
  gp train "$@" --out "$RUNS/$name" --quiet --json >"$RUNS/$name.summary.json" || code=$?
  [ "$code" = 0 ] || [ "$code" = 3 ] || { echo "train $name failed with exit $code" >&2; exit 1; }
  cp "$RUNS/$name/curves.svg" "docs/img/nan-story-$name.svg"
}

start=$SECONDS
if [ "${1:-}" != "--page-only" ]; then
  for name in "${COMPARED[@]}" relu-uniform; do doctor "$name"; done
  for name in "${COMPARED[@]}"; do train "$name" ${CONFIG[$name]} $BUDGET; done
  # the whole budget: gradpipe's defaults (the momentum configuration above) for their 6 epochs on all the data
  train final --seed 1
  echo "runs took $((SECONDS - start)) s"
  echo "$((SECONDS - start))" >"$RUNS/seconds"
fi

RUNS="$RUNS" SCRIPT_SECONDS="$(cat "$RUNS/seconds")" node --input-type=module - <<'EOF'
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseJson } from './dist/src/io/json.js';
import { formatReport } from './dist/src/cli/doctor.js';

const runs = process.env.RUNS;
const read = (f) => readFileSync(join(runs, f), 'utf8');
const has = (f) => { try { read(f); return true; } catch { return false; } };
const pct = (x) => `${(100 * x).toFixed(2)}%`;
const sci = (x) => x.toExponential(1);

const numbers = { generatedBy: 'bash docs/nan-story.sh', node: process.version, scriptSeconds: Number(process.env.SCRIPT_SECONDS), runs: {} };
const gen = {}; // block name -> markdown
const n = {}; // inline key -> text

for (const name of ['original', 'glorot', 'xent', 'relu', 'momentum', 'relu-uniform', 'final']) {
  const run = {};
  if (has(`${name}.doctor.json`)) {
    const rep = parseJson(read(`${name}.doctor.json`));
    rep.data = relative(process.cwd(), rep.data); // no machine-specific paths in the page
    const cmd = read(`${name}.doctor.cmd`).trim();
    run.doctor = { command: cmd, exitCode: rep.exitCode, problems: rep.problems, warnings: rep.warnings, findings: rep.findings.map((f) => ({ severity: f.severity, code: f.code, layer: f.layer ?? null, when: f.when, message: f.message })) };
    gen[`doctor-cmd-${name}`] = '```bash\n' + cmd.replace(/ --(?=activation|init|batch-size)/g, ' \\\n    --') + '\n```';
    const text = formatReport(rep);
    gen[`doctor-${name}`] = '```text\n' + text.trimEnd() + '\n```';
    gen[`doctor-findings-${name}`] = '```text\n' + text.slice(text.indexOf('findings:')).trimEnd() + '\n```';
    n[`${name}.doctor.problems`] = String(rep.problems);
    n[`${name}.doctor.warnings`] = String(rep.warnings);
    const l0 = rep.initial.layers[0];
    const out = rep.initial.layers[rep.initial.layers.length - 1];
    n[`${name}.hidden.saturated`] = `${(100 * l0.saturatedFraction).toFixed(1)}%`;
    n[`${name}.hidden.gradient`] = sci(l0.weightGradients.meanAbs);
    n[`${name}.output.gradient`] = sci(out.weightGradients.meanAbs);
    n[`${name}.logits.mean`] = out.preActivations.meanAbs.toPrecision(3);
    n[`${name}.outputs.tiny`] = String(out.outputs.tiny);
    n[`${name}.gradcheck.worst`] = sci(rep.gradientCheck.worst);
    n[`${name}.probe.before`] = rep.initial.loss.toPrecision(4);
    n[`${name}.probe.after`] = rep.final.loss.toPrecision(4);
    n[`${name}.probe.steps`] = String(rep.training.steps);
    const pairing = rep.findings.find((f) => f.code === 'output-loss-pairing' && f.evidence);
    if (pairing) {
      n[`${name}.pairing.gradient`] = pairing.evidence.gradient.toExponential(2);
      n[`${name}.pairing.ce`] = pairing.evidence.crossEntropyGradient.toExponential(2);
    }
  }
  if (has(`${name}.summary.json`)) {
    const s = parseJson(read(`${name}.summary.json`));
    const cmd = read(`${name}.train.cmd`).trim();
    run.train = { command: cmd, testAccuracy: s.testAccuracy, testLoss: s.testLoss, loss: s.config.loss, epochs: s.epochs, steps: s.steps, examplesSeen: s.examplesSeen, diverged: s.diverged, stoppedBecause: s.stoppedBecause, trainSeconds: s.trainSeconds, samplesPerSecond: s.samplesPerSecond, backend: s.backend, threads: s.threads };
    gen[`train-cmd-${name}`] = '```bash\n' + cmd.replace(/ --(?=activation|init|batch-size|train-limit)/g, ' \\\n    --') + '\n```';
    n[`${name}.accuracy`] = pct(s.testAccuracy);
    n[`${name}.loss`] = s.testLoss.toFixed(4);
    n[`${name}.steps`] = s.steps.toLocaleString('en-US');
    n[`${name}.epochs`] = String(s.epochs);
    n[`${name}.seconds`] = s.trainSeconds.toFixed(0);
    n[`${name}.samplesPerSecond`] = Math.round(s.samplesPerSecond).toLocaleString('en-US');
    n[`${name}.backend`] = `${s.backend} x${s.threads}`;
  }
  numbers.runs[name] = run;
}

const TITLES = {
  original: 'the original: sigmoid, softmax + MSE, U(0,1), SGD 0.05, batch 20',
  glorot: '+ fan-in-scaled initialisation (`--init glorot`)',
  xent: '+ cross-entropy on logits (`--loss cross-entropy`)',
  relu: '+ ReLU hidden units (`--activation relu --init he`)',
  momentum: '+ momentum 0.9, cosine schedule, batch 128 (the defaults)',
  final: 'the defaults, all 60,000 images, 6 epochs',
};
const plural = (k, word) => `${k} ${word}${k === 1 ? '' : 's'}`;
const rows = Object.entries(TITLES).map(([name, title], i) => {
  const r = numbers.runs[name];
  const d = r.doctor ?? numbers.runs.momentum.doctor;
  const t = r.train;
  return `| ${i} | ${title} | ${plural(d.problems, 'problem')}, ${plural(d.warnings, 'warning')} (exit ${d.exitCode}) | ${t.steps.toLocaleString('en-US')} | ${pct(t.testAccuracy)} | ${t.testLoss.toFixed(4)} (${t.loss}) | [curves](img/nan-story-${name}.svg) |`;
});
gen.table = ['| # | configuration | `gradpipe doctor` | steps | test accuracy | test loss | figure |', '|---|---|---|---|---|---|---|', ...rows].join('\n');

writeFileSync('docs/nan-story.numbers.json', `${JSON.stringify(numbers, null, 2)}\n`);

const page = 'docs/nan-story.md';
let md = readFileSync(page, 'utf8');
const missing = [];
md = md.replace(/(<!-- gen:([\w.-]+) -->\n)[\s\S]*?(\n<!-- \/gen:\2 -->)/g, (all, open, key, close) => {
  if (!(key in gen)) return missing.push(`gen:${key}`), all;
  return `${open}${gen[key]}${close}`;
});
md = md.replace(/<!--n:([\w.-]+)-->[\s\S]*?<!--\/n-->/g, (all, key) => {
  if (!(key in n)) return missing.push(`n:${key}`), all;
  return `<!--n:${key}-->${n[key]}<!--/n-->`;
});
writeFileSync(page, md);
if (numbers.runs.final.train.testAccuracy < 0.98) {
  console.error(`docs/nan-story.sh: the final run reached ${pct(numbers.runs.final.train.testAccuracy)}, below the 98% the page promises`);
  process.exit(1);
}
if (missing.length > 0) {
  console.error(`docs/nan-story.sh: ${page} refers to values the runs did not produce: ${missing.join(', ')}`);
  process.exit(1);
}
console.log(`wrote docs/nan-story.numbers.json, docs/img/nan-story-*.svg and updated ${page}`);
EOF
