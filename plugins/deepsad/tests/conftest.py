"""Shared test setup: one torch thread (the machines are shared; tiny MLPs are 30x slower with contended threads).
Real-data files come from the SDK's ``real_file`` fixture."""

from __future__ import annotations

import torch

torch.set_num_threads(1)

