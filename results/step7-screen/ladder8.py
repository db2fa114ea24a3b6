"""Step 7 candidate ladder8: step 6's layout at 8 and 12 channels, 4,930 parameters.

Target: under 5,000 parameters, 99.4% on every seed (a candidate screened for step7.py).
Change: step 6's layout (3 convs, pool, 3 convs, 1x1 to 10) with 8, 8, 8 channels before the pool
and 12, 12, 12 after it; step 6's recipe.
Run: PYTHONPATH=. python results/step7-screen/ladder8.py --seeds 801-808 --out ...
"""
import torch.nn as nn

from blocks import LEAN, conv, head
from common import main

HPARAMS = dict(LEAN)


def make_net(hp):
    return nn.Sequential(
        *conv(1, 8), *conv(8, 8), *conv(8, 8),  # 28x28 -> 22x22
        nn.MaxPool2d(2),  # -> 11x11
        *conv(8, 12), *conv(12, 12), *conv(12, 12),  # -> 5x5
        *head(12),
    )


if __name__ == "__main__":
    main(__file__, make_net, HPARAMS)
