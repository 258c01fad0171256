"""One torch thread for these tiny networks unless OMP_NUM_THREADS says otherwise: on a shared 2-core CI
machine, two spinning threads per process made the tests 4x slower with no gain on nets this small."""

import os

import torch

if "OMP_NUM_THREADS" not in os.environ:
    torch.set_num_threads(1)
