"""Redraw the kept runs' curves from their results files with the project's own pictures.py:
`python results/redraw.py` from the project's root. Each <stem>-curves.svg beside a <stem>.json
is drawn again; nothing else is written."""
import glob
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import common  # noqa: E402
import flags  # noqa: E402
import pictures  # noqa: E402
import run_files  # noqa: E402

for path in sorted(glob.glob(os.path.join(os.path.dirname(__file__), "**", "*.json"),
                             recursive=True)):
    results, curves = run_files.read_results(path), path[:-len(".json")] + "-curves.svg"
    if results and results["runs"] and "hyperparameters" in results and os.path.exists(curves):
        run_files.write_text(curves, pictures.run_curves_svg(
            results, flags.compact(results["seeds"]), common.TARGET_ACCURACY))
        print(curves)
