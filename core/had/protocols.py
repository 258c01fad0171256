"""Split protocols shared by every data plugin and by `had bench`.

* :func:`transductive`: fit and score the same data (hyperspectral scenes, as LREN and BS3LNet do).
* :func:`adbench_split`: ADBench's stratified 70/30 split, min-max scaling fitted on the training part.
* :func:`deepsad_split`: Deep SAD's protocol (60/40 split per class, StandardScaler then MinMaxScaler fitted
  on train, then the semi-supervised setting of :func:`semisupervised_setting`).
* :func:`semisupervised_setting`: Deep SAD's ``create_semisupervised_setting`` (ratio of known normals, ratio of
  known outliers, pollution ratio), generic over classes, used for tables and images.
* :func:`one_class`: fit on the normal training samples only (labels removed), select on a labelled validation
  part, report on the test part; the parts come from ``meta["split_index"]`` set by the data source, or, for a
  labelled image set whose source sets none (a ``.npy`` stack), from a seeded per-class 60/20/20 split.

Every function is seeded and returns new :class:`Dataset` objects; scaling statistics come from the training
part only and are stored in ``meta["scaling"]``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .data import Dataset
from .errors import ConfigError, InvalidInputError


@dataclass(frozen=True)
class Split:
    """Train and test parts (``train, test = split`` unpacks them), and a labelled validation part for model
    selection where the protocol has one: selection reads `val`, never `test`."""

    train: Dataset
    test: Dataset
    val: Dataset | None = None

    def __iter__(self):
        return iter((self.train, self.test))


def transductive(dataset: Dataset, seed: int = 0) -> Split:
    """Train = test = the whole dataset (labels are only used by the metrics)."""
    train = replace(dataset, y=None, meta={**dataset.meta, "protocol": "transductive"})
    return Split(train, dataset)


def fitted_unlabelled(detector: str, data: str) -> str:
    """The one wording of a detector that learns from known labels fitted with none, for `had fit` and `had
    bench`: `data` names what gave none (a dataset, or a dataset under a protocol)."""
    return (f"{detector} learns from known labels (1 anomaly, -1 normal) and {data} gives none: every sample was "
            "fitted as unlabelled")


def _per_class_split(y: np.ndarray, test_size: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    train, test = [], []
    for value in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == value))
        n_test = int(round(test_size * idx.size))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _minmax(train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = train.min(axis=0), train.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    return lo, span


#: what to use instead of a table protocol (adbench, deepsad) on images or scenes
TABLE_ONLY_FIX = ("for images use --protocol one-class, or, for Deep SAD's semi-supervised setting on images, "
                  "had_images.semisupervised_split in Python; for a scene, --protocol transductive")


def _require_table(dataset: Dataset) -> None:
    """Was: "this protocol needs a labelled table" alone, with no word of what to use on images."""
    if dataset.kind != "tabular" or dataset.y is None:
        fix = TABLE_ONLY_FIX if dataset.kind != "tabular" else "give a table with labels"
        raise InvalidInputError(f"this protocol needs a labelled table; {dataset.describe()}: {fix}")


def adbench_split(dataset: Dataset, seed: int = 0, test_size: float = 0.3) -> Split:
    """ADBench: stratified train/test split (70/30), min-max scaling fitted on train (test may leave [0, 1])."""
    _require_table(dataset)
    rng = np.random.default_rng(seed)
    tr, te = _per_class_split(dataset.y, test_size, rng)
    lo, span = _minmax(dataset.X[tr])
    scale = {"kind": "minmax", "min": lo.tolist(), "span": span.tolist()}
    meta = {**dataset.meta, "protocol": "adbench", "seed": seed, "scaling": scale}
    train = dataset.subset(tr, name=f"{dataset.name}/train", meta=meta)
    test = dataset.subset(te, name=f"{dataset.name}/test", meta=meta)
    train = replace(train, X=(train.X - lo) / span)
    test = replace(test, X=(test.X - lo) / span)
    return Split(train, test)


def _check_ratios(**ratios: float | None) -> None:
    """An :class:`InvalidInputError` for a ratio outside [0, 1) (None: not given)."""
    for name, r in ratios.items():
        if r is not None and not 0.0 <= r < 1.0:
            raise InvalidInputError(f"{name} must be in [0, 1), got {r}")


def semisupervised_setting(
    classes: np.ndarray,
    normal_classes,
    outlier_classes,
    known_outlier_classes,
    ratio_known_normal: float,
    ratio_known_outlier: float,
    ratio_pollution: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Deep SAD's semi-supervised training set: indices into `classes` and their known labels.

    Counts solve ``n_kn + n_un = n_normal``, ``n_kn = r_kn T``, ``n_ko = r_ko T``, ``n_uo = r_p (n_un + n_uo)``
    with ``T`` the training set size, truncated to integers, all normal samples used. Known labels follow
    `had`'s convention: 1 known anomaly, -1 known normal, 0 unlabeled (polluting anomalies are unlabeled).
    """
    _check_ratios(ratio_known_normal=ratio_known_normal, ratio_known_outlier=ratio_known_outlier,
                  ratio_pollution=ratio_pollution)
    idx_normal = np.flatnonzero(np.isin(classes, list(normal_classes)))
    idx_outlier = np.flatnonzero(np.isin(classes, list(outlier_classes)))
    idx_known_outlier = np.flatnonzero(np.isin(classes, list(known_outlier_classes)))
    n_normal = idx_normal.size
    a = np.array([[1, 1, 0, 0],
                  [(1 - ratio_known_normal), -ratio_known_normal, -ratio_known_normal, -ratio_known_normal],
                  [-ratio_known_outlier, -ratio_known_outlier, -ratio_known_outlier, (1 - ratio_known_outlier)],
                  [0, -ratio_pollution, (1 - ratio_pollution), 0]], dtype=float)
    b = np.array([n_normal, 0, 0, 0], dtype=float)
    n_kn, n_un, n_uo, n_ko = (int(v) for v in np.linalg.solve(a, b))
    # known anomalies first, then the polluting ones from the anomalies left: no sample enters twice (the
    # reference draws both from independent permutations of the same pool, so one can be known and unlabeled)
    perm_known = rng.permutation(idx_known_outlier)
    known_outlier = perm_known[:n_ko]
    pool = rng.permutation(np.setdiff1d(idx_outlier, known_outlier))
    if n_ko > idx_known_outlier.size or n_uo > pool.size:
        raise InvalidInputError(
            f"not enough anomalies for this setting: need {n_uo} polluting and {n_ko} known, "
            f"have {idx_outlier.size} ({idx_known_outlier.size} of known classes); lower the ratios"
        )
    perm_normal = rng.permutation(idx_normal)
    known_normal = perm_normal[:n_kn]
    unlabeled_normal = perm_normal[n_kn:n_kn + n_un]
    polluting = pool[:n_uo]
    index = np.concatenate([known_normal, unlabeled_normal, polluting, known_outlier])
    known = np.concatenate([-np.ones(n_kn), np.zeros(n_un), np.zeros(n_uo), np.ones(n_ko)]).astype(np.int8)
    return index, known


