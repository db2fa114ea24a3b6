"""Step 7 candidate shared: one 16-channel convolution applied three times, 4,434 parameters.

Target: under 5,000 parameters, 99.4% on every seed (a candidate screened for step7.py).
Change: step 6's layout with 8, 8, 16 channels before the pool; after it one 3x3 convolution
(16 to 16) applied three times, each time with its own BatchNorm; step 6's recipe.
Run: PYTHONPATH=. python results/step7-screen/shared.py --seeds 801-808 --out ...
"""
import torch.nn as nn

from blocks import LEAN, Twice, conv, head
from common import main

HPARAMS = dict(LEAN)


def make_net(hp):
    return nn.Sequential(
        *conv(1, 8), *conv(8, 8), *conv(8, 16),  # 28x28 -> 22x22
        nn.MaxPool2d(2),  # -> 11x11
        Twice(16, times=3),  # one set of weights, three BatchNorms: -> 5x5
        *head(16),
    )


if __name__ == "__main__":
    main(__file__, make_net, HPARAMS)
