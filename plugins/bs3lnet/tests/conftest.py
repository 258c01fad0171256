"""Test settings: one torch thread (on a shared, loaded CPU more threads spin-wait and run many times slower)."""

import torch

torch.set_num_threads(1)