#: the pollution of :func:`deepsad_split`'s training set when none is given: at most this, as the table allows
DEEPSAD_POLLUTION = 0.1


def feasible_pollution(y: np.ndarray, wanted: float, ratio_known: float = 0.01, test_size: float = 0.4) -> float:
    """The largest pollution <= `wanted` (steps of 0.005) whose polluting and known anomalies fit, without
    sharing a sample, into the training anomalies of a table labelled `y` (the counts of
    :func:`semisupervised_setting` after :func:`deepsad_split`'s per-class split)."""
    y = np.asarray(y).reshape(-1)
    n0 = int((y == 0).sum()) - int(round(test_size * int((y == 0).sum())))
    n1 = int((y == 1).sum()) - int(round(test_size * int((y == 1).sum())))
    for p in np.round(np.arange(wanted, -1e-9, -0.005), 3):
        n_uo = int(p * n0 / (1 - p))
        n_ko = int(ratio_known * (n0 + n_uo) / (1 - ratio_known))
        if n_uo + n_ko <= n1:
            return abs(float(p))  # no "-0.0"
    return 0.0


def deepsad_split(
    dataset: Dataset,
    seed: int = 0,
    ratio_known_normal: float = 0.0,
    ratio_known_outlier: float = 0.01,
    ratio_pollution: float | None = None,
    test_size: float = 0.4,
) -> Split:
    """Deep SAD's ODDS protocol: 60/40 per-class split, standard then min-max scaling fitted on train,
    then the semi-supervised training set (known labels in ``train.known``). Anomalies in the training set
    that are not sampled as polluting or known are dropped, as in the reference.

    `ratio_pollution` None: :data:`DEEPSAD_POLLUTION`, or the largest pollution below it that the table's
    training anomalies hold beside the known ones (:func:`feasible_pollution`; thyroid's 56 cannot pollute
    2,207 normal rows at 0.1), recorded in the split's meta with ``ratio_pollution_asked``; `had bench --protocol
    deepsad` failed on four of the seven ODDS tables with a fixed 0.1, while the benchmarks used this rule."""
    _require_table(dataset)
    # before feasible_pollution, which divides by 1 - ratio_known_outlier (was: ZeroDivisionError at 1.0)
    _check_ratios(ratio_known_normal=ratio_known_normal, ratio_known_outlier=ratio_known_outlier,
                  ratio_pollution=ratio_pollution)
    if not 0.0 < test_size < 1.0:
        raise InvalidInputError(f"test_size must be in (0, 1), got {test_size}")
    asked = None
    if ratio_pollution is None:
        ratio_pollution = feasible_pollution(dataset.y, DEEPSAD_POLLUTION, ratio_known_outlier, test_size)
        asked = DEEPSAD_POLLUTION if ratio_pollution < DEEPSAD_POLLUTION else None
    rng = np.random.default_rng(seed)
    tr, te = _per_class_split(dataset.y, test_size, rng)
    Xtr = dataset.X[tr]
    mean, std = Xtr.mean(axis=0), Xtr.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    lo, span = _minmax((Xtr - mean) / std)
    scale = {"kind": "standard+minmax", "mean": mean.tolist(), "std": std.tolist(), "min": lo.tolist(),
             "span": span.tolist()}
    meta = {**dataset.meta, "protocol": "deepsad", "seed": seed, "scaling": scale,
            "ratio_known_normal": ratio_known_normal, "ratio_known_outlier": ratio_known_outlier,
            "ratio_pollution": ratio_pollution, **({"ratio_pollution_asked": asked} if asked is not None else {})}
    idx, known = semisupervised_setting(dataset.y[tr], (0,), (1,), (1,), ratio_known_normal, ratio_known_outlier,
                                        ratio_pollution, rng)
    train = dataset.subset(tr[idx], name=f"{dataset.name}/train", meta=meta)
    train = replace(train, X=((train.X - mean) / std - lo) / span, known=known)
    test = dataset.subset(te, name=f"{dataset.name}/test", meta=meta)
    test = replace(test, X=((test.X - mean) / std - lo) / span)
    return Split(train, test)


