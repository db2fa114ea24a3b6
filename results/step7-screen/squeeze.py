"""Step 7 candidate squeeze: widen, then a 1x1 squeeze after the pool, 4,822 parameters.

Target: under 5,000 parameters, 99.4% on every seed (a candidate screened for step7.py).
Change: 8, 10, 14 channels before the pool, a 1x1 convolution that narrows them to 8 after it,
then 12, 14; step 6's recipe.
Run: PYTHONPATH=. python results/step7-screen/squeeze.py --seeds 801-808 --out ...
"""
import torch.nn as nn

from blocks import LEAN, conv, head
from common import main

HPARAMS = dict(LEAN)


def make_net(hp):
    return nn.Sequential(
        *conv(1, 8), *conv(8, 10), *conv(10, 14),  # 28x28 -> 22x22
        nn.MaxPool2d(2),  # -> 11x11
        *conv(14, 8, 1),  # the squeeze: 8 channels carry on
        *conv(8, 12), *conv(12, 14),  # -> 7x7
        *head(14),
    )


if __name__ == "__main__":
    main(__file__, make_net, HPARAMS)
