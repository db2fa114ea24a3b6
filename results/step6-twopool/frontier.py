"""The frontier: final test accuracy against parameters, a dot per seed, a bar at each network's
mean, and compare.py's table. `python results/step6-twopool/frontier.py FILE ... --out SVG` from
the project's root; the files and the flags as compare.py takes them, a row per network."""
import math
import os
import statistics
import sys
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
import common  # noqa: E402
import flags  # noqa: E402
from pictures import accuracy_scale, svg_document, svg_legend, svg_panel  # noqa: E402
from results import compare  # noqa: E402
from results.compare import PALETTE, final_dots  # noqa: E402


def frontier_svg(rows, target, mark):
    """A column per row where its parameters put it, numbered for the legend, which names the row,
    its seeds and how many held the target in each of the last three epochs. rows: {label:
    (parameters, runs)}."""
    width, left, top, w, h = 940, 70, 40, 790, 300
    height = top + h + 70 + 16 * len(rows)
    finals = [r["epochs"][-1]["test_acc"] for _, runs in rows.values() for r in runs]
    lo, hi, ticks, text = accuracy_scale(min(max(min(finals) - 0.05, target - 1), target - 0.2),
                                         max(finals + [target]) + 0.3, 8)  # room for labels
    counts = [p for p, _ in rows.values()]
    p_lo, p_hi = (math.floor(min(counts) / 1000) * 1000, math.ceil(max(counts) / 1000) * 1000)
    if p_hi == p_lo:  # one size: a thousand's width still
        p_hi += 1000
    x_of = lambda p: left + 20 + (p - p_lo) / (p_hi - p_lo) * (w - 40)  # noqa: E731
    y_of = lambda acc: top + h * (hi - max(acc, lo)) / (hi - lo)  # noqa: E731
    body = [mark] + svg_panel((left, top, w, h), y_of, ticks, text, "final test accuracy (%)",
                              target=target)
    body += [f'<text x="{x_of(p):.1f}" y="{top + h + 16}" text-anchor="middle">{p:,}</text>'
             for p in range(p_lo, p_hi + 1, 1000)]
    body.append(f'<text x="{left + w / 2}" y="{top + h + 34}" text-anchor="middle">parameters'
                f'</text>')
    ordered = sorted(rows.items(), key=lambda item: item[1][0])
    xs = spread([x_of(p) for _, (p, _) in ordered], 40)
    for i, (label, (params, runs)) in enumerate(ordered, 1):
        colour, x = PALETTE[(i - 1) % len(PALETTE)], xs[i - 1]
        figures = common.figures_over_seeds(runs)
        held = figures["seeds_holding_target_last_epochs"]
        seeds = flags.compact(sorted(figures["seeds"]))
        body += frontier_column(label, runs, figures["final_test_acc"]["mean"], colour, x, y_of,
                                lo, top + h)
        y = top + 14 + 26 * (i % 3)  # neighbouring columns' labels on three levels
        body += [f'<text x="{x:.1f}" y="{y}" text-anchor="middle" fill="{colour}">{i}'
                 f'</text>', f'<text class="held" x="{x:.1f}" y="{y + 12}" '
                 f'text-anchor="middle" font-size="10" fill="{colour}">{held}/{len(runs)} held'
                 '</text>']
        body += svg_legend(left, top + h + 62 + 16 * (i - 1), [(
            f"{i}: {label}, {params:,} parameters, seeds {seeds}: {held}/{len(runs)} held",
            colour, False)])
    return svg_document(width, height, "final test accuracy against parameters, a dot per seed "
                        "and a bar at the mean", body)


def spread(xs, gap):
    """Sorted positions moved at least gap apart: each run of crowded ones side by side, gap
    apart, about the mean of where they belong."""
    def edges(group):  # where the group's first and last stand
        centre, half = statistics.fmean(group), gap * (len(group) - 1) / 2
        return centre - half, centre + half

    groups = []
    for x in xs:  # a group that grows may reach the one before it: merged in turn
        groups.append([x])
        while len(groups) > 1 and edges(groups[-2])[1] + gap > edges(groups[-1])[0]:
            groups[-2:] = [groups[-2] + groups[-1]]
    return [edges(g)[0] + gap * j for g in groups for j in range(len(g))]


def frontier_column(label, runs, mean, colour, x, y_of, lo, bottom):
    """One row's seeds as dots about x (a triangle on the bottom edge where under the scale) and
    their mean final accuracy as a bar."""
    body = final_dots(label, runs, colour, x, 16, y_of, lo, bottom)
    body.append(f'<line class="mean" x1="{x - 12:.1f}" x2="{x + 12:.1f}" y1="{y_of(mean):.1f}" '
                f'y2="{y_of(mean):.1f}" stroke="{colour}" stroke-width="3"><title>'
                f'{escape(label)}: mean {mean:.3f}%</title></line>')
    return body


def frontier(rows, mark):
    """compare.py's rows drawn as the frontier, each at the most parameters its files name."""
    return frontier_svg({name: (max(row["parameters"]), row["runs"]) for name, row in rows.items()},
                        common.TARGET_ACCURACY, mark)


if __name__ == "__main__":
    compare.main(draw=frontier, prog="frontier.py")
