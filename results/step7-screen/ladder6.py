"""Step 7 candidate ladder6: step 6's layout at 8 and 10 channels, 3,962 parameters.

Target: under 5,000 parameters, 99.4% on every seed (a candidate screened for step7.py).
Change: step 6's layout (3 convs, pool, 3 convs, 1x1 to 10) with 8, 8, 8 channels before the pool
and 10, 10, 10 after it; step 6's recipe.
Run: PYTHONPATH=. python results/step7-screen/ladder6.py --seeds 801-808 --out ...
"""
import torch.nn as nn

from blocks import LEAN, conv, head
from common import main

HPARAMS = dict(LEAN)


def make_net(hp):
    return nn.Sequential(
        *conv(1, 8), *conv(8, 8), *conv(8, 8),  # 28x28 -> 22x22
        nn.MaxPool2d(2),  # -> 11x11
        *conv(8, 10), *conv(10, 10), *conv(10, 10),  # -> 5x5
        *head(10),
    )


if __name__ == "__main__":
    main(__file__, make_net, HPARAMS)
