"""Step 7 candidate ladder6ema: ladder6's network, its weights averaged as it trains.

Target: under 5,000 parameters, 99.4% on every seed (a second-round candidate for step7.py).
Change: ladder6.py with an exponential moving average of the weights and BatchNorm statistics
(decay 0.999 a batch), evaluated as the model; step 6's recipe otherwise.
Run: PYTHONPATH=. python results/step7-screen/ladder6ema.py --seeds 811-818 --out ...
"""
from blocks import LEAN
from common import main
from ladder6 import make_net

HPARAMS = dict(LEAN, ema=0.999)  # a decay per batch: the last ~1,000 batches (2 epochs) weigh


if __name__ == "__main__":
    main(__file__, make_net, HPARAMS)
