"""The step-7 screen's table: `python results/step7-screen/table.py` from the project's root
prints, for each candidate, its parameters, multiply-adds an image (from its make_net), seconds
an epoch (its 1-epoch run in timing/), train accuracy (the last epoch's, on its augmented
batches, mean over the seeds) and its final test accuracy over the choosing seeds it finished
(801-808 in the first round, 811-818 in the second), with how many held 99.4% on epochs 13-15
and whether it ran them all or was stopped."""
import glob
import importlib.util
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(os.path.dirname(HERE)), HERE]
import common  # noqa: E402

CANDIDATES = ["ladder8", "separable", "squeeze", "pool4", "shared", "factor", "ladder6",
              "ladder8ema", "ladder6ema"]  # the first round (801-808), then the second (811-818)


def multiply_adds(module):
    """The convolutions' multiply-adds for one 28x28 image: each output value costs a weight
    per input value it reads."""
    total = [0]

    def count(conv, inputs, output):
        total[0] += output.numel() * conv.weight[0].numel()
    net = module.make_net(module.HPARAMS)
    for conv in (m for m in net.modules() if isinstance(m, common.nn.Conv2d)):
        conv.register_forward_hook(count)
    with common.torch.no_grad():
        net.eval()(common.torch.zeros(1, 1, 28, 28))
    return sum(p.numel() for p in net.parameters()), total[0]


def finished_runs(name):
    """The seeds of the candidate's choosing runs that finished their 15 epochs, and the notes
    of files that stopped short."""
    runs, notes = {}, []
    for path in sorted(glob.glob(os.path.join(HERE, f"{name}-seeds8*.json"))):
        with open(path) as f:
            results = json.load(f)
        epochs = results["hyperparameters"]["epochs"]
        runs.update({r["seed"]: r for r in results["runs"] if len(r["epochs"]) == epochs})
        if results["status"] != "complete":
            notes.append(results["status"])
    return [runs[s] for s in sorted(runs)], notes


def row(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    params, macs = multiply_adds(module)
    with open(os.path.join(HERE, "timing", f"{name}-epoch1.json")) as f:
        seconds = json.load(f)["runs"][0]["epochs"][0]["seconds"]
    runs, notes = finished_runs(name)
    if not runs:
        return f"| {name} | {params:,} | {macs:,} | {seconds:.1f} | - | - | - | - | none finished |"
    figures = common.figures_over_seeds(runs)
    final, n = figures["final_test_acc"], len(runs)
    train = statistics.fmean(r["epochs"][-1]["train_acc"] for r in runs)
    sd = f" ± {final['std']:.3f}" if n > 1 else ""
    return (f"| {name} | {params:,} | {macs:,} | {seconds:.1f} | {train:.2f}% | "
            f"{final['mean']:.3f}%{sd} | {final['min']:.2f}% | "
            f"{figures['seeds_holding_target_last_epochs']}/{n} "
            f"({common.flags.compact(figures['seeds'])}) | {'stopped' if notes else 'ran'} |")


def main():
    print("| candidate | params | multiply-adds | s/epoch | train | final, mean ± sd | min | "
          "held (seeds) | runs |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for name in CANDIDATES:
        print(row(name))


if __name__ == "__main__":
    main()
