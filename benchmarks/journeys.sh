#!/usr/bin/env bash
# Three new users' journeys, each in a fresh venv that sees nothing of this repository but its wheels (issue 16):
#   (a) an analyst: `make wheels`, `pip install --find-links dist had-plugin-lren` alone, `had fit lren SCENE
#       -o m --export` (the export extras installed when the first try names them);
#   (b) a plugin author: `had plugin new`, `pip install -e ".[test]"`, the generated plugin's own tests;
#   (c) a scikit-learn user: `GridSearchCV` over a had detector on an ODDS table, scored by AUROC, without torch.
# Usage: bash benchmarks/journeys.sh [a] [b] [c]   (all three by default; on a loaded 2-core machine (a) and (b)
# took 18 minutes each, (c) 10, mostly pip installing torch and the dependencies)
# Environment: HAD_DATA_DIR (default ../shared/data): sandiego_plane for (a), cardio for (c); without them (a) fits
# a generated .mat scene and (c) runs `had data fetch cardio` (online). TORCH (default torch==2.13.0, the CPU
# build pip finds first here; elsewhere add --index-url https://download.pytorch.org/whl/cpu), PYTHON (python3),
# EPOCHS (LREN's, default 30), KEEP=1 keeps the work folder, WHEELS_BUILT=1 uses dist/ as it is (no make wheels).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-python3}
TORCH=${TORCH:-torch==2.13.0}
EPOCHS=${EPOCHS:-30}
export HAD_DATA_DIR=${HAD_DATA_DIR:-$ROOT/../shared/data}
unset HAD_PLUGINS HAD_DISABLE_PLUGINS PYTHONPATH VIRTUAL_ENV
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} PIP_DISABLE_PIP_VERSION_CHECK=1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/had-journeys.XXXXXX")
if [[ "${KEEP:-}" == 1 ]]; then echo "work folder: $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi
DIST=$ROOT/dist
JOURNEYS=${*:-a b c}
START=$SECONDS

step() { printf '\n== [%4ss] %s\n' "$((SECONDS - START))" "$*"; }

# a venv with nothing in it but pip; `$1/bin/...` from here on
fresh_venv() {
    "$PYTHON" -m venv "$1"
    "$1/bin/python" -c 'import importlib.util as u; assert u.find_spec("had") is None, "had leaked into the venv"'
}

wheels() {
    if [[ -z "${WHEELS_BUILT:-}" ]]; then
        step "make wheels: every distribution into dist/"
        make -s -C "$ROOT" wheels >/dev/null
        ls "$DIST" | sed 's/^/    /'
        WHEELS_BUILT=1
    fi
}

journey_a() {
    wheels
    local V=$WORK/a
    step "a: fresh venv, $TORCH (CPU) first, then had-plugin-lren alone from dist/"
    fresh_venv "$V"
    "$V/bin/pip" install -q "$TORCH"
    "$V/bin/pip" install -q --find-links "$DIST" had-plugin-lren
    "$V/bin/pip" list 2>/dev/null | grep -iE '^(had|torch|onnx)' | sed 's/^/    /'
    "$V/bin/had" plugins
    cd "$V"
    local scene=sandiego_plane
    if [[ ! -f "$HAD_DATA_DIR/hsi/sandiego_plane.mat" ]]; then
        scene=$V/scene.mat
        "$V/bin/python" - "$scene" <<'EOF'
import sys, numpy as np, scipy.io
rng = np.random.default_rng(0)
cube, truth = rng.normal(size=(40, 40, 30)), np.zeros((40, 40))
cube[10:12, 20:22] += 4.0
truth[10:12, 20:22] = 1
scipy.io.savemat(sys.argv[1], {"data": cube, "map": truth})
EOF
        echo "    no sandiego_plane under $HAD_DATA_DIR: a generated 40x40x30 scene ($scene)"
    fi
    step "a: had fit lren $scene -o m --export (only had-plugin-lren installed)"
    local tries=0 extra
    until "$V/bin/had" fit lren "$scene" -o m --set epochs="$EPOCHS" --export 2>"$V/err.txt"; do
        echo "    exit $?: $(cat "$V/err.txt")"
        # the one-line error names the extra to install; install it from dist/ and fit again
        extra=$(grep -oE 'had(-sdk)?\[[a-z0-9-]+\]' "$V/err.txt" | head -1)
        [[ -n "$extra" && $((tries += 1)) -le 3 ]] || { echo "    the error names no extra to install"; exit 1; }
        step "a: pip install --find-links dist \"$extra\", as the error says; fit again"
        "$V/bin/pip" install -q --find-links "$DIST" "$extra"
    done
    ls m | sed 's/^/    /'
    step "a: the exported model scores with onnxruntime, no torch import"
    "$V/bin/had" score m "$scene" --engine onnx --json | "$V/bin/python" -c 'import json, sys
r = json.load(sys.stdin)
print("    ", {k: r[k] for k in ("engine", "flagged", "threshold", "metrics")})'
    cd "$ROOT"
}

