"""Restarts: several independent fits of one `TorchDetector`, their scores standardised and averaged.

A detector whose config derives from :class:`RestartsConfig` as well (``class MyConfig(TorchConfig,
RestartsConfig)``) gets the field ``restarts``. With ``restarts = 1`` (the default) nothing changes: the fit is the
detector's own. With ``restarts = k > 1``, :class:`~had_sdk.torch_detector.TorchDetector` fits ``k`` members, each
the same detector with ``restarts = 1`` and the seed :func:`member_seed` derives from the config's (member 0 keeps
it), on the same data (each member draws its own ``max_fit_pixels`` sample, if any). Each member's scores are
divided by the interquartile range of its own training scores (the scores of the data given to ``fit``; with
no spread, their median magnitude; :func:`training_scale`), and the detector's score is their mean:

    score(x) = mean_m s_m(x) / IQR_m

which is the mean of the members' standardised scores ``(s_m - median_m) / IQR_m`` plus the constant
``mean_m median_m / IQR_m``: the same ranking and the same thresholds from training-score quantiles, and no
cancellation to zero that would make float32 parity of the exported graph ill-conditioned. It is a per-sample
function of ``x`` (no ranks over a batch), so it is one module (:class:`RestartsModule`) that eager scoring
calls and that ONNX exports as one graph. The artifact stores every member's own state under ``restart<m>.``
(its weights and whatever its ``_get_state`` adds) with the scales; a detector that overrides
``_get_state``/``_set_state`` returns its parent's state unchanged when ``self.config.restarts > 1`` (its extras
are per member, saved by the member itself).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from pydantic import Field
from torch import nn

from had import fingerprint
from had.detector import DetectorConfig, constant_scores
from had.errors import ConstantScoresWarning

#: the artifact key prefix of member ``m``'s state
PREFIX = "restart{}."


#: the most members an ensemble fits
MAX_RESTARTS = 64


def restarts_field(default: int | None, note: str) -> Any:
    """The ``restarts`` field with `default`, its bounds and what it does stated once; `note` (the default's why, or
    what None means) closes its description. A config that ships another default than
    :class:`RestartsConfig`'s 1 redeclares the field with it."""
    return Field(default, ge=1, le=MAX_RESTARTS, description="independent fits (derived seeds) whose scores, each "
                 f"standardised by its training scores' median and IQR, are averaged (had_sdk.restarts; {note})")


class RestartsConfig(DetectorConfig):
    """The ``restarts`` field: ``class MyConfig(TorchConfig, RestartsConfig)``."""

    restarts: int = restarts_field(1, "1: one fit")


def restarts_of(detector) -> int:
    """How many members `detector` fits (1 for a config without the field)."""
    return int(getattr(detector.config, "restarts", 1))


def member_seed(seed: int, member: int) -> int:
    """Member `member`'s seed: `seed` itself for member 0, else a 31-bit value numpy's SeedSequence derives from
    (seed, member), so that members of seeds s and s + 1 do not overlap."""
    if member == 0:
        return int(seed)
    state = np.random.SeedSequence(entropy=int(seed), spawn_key=(int(member),)).generate_state(1, dtype=np.uint32)
    return int(state[0] >> 1)


#: an interquartile range at most this share of the scores' median magnitude is float32 rounding, not spread
NO_SPREAD = 1e-5


