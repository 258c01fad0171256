"""The image files this plugin knows: path under ``$HAD_DATA_DIR``, sha256, public source, citation.

Pure data, so the plugin module can register sources without importing numpy loaders.
"""

from __future__ import annotations

from had.datadir import KnownFile

PNEUMONIA_CITATION = (
    "J. Yang, R. Shi, D. Wei, Z. Liu, L. Zhao, B. Ke, H. Pfister, B. Ni, \"MedMNIST v2: A large-scale lightweight "
    "benchmark for 2D and 3D biomedical image classification\", Scientific Data 10, 41 (2023), CC BY 4.0; source "
    "images D. Kermany et al., \"Identifying Medical Diagnoses and Treatable Diseases by Image-Based Deep "
    "Learning\", Cell 172(5), 2018"
)
#: the official MedMNIST v2 release (its train split has 1214 normal images; the copy below has 388)
PNEUMONIA_OFFICIAL_URL = "https://zenodo.org/records/10519652/files/pneumoniamnist.npz"

MNIST_CITATION = (
    "Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, \"Gradient-based learning applied to document recognition\", "
    "Proc. IEEE 86(11), 1998; MNIST by Y. LeCun, C. Cortes, C. Burges"
)
_MNIST_RAW = "https://raw.githubusercontent.com/lijie2020/vae/6aa58aba724f46dba967fc7058945941d171d433/data/MNIST/raw"

PNEUMONIA = KnownFile(
    "images/pneumoniamnist.npz",
    "a554d2332488d3ddc075125e66a1af77ec379fd2bafc09108ab95a37e2bd9c26",
    "https://raw.githubusercontent.com/varun19424/pneumonia_mnist/9361a718d67e8a40f1ef8929db8c5682add8bd70/"
    "data/pneumoniamnist.npz",
    PNEUMONIA_CITATION,
)
MNIST_TEST_IMAGES = KnownFile(
    "images/t10k-images-idx3-ubyte.gz",
    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    f"{_MNIST_RAW}/t10k-images-idx3-ubyte.gz",
    MNIST_CITATION,
)
#: torchvision's mirror of the official files (the same bytes as http://yann.lecun.com/exdb/mnist/)
_MNIST_OFFICIAL = "https://ossci-datasets.s3.amazonaws.com/mnist"
MNIST_TRAIN_IMAGES = KnownFile(
    "images/mnist-train/train-images-idx3-ubyte.gz",
    "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    f"{_MNIST_OFFICIAL}/train-images-idx3-ubyte.gz",
    MNIST_CITATION,
)
MNIST_TRAIN_LABELS = KnownFile(
    "images/mnist-train/train-labels-idx1-ubyte.gz",
    "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    f"{_MNIST_OFFICIAL}/train-labels-idx1-ubyte.gz",
    MNIST_CITATION,
)
MNIST_TEST_LABELS = KnownFile(
    "images/t10k-labels-idx1-ubyte.gz",
    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    f"{_MNIST_RAW}/t10k-labels-idx1-ubyte.gz",
    MNIST_CITATION,
)


def known_files() -> list[KnownFile]:
    """Every file this plugin can read."""
    return [PNEUMONIA, MNIST_TEST_IMAGES, MNIST_TEST_LABELS, MNIST_TRAIN_IMAGES, MNIST_TRAIN_LABELS]
