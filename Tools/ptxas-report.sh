#!/usr/bin/env bash
# Registers, shared memory and spills per kernel, from ptxas, for every Kernels/*.cu family.
#
# usage: Tools/ptxas-report.sh [sm_80]      (any of sm_70, sm_80, sm_90)
# The PTX comes from the NVRTC compile tests (ASTMT_PTX_DUMP_DIR makes them save it), so it is exactly what the engine loads.
# ptxas: $PTXAS, else ptxas on PATH, else /opt/ptxas/x/usr/bin/ptxas, else one is fetched in seconds without the 2 GB toolkit:
# `apt-get download nvidia-cuda-toolkit` (Debian non-free) and `dpkg -x` into ~/.cache/astmt/ptxas; its usr/bin/ptxas runs alone.
# Exits 1 when any kernel spills.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-sm_80}
cc=${arch#sm_}

ptxas=${PTXAS:-}
[ -z "$ptxas" ] && ptxas=$(command -v ptxas || true)
[ -z "$ptxas" ] && [ -x /opt/ptxas/x/usr/bin/ptxas ] && ptxas=/opt/ptxas/x/usr/bin/ptxas
if [ -z "$ptxas" ]; then
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/astmt/ptxas
  if [ ! -x "$cache/x/usr/bin/ptxas" ]; then
    mkdir -p "$cache"
    (cd "$cache" && apt-get download nvidia-cuda-toolkit >/dev/null && dpkg -x nvidia-cuda-toolkit_*.deb x)
  fi
  ptxas=$cache/x/usr/bin/ptxas
fi

dump=$(mktemp -d)
trap 'rm -rf "$dump"' EXIT
ASTMT_PTX_DUMP_DIR=$dump dotnet test Tests/Astmt.Kernels.Tests -c Release --filter "FullyQualifiedName~NvrtcCompileTests.Compiles&Name~compute_$cc" \
  >"$dump/test.log" 2>&1 || { cat "$dump/test.log"; echo "NVRTC compile tests failed" >&2; exit 1; }
shopt -s nullglob
files=("$dump"/*-compute_"$cc".ptx)
[ ${#files[@]} -gt 0 ] || { echo "no PTX was produced (is libnvrtc installed?)" >&2; exit 1; }

printf '%-28s %-14s %5s %9s %11s %11s\n' kernel family regs smem_bytes spill_store spill_load
spills=0
for f in "${files[@]}"; do
  family=$(basename "$f" "-compute_$cc.ptx")
  "$ptxas" -arch="$arch" -v "$f" -o /dev/null 2>&1 | awk -v family="$family" '
    /Function properties for/ { name = $NF }
    /spill stores/ { for (i = 1; i <= NF; i++) { if ($(i+1) == "bytes" && $(i+2) == "spill" && $(i+3) == "stores,") st[name] = $i; if ($(i+1) == "bytes" && $(i+2) == "spill" && $(i+3) == "loads") ld[name] = $i } }
    /Used [0-9]+ registers/ {
      regs = 0; smem = 0
      for (i = 1; i <= NF; i++) { if ($(i+1) == "registers,") regs = $i; if ($(i+1) == "bytes" && $(i+2) == "smem,") smem = $i }
      printf "%-28s %-14s %5d %9d %11d %11d\n", name, family, regs, smem, st[name], ld[name]
    }'
done | sort | tee "$dump/report.txt"
spills=$(awk '$5 > 0 || $6 > 0' "$dump/report.txt" | wc -l)
if [ "$spills" -gt 0 ]; then echo "$spills kernel(s) spill at $arch" >&2; exit 1; fi
echo "no spills at $arch ($(wc -l < "$dump/report.txt") kernels)"