def training_scale(scores: np.ndarray) -> float:
    """The interquartile range of training `scores` (NaN scores, of no-data pixels, left out). Where the scores
    have no spread (a range of at most :data:`NO_SPREAD` of their median magnitude: float32 rounding, e.g. a
    member fitted on two samples, both at the same distance from its centre), the median magnitude instead, so
    that one member's rounding noise does not become a divisor that outweighs every other member a millionfold
    (was: scores near 1e10 from 2 training rows); 1.0 where that is not positive and finite either."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    scores = scores[~np.isnan(scores)]
    if scores.size == 0:
        return 1.0
    q25, q50, q75 = np.quantile(scores, [0.25, 0.5, 0.75])
    scale, level = float(q75 - q25), abs(float(q50))
    if np.isfinite(scale) and scale > NO_SPREAD * level and scale > 0:
        return scale
    return level if np.isfinite(level) and level > 0 else 1.0


class RestartsModule(nn.Module):
    """``mean_m member_m(x) / scale[m]``: the members' scoring modules, combined per sample."""

    def __init__(self, members: list[nn.Module], scale: np.ndarray):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.register_buffer("scale", torch.as_tensor(np.asarray(scale, dtype=np.float32)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return combine((member(x) for member in self.members), self.scale)


def combine(scores, scale: torch.Tensor) -> torch.Tensor:
    """``mean_m scores[m] / scale[m]`` in float32, summed in member order: the one formula of the ensemble's
    score, whether the members' scores come from their modules or from their fits."""
    total, count = None, 0
    for m, score in enumerate(scores):
        scaled = score / scale[m]
        total = scaled if total is None else total + scaled
        count += 1
    return total / count  # a Python int, as the members' count always was (a constant in traced graphs)


def member_detector(detector, member: int):
    """A fresh detector of `detector`'s class and config, with one restart and member `member`'s seed."""
    config = detector.config.model_copy(update={"restarts": 1, "seed": member_seed(detector.config.seed, member)})
    return type(detector)(config)


def fit_restarts(detector, X: np.ndarray, y: np.ndarray | None) -> np.ndarray | None:
    """Fit ``restarts`` members on `X` and set ``restart_members_``, ``restart_scale_`` and ``model_`` (a
    :class:`RestartsModule`); returns the ensemble's training scores.

    Where every member's training scores are its module's scores of `X` (``scored_by_module_``: the SDK scored
    them after the fit), they are exactly what the ensemble's module would compute member by member, so they
    are combined (:func:`combine`) instead of scoring `X` through every member again; otherwise (a member's own
    scores, e.g. LREN's ``scene_scores="admm"``) returns None and the base scores `X` through the module."""
    members, said, given = [], [], set()
    with fingerprint.known(X, detector.training_sha256_):  # the members' fingerprint is the ensemble's: not hashed again
        for m in range(restarts_of(detector)):
            member = member_detector(detector, m)
            member.training_callback = detector.training_callback  # diagnostics see every member's training
            with warnings.catch_warnings(record=True) as caught:  # all-equal training scores: said once below
                warnings.simplefilter("always")
                members.append(member.fit(X, y))
            for note in getattr(member, "fit_notes_", None) or []:  # once for all members (was: lost, so a
                detector.add_fit_note(note)  # setting with no effect went unsaid with restarts > 1)
            for w in caught:  # every other warning as the member gave it, once for all members
                if issubclass(w.category, ConstantScoresWarning):
                    said.append(str(w.message))
                elif (key := (w.category, str(w.message))) not in given:
                    given.add(key)
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    _assemble(detector, members, np.array([training_scale(m.decision_scores_) for m in members]))
    scores = None
    if all(getattr(m, "scored_by_module_", False) for m in members):
        scores = combine((torch.from_numpy(m.decision_scores_.astype(np.float32)) for m in members),
                         detector.model_.scale.cpu()).double().numpy()
    if len(said) == len(members) and (scores is None or constant_scores("", scores) is None):
        # every member's scores were all equal, the average's only to float32 rounding: the base's check at the
        # end of the fit would not say it (was: one warning per member, eight for deepsvdd, or none)
        warnings.warn(said[0], ConstantScoresWarning, stacklevel=5)
    return scores


def _assemble(detector, members: list, scale: np.ndarray) -> None:
    detector.restart_members_ = members
    detector.restart_scale_ = np.asarray(scale, dtype=np.float32)
    detector.device_ = members[0].device_
    detector.model_ = RestartsModule([m.model_ for m in members], scale).to(detector.device_).eval()
    # each member drew its own seeded sample above max_fit_pixels (seeded by its member seed): the ensemble's
    # record is the first member's, with every member's under "members" (had fit says it; None when none sampled)
    samples = [getattr(m, "fit_sample_", None) for m in members]
    detector.fit_sample_ = {**samples[0], "members": samples} if samples[0] else None
    detector.fill_pixels_ = getattr(members[0], "fill_pixels_", 0)  # the same pixels for every member
    detector.partial_fill_ = getattr(members[0], "partial_fill_", None)


def get_meta(detector) -> dict[str, Any]:
    """Each member's meta, and the ensemble's ``fit_sample`` (:func:`_assemble`) where its members sampled: the
    manifest's ``state_meta.fit_sample``, as a single model's (was: under each member alone, so a script reading
    it found no key for LREN's or the autoencoder's default ensembles: a docs probe of 7 December 2026)."""
    meta: dict[str, Any] = {"restart_members": [m._get_meta() for m in detector.restart_members_]}
    if getattr(detector, "fit_sample_", None):
        meta["fit_sample"] = {k: v for k, v in detector.fit_sample_.items() if k != "members"}  # each member's: above
    return meta


def set_meta(detector, meta: dict[str, Any]) -> None:
    detector._restart_meta = list(meta.get("restart_members") or [])


def get_state(detector) -> dict[str, np.ndarray]:
    state = {"restart.scale": detector.restart_scale_}
    for m, member in enumerate(detector.restart_members_):
        state.update({PREFIX.format(m) + k: v for k, v in member._get_state().items()})
    return state


def set_state(detector, state: dict[str, np.ndarray]) -> None:
    metas = getattr(detector, "_restart_meta", [])
    members = []
    for m in range(restarts_of(detector)):
        prefix = PREFIX.format(m)
        sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not sub:
            raise KeyError(prefix)
        member = member_detector(detector, m)
        member.input_spec_ = dict(detector.input_spec_)
        member._set_meta(metas[m] if m < len(metas) else {})
        member._set_state(sub)
        members.append(member)
    _assemble(detector, members, np.asarray(state["restart.scale"]))
