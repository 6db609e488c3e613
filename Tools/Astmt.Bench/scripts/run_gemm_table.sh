#!/bin/bash
# Runs the GEMM table: ours vs OpenBLAS, 1 and 2 threads, wall clock (and thread-CPU clock for 1 thread).
B=${B:-Tools/Astmt.Bench/bin/Release/net10.0/Astmt.Bench}
OUT=${OUT:-/tmp/gemm-table}
mkdir -p $OUT
for suite in square segnet-96x128 segnet-288x384; do
  forms=nn; [ $suite != square ] && forms=nn,tn,nt
  for t in 1 2; do
    uptime > $OUT/$suite-t$t.txt
    $B gemm --suite $suite --forms $forms --threads $t --reps 9 --reference openblas --json $OUT/$suite-t$t.json >> $OUT/$suite-t$t.txt 2>&1
  done
  uptime > $OUT/$suite-t1-cpu.txt
  $B gemm --suite $suite --forms $forms --threads 1 --clock thread-cpu --reps 9 --reference openblas --json $OUT/$suite-t1-cpu.json >> $OUT/$suite-t1-cpu.txt 2>&1
done
