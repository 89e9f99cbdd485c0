#!/usr/bin/env bash
#SBATCH --job-name=formcheck
#SBATCH --array=0-2
#SBATCH --cpus-per-task=4
#SBATCH --mem=4G
#SBATCH --time=04:00:00
#SBATCH --output=formcheck-%A_%a.log
#
# formcheck over a big batch as a Slurm job array: array task I of N analyses shard I/N of the
# clips into one shared output folder; a job chained after the array merges the results into one
# summary.csv and index.html (the same bytes a single machine would write).
#
#   export FORMCHECK_CLIPS=/shared/clips FORMCHECK_OUT=/shared/out
#   jid=$(sbatch --parsable --array=0-9 scripts/slurm-array.sh)        # 10 shards
#   sbatch --dependency=afterok:$jid --wrap "formcheck summarize $FORMCHECK_OUT"
#
# Parameters (environment; sbatch passes it on): FORMCHECK (the binary, default `formcheck` on
# PATH), FORMCHECK_CLIPS (default /data/clips), FORMCHECK_OUT (default /data/out), FORMCHECK_ARGS
# (extra analyze options, default "-r --no-video"). The shard count is the array's size: pass
# --array=0-(N-1) (or any contiguous range: the index counts from its first task). Every node
# must see the clips at the same path (output folder names of clips that share a name depend on
# it).
#
# A clip that fails does not fail its task (exit status 1 is "some clips failed"; each failure is
# kept in OUT/<clip>/error.json and listed by summarize), so `afterok` still runs the merge;
# exit status 2 (models, runtime, arguments) fails the task and holds the merge back. A task
# run again skips its clips that are already up to date.
#
# Locally (sbatch is not needed; #SBATCH lines are comments to bash):
#   SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_COUNT=3 bash scripts/slurm-array.sh
# scripts/run_shards_local.sh runs every task this way and checks the merged result.
set -euo pipefail

: "${SLURM_ARRAY_TASK_ID:?run as an array task (sbatch --array=0-N), or set SLURM_ARRAY_TASK_ID}"
: "${SLURM_ARRAY_TASK_COUNT:?run as an array task (sbatch --array=0-N), or set SLURM_ARRAY_TASK_COUNT}"
formcheck="${FORMCHECK:-formcheck}"
clips="${FORMCHECK_CLIPS:-/data/clips}"
out="${FORMCHECK_OUT:-/data/out}"
read -r -a extra <<<"${FORMCHECK_ARGS--r --no-video}"
index=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0}))

rc=0
"$formcheck" analyze "$clips" "${extra[@]}" --shard "$index/$SLURM_ARRAY_TASK_COUNT" -o "$out" || rc=$?
[ "$rc" -le 1 ] || exit "$rc"
