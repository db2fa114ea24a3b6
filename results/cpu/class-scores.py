"""Why step 2's seed 305 never predicts a 3 or a 5: after the last 1x1 convolution a ReLU holds
each class score at zero wherever it is negative, and a class whose score is zero at every
position can never win. For saved weights: at how many test positions (10,000 images, 5 x 5
positions each) each class's score is above zero after that ReLU, and how often each digit is
predicted. Run from the project's root:
    python results/cpu/class-scores.py step2 results/cpu/step2-seed305-seed305.pt
"""
import importlib
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.getcwd())
import common  # noqa: E402

step_name, weights = sys.argv[1:3]
step = importlib.import_module(step_name)
model = step.make_net(step.HPARAMS)
model.load_state_dict(torch.load(weights, weights_only=True)["model"])
data, _ = common.load_mnist("data", torch.device("cpu"), log=lambda line: None)
scores = []
last_relu = [m for m in model.modules() if isinstance(m, nn.ReLU)][-1]
last_relu.register_forward_hook(lambda module, inputs, output: scores.append(output))
_, accuracy, predicted = common.evaluate(model, data)
scores = torch.cat(scores)  # 10,000 x 10 x 5 x 5
above = (scores > 0).sum((0, 2, 3))
print(f"{weights} ({step_name}): {accuracy:.2f}% right on the 10,000 test images")
positions = scores[:, 0].numel()
print(f"{'digit':<30}" + "".join(f"{d:>7}" for d in range(10)))
print(f"{f'score above zero (of {positions:,})':<30}" + "".join(f"{v:>7}" for v in above.tolist()))
print(f"{'score above zero (%)':<30}" + "".join(
    f"{100 * v / positions:>7.2f}" for v in above.tolist()))
print(f"{'predicted (images)':<30}" + "".join(
    f"{v:>7}" for v in torch.bincount(predicted, minlength=10).tolist()))
