#!/usr/bin/env bash
# Modes: mtan, astmt, all (wall clock, threads 2 and 1), cpu1 (threads 1 with --clock thread-cpu on both sides: the CPU time of
# the one working thread, which stays fair when other processes load the machine).
# Runs the train-step / forward comparison table of Tools/Astmt.Bench/README.md (ours vs PyTorch, alternating in each invocation)
# and writes one JSON per row under Tools/Astmt.Bench/results/train-step-<date>/. Usage (from the repository root):
#   dotnet build Tools/Astmt.Bench -c Release && Tools/bench/run_train_step_table.sh [mtan|astmt|all]
set -euo pipefail
which_models="${1:-all}"
bench=Tools/Astmt.Bench/bin/Release/net10.0/Astmt.Bench
out="Tools/Astmt.Bench/results/train-step-$(date -u +%F)"
mkdir -p "$out"
run() { # name, args...
  local name="$1"; shift
  echo "== $name: $bench $* --json $out/$name.json"
  uptime
  "$bench" "$@" --json "$out/$name.json"
}
if [[ "$which_models" == mtan || "$which_models" == all ]]; then
  for t in 2 1; do
    run "mtan-segnet-train-b2-96x128-t$t" train-step --model mtan-segnet --batch 2 --height 96 --width 128 --steps 5 --warmup 1 --threads $t --reference pytorch
    run "mtan-segnet-forward-b2-96x128-t$t" forward --model mtan-segnet --batch 2 --height 96 --width 128 --steps 7 --warmup 2 --threads $t --reference pytorch
  done
fi
if [[ "$which_models" == astmt || "$which_models" == all ]]; then
  for t in 2 1; do
    run "astmt-r26-train-b2-64x64-t$t" train-step --model astmt-r26 --batch 2 --height 64 --width 64 --steps 3 --warmup 1 --threads $t --reference pytorch
    run "astmt-r26-forward-b2-64x64-t$t" forward --model astmt-r26 --batch 2 --height 64 --width 64 --steps 5 --warmup 1 --threads $t --reference pytorch
  done
fi
if [[ "$which_models" == cpu1 ]]; then
  run "mtan-segnet-train-b2-96x128-t1-threadcpu" train-step --model mtan-segnet --batch 2 --height 96 --width 128 --steps 5 --warmup 1 --threads 1 --clock thread-cpu --reference pytorch
  run "mtan-segnet-forward-b2-96x128-t1-threadcpu" forward --model mtan-segnet --batch 2 --height 96 --width 128 --steps 7 --warmup 2 --threads 1 --clock thread-cpu --reference pytorch
  run "astmt-r26-train-b2-64x64-t1-threadcpu" train-step --model astmt-r26 --batch 2 --height 64 --width 64 --steps 3 --warmup 1 --threads 1 --clock thread-cpu --reference pytorch
  run "astmt-r26-forward-b2-64x64-t1-threadcpu" forward --model astmt-r26 --batch 2 --height 64 --width 64 --steps 5 --warmup 1 --threads 1 --clock thread-cpu --reference pytorch
fi
