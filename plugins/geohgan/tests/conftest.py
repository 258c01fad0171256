"""Tests of had-plugin-geohgan: tiny networks and data; torch on 1 thread keeps runs steady on shared CPUs."""

import torch

torch.set_num_threads(1)
