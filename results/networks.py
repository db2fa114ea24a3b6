"""The step files' networks side by side, on one scale: `python results/networks.py` from the
project's root redraws results/networks.svg, the README's picture, from each stepN.py's make_net
and HPARAMS (nothing trained)."""
import glob
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import common  # noqa: E402
import pictures  # noqa: E402
import run_files  # noqa: E402


def step_networks():
    """[(step file's name, its layer rows)] for every stepN.py, in order."""
    networks = []
    for path in sorted(glob.glob(os.path.join(ROOT, "step[0-9].py"))):
        name = os.path.basename(path)
        step = __import__(name[:-3])
        rows, _ = common.summarize(step.make_net(step.HPARAMS), common.torch.device("cpu"),
                                   log=lambda line: None)
        networks.append((name, rows))
    return networks


def main():
    out = os.path.join(ROOT, "results", "networks.svg")
    run_files.write_text(out, pictures.network_svg(step_networks()))
    print(f"networks: {os.path.relpath(out)}")


if __name__ == "__main__":
    main()
