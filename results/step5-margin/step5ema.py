"""Step 5 evaluated on an exponential moving average of its weights: a candidate for step 5.

Target: a margin over 99.4% on every seed, with step 5's network, parameters and epochs.
Change: from step5.py, the model evaluated and saved is an exponential moving average of the
weights and BatchNorm statistics, updated after every batch (decay 0.999: about 2 epochs).
Run: PYTHONPATH=. python results/step5-margin/step5ema.py --seeds 301-308 --out ...
"""
import step5
from common import main

HPARAMS = dict(step5.HPARAMS, ema=0.999)

if __name__ == "__main__":
    main(__file__, step5.make_net, HPARAMS)