#: train and validation shares of each class in the parts :func:`one_class` draws for a labelled image set whose
#: source defines none (a ``.npy`` stack); the rest of each class is the test part (the MNIST source's shares)
ONE_CLASS_SHARES = (0.6, 0.2)


def one_class_parts(y: np.ndarray, seed: int = 0) -> dict[str, np.ndarray]:
    """Per-class seeded train/val/test index arrays, :data:`ONE_CLASS_SHARES` of each class in train and val."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for value in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == value))
        n_train, n_val = (int(round(share * idx.size)) for share in ONE_CLASS_SHARES)
        parts["train"].append(idx[:n_train])
        parts["val"].append(idx[n_train:n_train + n_val])
        parts["test"].append(idx[n_train + n_val:])
    return {k: np.sort(np.concatenate(v)).astype(np.int64) for k, v in parts.items()}


def one_class(dataset: Dataset, seed: int = 0) -> Split:
    """Train on the normal samples of the training part (labels removed); `val` and `test` keep their labels.

    The data source fixes the parts in ``meta["split_index"]`` (``{"train", "val", "test"}`` index arrays), so
    they are the same for every detector and `seed` is unused (the source's own config seeds its split). A
    labelled image set without them (a ``.npy`` stack with ``labels``) is split per class by
    :func:`one_class_parts` with `seed`, the same for every detector of a seed (was: such a stack was fitted and
    measured on the same images, by the transductive protocol).
    """
    index = dataset.meta.get("split_index")
    drawn = index is None and dataset.y is not None and dataset.kind == "image"
    if drawn:
        index = one_class_parts(np.asarray(dataset.y).reshape(-1), seed)
    if dataset.y is None or not isinstance(index, dict) or set(index) != {"train", "val", "test"}:
        raise InvalidInputError(
            f"{dataset.name} has no labelled train/val/test index in meta['split_index']; "
            "the one-class protocol needs a data source that defines its parts, or labelled images (N, C, H, W)"
        )
    parts = {k: np.asarray(v, dtype=np.int64) for k, v in index.items()}
    y = np.asarray(dataset.y).reshape(-1)
    train_idx = parts["train"][y[parts["train"]] == 0]
    if train_idx.size == 0:
        raise InvalidInputError(f"{dataset.name}: the training part holds no normal sample")
    meta = {k: v for k, v in dataset.meta.items() if k != "split_index"}
    meta["protocol"] = "one-class"
    if drawn:
        meta["seed"] = seed
    train = replace(dataset.subset(train_idx, name=f"{dataset.name}/train", meta={**meta, "part": "train"}), y=None)
    val = dataset.subset(parts["val"], name=f"{dataset.name}/val", meta={**meta, "part": "val"})
    test = dataset.subset(parts["test"], name=f"{dataset.name}/test", meta={**meta, "part": "test"})
    return Split(train, test, val)


PROTOCOLS = {"transductive": transductive, "adbench": adbench_split, "deepsad": deepsad_split,
             "one-class": one_class}


#: the protocols a table only can go through (their split scales columns and draws rows per class)
TABLE_PROTOCOLS = ("adbench", "deepsad")


def parameters(protocol: str) -> tuple[str, ...]:
    """The parameters `protocol` takes besides the dataset and the seed (its function's keyword arguments)."""
    import inspect

    names = list(inspect.signature(PROTOCOLS[protocol]).parameters)
    return tuple(n for n in names if n not in ("dataset", "seed"))


def check_params(protocol: str, params: dict[str, Any] | None, option: str = "--protocol-set") -> dict[str, Any]:
    """`params` for `protocol` as floats, checked: known names, numbers, in range (ratios in [0, 1), test_size in
    (0, 1)); a :class:`ConfigError` of one line otherwise, before any cell (was: a grid could not give a protocol
    any parameter, so ``had bench --protocol deepsad`` ran at pollution 0.1 only, never the paper's clean 0)."""
    params = dict(params or {})
    if protocol not in PROTOCOLS:
        raise ConfigError(f"protocol {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    known = parameters(protocol)
    if params and not known:
        raise ConfigError(f"{option} {', '.join(sorted(params))}: the {protocol} protocol takes no parameters; drop "
                          f"them (deepsad takes {', '.join(parameters('deepsad'))})")
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ConfigError(f"{option} {', '.join(unknown)}: not a parameter of the {protocol} protocol; use "
                          f"{', '.join(known)}")
    checked = {}
    for name in known:
        if name not in params:
            continue
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{option} {name}={value!r}: give a number (e.g. {name}=0.05)")
        value = float(value)
        closed = name != "test_size"  # a ratio may be 0; a test part may not be empty
        if not (0.0 <= value < 1.0 if closed else 0.0 < value < 1.0):
            raise ConfigError(f"{option} {name}={value:g}: must be in {'[0, 1)' if closed else '(0, 1)'}; give a "
                              "share such as 0.05")
        checked[name] = value
    return checked


def apply(protocol: str, dataset: Dataset, seed: int = 0, params: dict[str, Any] | None = None) -> Split:
    """Apply the named protocol with `params` (:func:`check_params`; was: the seed only)."""
    if protocol not in PROTOCOLS:
        raise InvalidInputError(f"unknown protocol {protocol!r}; use one of {sorted(PROTOCOLS)}")
    return PROTOCOLS[protocol](dataset, seed=seed, **check_params(protocol, params))
