#!/usr/bin/env bash
# Runs the cluster scripts on this machine and checks them: a batch analysed by N shards as
# parallel local processes, exactly as scripts/slurm-array.sh (one process per array task, with
# SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT set) and scripts/k8s-indexed-job.yaml (its
# containers' commands with JOB_COMPLETION_INDEX set) run them, merged as each says, must give
# the summary.csv and index.html of a single run, byte for byte, with every clip in one shard.
#
#   scripts/run_shards_local.sh CLIPS_FOLDER [N] [WORK_DIR]
#
# N defaults to the manifest's `completions`; WORK_DIR (default: a new temporary folder) gets
# single/, slurm/ and k8s/. FORMCHECK is the binary (default target/release/formcheck);
# FORMCHECK_ARGS the analyze options (default "-r --no-video", as both scripts). Needs bash and
# coreutils; python3 with PyYAML to parse the manifest (else it is read as text).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
manifest="$root/scripts/k8s-indexed-job.yaml"
clips="$(cd "${1:?usage: run_shards_local.sh CLIPS_FOLDER [N] [WORK_DIR]}" && pwd)"
work="${3:-$(mktemp -d)}"
formcheck="$(realpath "${FORMCHECK:-$root/target/release/formcheck}")"
args="${FORMCHECK_ARGS--r --no-video}"
export FORMCHECK_ARGS="$args"
fail() { echo "run_shards_local: FAIL: $*" >&2; exit 1; }

# The manifest: parsed as YAML (python3 with PyYAML), checked for what an Indexed Job needs,
# and its two container commands taken out to run here. Without PyYAML, the same fields are
# read from the text as laid out in the file.
if python3 -c 'import yaml' 2>/dev/null; then
  manifest_field() { # $1: a Python expression over `docs`, the YAML documents
    python3 - "$manifest" "$1" <<'EOF'
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
print(eval(sys.argv[2]))
EOF
  }
  job='docs[0]["spec"]["template"]["spec"]["containers"][0]'
  merge='docs[1]["spec"]["template"]["spec"]["containers"][0]'
  completions="$(manifest_field 'docs[0]["spec"]["completions"]')"
  mode="$(manifest_field 'docs[0]["spec"]["completionMode"]')"
  shards_env="$(manifest_field "[e['value'] for e in $job['env'] if e['name'] == 'FORMCHECK_SHARDS'][0]")"
  k8s_analyze="$(manifest_field "$job['args'][0]")"
  k8s_summarize="$(manifest_field "$merge['args'][0]")"
else
  echo "run_shards_local: no PyYAML: reading the manifest as text" >&2
  block() { # the nth `- |` literal block's lines, unindented
    awk -v n="$1" '/^ *- \|$/ { k++; ind = -1; next }
      k == n { if (ind < 0) { match($0, /^ */); ind = RLENGTH } if (length($0) && substr($0, 1, ind) !~ /^ *$/) exit; print substr($0, ind + 1) }' "$manifest"
  }
  completions="$(sed -n 's/^  completions: *\([0-9]*\).*/\1/p' "$manifest" | head -1)"
  mode="$(sed -n 's/^  completionMode: *\([A-Za-z]*\).*/\1/p' "$manifest" | head -1)"
  shards_env="$(grep -A1 'name: FORMCHECK_SHARDS' "$manifest" | sed -n 's/.*value: *"\{0,1\}\([0-9]*\)"\{0,1\}.*/\1/p' | head -1)"
  k8s_analyze="$(block 1)"
  k8s_summarize="$(block 2)"
fi
[ "$mode" = Indexed ] || fail "completionMode is '$mode', not Indexed"
[ "$completions" = "$shards_env" ] || fail "completions ($completions) and FORMCHECK_SHARDS ($shards_env) differ"
grep -q -- '--shard "$JOB_COMPLETION_INDEX/$FORMCHECK_SHARDS"' <<<"$k8s_analyze" || fail "the Job's command does not shard by JOB_COMPLETION_INDEX: $k8s_analyze"
grep -q -- 'formcheck summarize "$FORMCHECK_OUT"' <<<"$k8s_summarize" || fail "the summarize Job does not summarize FORMCHECK_OUT"
n="${2:-$completions}"

# `formcheck` on PATH, as in the container.
mkdir -p "$work/bin"
ln -sf "$formcheck" "$work/bin/formcheck"
export PATH="$work/bin:$PATH"

start=$(date +%s)
echo "run_shards_local: $clips, $n shards, in $work"
rc=0
# shellcheck disable=SC2086 # FORMCHECK_ARGS is a list of options
formcheck analyze "$clips" $args -q -o "$work/single" || rc=$?
[ "$rc" -le 1 ] || fail "single run: exit $rc"

run_all() { # $1: name, then the command for one shard with I in $i
  local name="$1" pids=() i
  shift
  for ((i = 0; i < n; i++)); do
    (SHARD_I=$i "$@" >"$work/$name-$i.log" 2>&1) &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || fail "$name shard $i failed: $(tail -3 "$work/$name-$i.log")"
  done
}

# Slurm: one `bash slurm-array.sh` per array task, then the chained summarize.
slurm_task() {
  SLURM_ARRAY_TASK_ID=$SHARD_I SLURM_ARRAY_TASK_COUNT=$n FORMCHECK="$formcheck" FORMCHECK_CLIPS="$clips" \
    FORMCHECK_OUT="$work/slurm" bash "$root/scripts/slurm-array.sh"
}
run_all slurm slurm_task
formcheck summarize "$work/slurm" -q || [ $? -le 1 ] || fail "slurm summarize"

# Kubernetes: the Indexed Job's command per index, then the summarize Job's command.
k8s_pod() {
  JOB_COMPLETION_INDEX=$SHARD_I FORMCHECK_SHARDS=$n FORMCHECK_CLIPS="$clips" FORMCHECK_OUT="$work/k8s" \
    /bin/sh -c "$k8s_analyze"
}
run_all k8s k8s_pod
FORMCHECK_OUT="$work/k8s" /bin/sh -c "$k8s_summarize" || fail "k8s summarize"

# Every clip in exactly one shard: the folders each shard's log names, against the single run.
for name in slurm k8s; do
  for ((i = 0; i < n; i++)); do
    grep -o "shard $i/$n: [0-9]* of [0-9]* clips" "$work/$name-$i.log" || fail "$name shard $i: no shard line"
  done
  diff <(cd "$work/single" && find . -mindepth 1 -maxdepth 1 -type d | sort) \
    <(cd "$work/$name" && find . -mindepth 1 -maxdepth 1 -type d | sort) >/dev/null ||
    fail "$name: clip folders differ from the single run's"
  for file in summary.csv index.html; do
    cmp "$work/single/$file" "$work/$name/$file" || fail "$name: $file differs from the single run's"
  done
done
total=$(grep -o "shard 0/$n: [0-9]* of [0-9]* clips" "$work/slurm-0.log" | grep -o 'of [0-9]*' | grep -o '[0-9]*')
sum=0
for ((i = 0; i < n; i++)); do
  sum=$((sum + $(grep -o "shard $i/$n: [0-9]* of" "$work/slurm-$i.log" | grep -o ': [0-9]*'  | grep -o '[0-9]*')))
done
[ "$sum" -eq "$total" ] || fail "the shards took $sum clips of $total"
rows=$(($(wc -l <"$work/single/summary.csv") - 1))
echo "run_shards_local: OK: $total clips in $n shards (Slurm and Kubernetes commands), summary.csv ($rows rows) and index.html identical to the single run's ($(($(date +%s) - start)) s)"
