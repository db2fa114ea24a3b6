"""The public answer's own weights in `public3762.make_net`, scored by the engine's `evaluate`:
the same network and test as its notebook's if they score what its last epoch printed.
Run: PYTHONPATH=. python results/public-answer/public3762_weights.py model_weights_99.52.pth
(that file: adilsammar/woolly-of-cv, commit 7ade209, assets/mnist/weights/)."""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import public3762  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("weights", help="the public answer's state_dict (.pth)")
parser.add_argument("--data-dir", default="./data")
args = parser.parse_args()
try:
    theirs = torch.load(args.weights, map_location="cpu", weights_only=True)
except Exception as e:
    parser.error(f"{args.weights}: not a PyTorch weights file ({type(e).__name__})")
model = public3762.make_net(public3762.HPARAMS)
ours = model.state_dict()
if [v.shape for v in theirs.values()] != [v.shape for v in ours.values()]:
    parser.error(f"{args.weights}: not the 3,762-parameter network's weights")
model.load_state_dict(dict(zip(ours, theirs.values())))  # same layers, same order, other names
data, _ = common.load_mnist(args.data_dir, torch.device("cpu"))
loss, accuracy, _ = common.evaluate(model, data)
batches = {v.item() for k, v in theirs.items() if k.endswith("num_batches_tracked")}
print(f"{args.weights}: test accuracy {accuracy:.2f}%, test loss {loss:.6f}; "
      f"batches each BatchNorm layer counted: {', '.join(map(str, sorted(batches)))}")
