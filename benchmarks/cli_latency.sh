#!/bin/bash
# Wall time of common commands, an older revision against this working tree, side by side in one run (interleaved,
# median of 3 runs each; the same venv, the older revision's sources first on PYTHONPATH from `git archive`).
#   usage: benchmarks/cli_latency.sh REV        (from the repository root; HAD_DATA_DIR must hold cardio and
#          abu-airport-1)
# The models are fitted by this tree; the older revision must read them (same artifact format).
set -u
REV=${1:?give the older revision, e.g. 107d1bf}
ROOT=$(pwd)
PY=${PY:-$ROOT/.venv/bin/python}
export OMP_NUM_THREADS=1 HAD_DATA_DIR=${HAD_DATA_DIR:?set HAD_DATA_DIR}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/old" && git archive "$REV" | tar -x -C "$WORK/old"
OLD="$WORK/old/core:$WORK/old/sdk"; for p in "$WORK"/old/plugins/*/; do OLD="$OLD:$p"; done
MAIN='import sys; from had.cli import main; sys.argv[0] = "had"; sys.exit(main())'
had_new() { "$PY" -c "$MAIN" "$@"; }
had_old() { PYTHONPATH=$OLD "$PY" -c "$MAIN" "$@"; }
cd "$WORK"
"$PY" -c "import numpy as np; r = np.random.default_rng(0)
np.save('sat.npy', r.normal(size=(6000, 36))); np.save('tab.npy', r.normal(size=(1800, 21)))"
had_new fit rx cardio -o m_rx >/dev/null 2>&1
had_new fit pyod-kde sat.npy -o m_kde --set bandwidth=2.0 >/dev/null 2>&1
had_new fit pyod-knn tab.npy -o m_knn >/dev/null 2>&1
sleep 3  # the models' files settled (had hashes a file changed in the last 2 s each time)
echo "$(getconf _NPROCESSORS_ONLN) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg); $REV against the working tree"
run() {
  local label=$1; shift
  local med=()
  for v in old new; do
    local ts=() rc
    for _ in 1 2 3; do
      s=$(date +%s.%N); had_$v "$@" >/dev/null 2>&1; rc=$?; e=$(date +%s.%N)
      ts+=("$(echo "$e - $s" | bc)")
    done
    med+=("$(printf '%s\n' "${ts[@]}" | sort -n | sed -n 2p)")
    [ "$rc" = 0 ] || echo "  ($v exited $rc)"
  done
  printf '%-36s %6.2f s  %6.2f s  %5.2fx\n' "$label" "${med[0]}" "${med[1]}" "$(echo "${med[1]} / ${med[0]}" | bc -l)"
}
printf '%-36s %8s  %8s  %6s\n' command "$REV" now ratio
run "had list detectors" list detectors
run "had list datasets" list datasets
run "had describe deepsad" describe deepsad
run "had score rx-model cardio" score m_rx cardio -o s1.npy --overwrite
run "had fit rx abu-airport-1" fit rx abu-airport-1 -o m_rx2 --overwrite
run "had score kde-model (6000x36)" score m_kde sat.npy -o s2.npy --overwrite
run "had score knn-model (1800x21)" score m_knn tab.npy -o s3.npy --overwrite