journey_b() {
    wheels
    local V=$WORK/b
    step "b: fresh venv, $TORCH (CPU), had-sdk from dist/, had plugin new my-detector"
    fresh_venv "$V"
    "$V/bin/pip" install -q "$TORCH"
    "$V/bin/pip" install -q --find-links "$DIST" had-sdk
    cd "$V"
    "$V/bin/had" plugin new my-detector --dest .
    step "b: pip install -e \"./had-plugin-my-detector[test]\" (its README's line), had plugins, its tests"
    "$V/bin/pip" install -q --find-links "$DIST" -e "./had-plugin-my-detector[test]"
    "$V/bin/had" plugins | grep -E 'my-detector|^\| had ' | sed 's/^/    /'
    (cd had-plugin-my-detector && "$V/bin/python" -m pytest -q -p no:cacheprovider tests 2>&1 | tail -3)
    cd "$ROOT"
}

journey_c() {
    wheels
    local V=$WORK/c
    step "c: fresh venv without torch: had-plugin-odds, had-plugin-pyod and scikit-learn from dist/ (and PyPI)"
    fresh_venv "$V"
    "$V/bin/pip" install -q --find-links "$DIST" had-plugin-odds had-plugin-pyod scikit-learn
    if [[ ! -f "$HAD_DATA_DIR/odds/cardio.mat" ]]; then
        "$V/bin/had" data fetch cardio
    fi
    step "c: GridSearchCV over pyod-knn and over a PCA + rx pipeline on cardio, AUROC scorer, 3 folds"
    "$V/bin/python" - <<'EOF'
import importlib.util
import time

from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline

import had
from had.sklearn_compat import auroc_scorer

assert importlib.util.find_spec("torch") is None, "torch is installed: this journey is the torch-free one"
data = had.load_dataset("cardio")
print(f"    {data.describe()}")
cv = StratifiedKFold(3, shuffle=True, random_state=0)
searches = (("pyod-knn", had.get_detector("pyod-knn"), {"n_neighbors": [1, 5, 20]}),
            ("PCA then rx", make_pipeline(PCA(), had.get_detector("rx")), {"pca__n_components": [3, 8, 21]}))
for name, estimator, grid in searches:
    t0 = time.perf_counter()
    search = GridSearchCV(estimator, grid, scoring=auroc_scorer, cv=cv).fit(data.X, data.y)
    means = ", ".join(f"{p} {m:.4f}" for p, m in zip(search.cv_results_["params"],
                                                      search.cv_results_["mean_test_score"]))
    print(f"    {name}: best {search.best_params_} AUROC {search.best_score_:.4f} ({time.perf_counter() - t0:.1f} s)")
    print(f"      mean test AUROC per setting: {means}")
    assert search.best_estimator_.decision_function(data.X).shape == (len(data.X),)
EOF
    cd "$ROOT"
}

for journey in $JOURNEYS; do
    "journey_$journey"
done
step "done: ${JOURNEYS// /, } passed"
