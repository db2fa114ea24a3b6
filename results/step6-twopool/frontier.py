"""The frontier: final test accuracy against parameters, a dot per seed, a bar at each network's
mean, and compare.py's table. `python results/step6-twopool/frontier.py FILE ... --out SVG` from
the project's root; the files and the flags as compare.py takes them, a row per network."""
import math
import os
import sys
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
import common  # noqa: E402
import flags  # noqa: E402
from pictures import accuracy_scale, svg_document, svg_legend, svg_panel  # noqa: E402
from results import compare  # noqa: E402
from results.compare import final_dots  # noqa: E402


CROWDED = 4  # rows at one count from which they get a panel of their own
GAP = 36  # px between the columns of rows that share a count, at most


def frontier_svg(rows, target, mark):
    """A column per row at its parameters (rows that share a count side by side about it, each
    within 5% of it; a count with CROWDED rows or more in a panel of its own, on the right), each
    numbered for the legend, which names the row, its seeds and how many held the target in each
    of the last three epochs. rows: {label: (parameters, runs)}."""
    ordered = sorted(rows.items(), key=lambda item: item[1][0])
    counts = [p for _, (p, _) in ordered]
    crowded = sorted({p for p in counts if counts.count(p) >= CROWDED})
    side_w = sum(40 + GAP * counts.count(p) for p in crowded)
    width, left, top, h = 1100, 70, 40, 300
    w = width - left - 60 - side_w - (30 if crowded else 0)
    height = top + h + 70 + 16 * len(rows)
    finals = [r["epochs"][-1]["test_acc"] for _, runs in rows.values() for r in runs]
    lo, hi, ticks, text = accuracy_scale(min(max(min(finals) - 0.05, target - 1), target - 0.2),
                                         max(finals + [target]) + 0.3, 8)  # room for labels
    p_lo, p_hi = (math.floor(min(counts) / 1000) * 1000, math.ceil(max(counts) / 1000) * 1000)
    if p_hi == p_lo:  # one size: a thousand's width still
        p_hi += 1000
    x_of = lambda p: left + 20 + (p - p_lo) / (p_hi - p_lo) * (w - 40)  # noqa: E731
    y_of = lambda acc: top + h * (hi - max(acc, lo)) / (hi - lo)  # noqa: E731
    body = [mark] + svg_panel((left, top, w, h), y_of, ticks, text, "final test accuracy (%)",
                              target=target, target_label=not crowded)
    body += [f'<text x="{x_of(p):.1f}" y="{top + h + 16}" text-anchor="middle">{p:,}</text>'
             for p in range(p_lo, p_hi + 1, 1000)]
    body.append(f'<text x="{left + w / 2}" y="{top + h + 34}" text-anchor="middle">parameters'
                f'</text>')
    xs, side = column_places(counts, x_of, crowded, left + w + 30)
    body += side_panels(side, counts, x_of, (top, h), y_of, target)
    palette, levels = compare.colours(len(ordered)), label_levels(xs, 28, 4)
    for i, (label, (params, runs)) in enumerate(ordered, 1):
        colour, x = palette[i - 1], xs[i - 1]
        figures = common.figures_over_seeds(runs)
        held = figures["seeds_holding_target_last_epochs"]
        seeds = flags.compact(sorted(figures["seeds"]))
        body += frontier_column(label, runs, figures["final_test_acc"]["mean"], colour, x, y_of,
                                lo, top + h)
        y = top + 14 + 26 * levels[i - 1]  # close columns' labels on levels of their own
        body += [f'<text x="{x:.1f}" y="{y}" text-anchor="middle" fill="{colour}">{i}'
                 f'</text>', f'<text class="held" x="{x:.1f}" y="{y + 12}" '
                 f'text-anchor="middle" font-size="10" fill="{colour}">{held}/{len(runs)}'
                 '</text>']
        body += svg_legend(left, top + h + 62 + 16 * (i - 1), [(
            f"{i}: {label}, {params:,} parameters, seeds {seeds}: {held}/{len(runs)} held",
            colour, False)])
    return svg_document(width, height, "final test accuracy against parameters: a dot per seed, "
                        f"a bar at the mean; n/m: n of m seeds held {target}% on each of the "
                        f"last {common.LAST_EPOCHS} epochs", body)


def label_levels(xs, room, most):
    """A level for each column's label, left to right: the highest whose last label is at least
    room px to the left (the least crowded where none is)."""
    last, levels = [-math.inf] * most, []
    for x in xs:
        free = [k for k in range(most) if x - last[k] >= room]
        level = free[0] if free else min(range(most), key=lambda k: last[k])
        last[level] = x
        levels.append(level)
    return levels


def side_panels(side, counts, x_of, span, y_of, target):
    """Each crowded count's panel of its own, (count, left, right) in side: its frame, the count
    its columns share, a pointer at that count on the axis, the target across them all."""
    (top, h), body = span, []
    for p, x0, x1 in side:
        body += [f'<rect x="{x0}" y="{top}" width="{x1 - x0}" height="{h}" fill="none" '
                 f'stroke="#888"/>', f'<text x="{(x0 + x1) / 2}" y="{top + h + 16}" '
                 f'text-anchor="middle">all at {p:,}</text>',
                 f'<line class="pointer" x1="{x_of(p):.1f}" x2="{x_of(p):.1f}" y1="{top + h - 14}"'
                 f' y2="{top + h}" stroke="#555" stroke-width="2"/>',
                 f'<text x="{x_of(p):.1f}" y="{top + h - 18}" text-anchor="middle" '
                 f'font-size="10" fill="#555">{counts.count(p)} rows: right</text>']
    if side:  # the target across them, labelled once, no frame of the whole
        body += svg_panel((side[0][1], top, side[-1][2] - side[0][1], h), y_of, [], str, "",
                          target=target)[1:]
    return body


def column_places(counts, x_of, crowded, side_left):
    """Each column's x, in the order of counts (sorted): at its count, or side by side about it
    (GAP apart, less where 5% of the count is narrower), or in a side panel where its count is
    crowded; and the side panels, (count, left, right)."""
    xs, side, x0 = [], [], side_left
    for p in sorted(set(counts)):
        k = counts.count(p)
        if p in crowded:
            side.append((p, x0, x0 + 40 + GAP * k))
            xs += [x0 + 20 + GAP * (j + 0.5) for j in range(k)]
            x0 += 40 + GAP * k
            continue
        gap = min(GAP, (x_of(p * 1.05) - x_of(p * 0.95)) / k)  # all within 5% of the count
        xs += [x_of(p) + gap * (j - (k - 1) / 2) for j in range(k)]
    return xs, side


def frontier_column(label, runs, mean, colour, x, y_of, lo, bottom):
    """One row's seeds as dots about x (a triangle on the bottom edge where under the scale) and
    their mean final accuracy as a bar."""
    body = final_dots(label, runs, colour, x, 12, y_of, lo, bottom)
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
