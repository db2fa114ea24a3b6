"""Steps side by side: `python results/compare.py FILE ... [--out SVG]` from the project's root
reads results files (any steps, any seeds, any machines), prints a Markdown table with a row per
step and per variant of a step (its overrides: `step5 rotation=0`), a step's files pooled, and
draws one picture of them all. The tool that makes results/'s tables; no run needs it."""
import colorsys
import json
import os
import statistics
import sys
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import common  # noqa: E402
import flags  # noqa: E402
import run_files  # noqa: E402
from pictures import (accuracy_scale, epoch_share, svg_below_scale, svg_document,  # noqa: E402
                      svg_legend, svg_panel, svg_polyline)


# Results files of a step file renamed since, by (name, parameters): the first shape screened
# for step 6, 6,474 parameters, ran as step6.py; step6.py is now another network.
RENAMED = {("step6", 6_474): "step6w16x12"}


def label(results):
    """A row's name: the step (as renamed since, if it was), and the hyperparameters its run
    overrode."""
    step = RENAMED.get((results["step"], results["parameters"]), results["step"])
    overrides = [f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"
                 for k, v in (results.get("overrides") or {}).items()]
    return " ".join([step, *overrides]) + (" (dry run)" if results["dry_run"] else "")


def load_rows(files):
    """{name: row} from results files, [(a row's name or None, path)]: a row per step, network
    and hyperparameters (or per name given), its files pooled (a seed once, first file first);
    and notes on the seeds left out: those that stopped short of their step's epochs, and those
    an earlier file of the row holds."""
    rows, notes = {}, []
    for given, path in files:
        if not os.path.isfile(path):
            raise ValueError(f"{path}: " + ("a folder, not a results file" if os.path.isdir(path)
                                            else "no such file"))
        results = run_files.read_results(path)
        try:
            epochs = results["hyperparameters"]["epochs"]
            full = [r for r in results["runs"] if len(r["epochs"]) == epochs]
            if full:
                common.figures_over_seeds(full)  # every figure the table and picture need is there
            code = results["code"] or "unknown"  # a commit, shortened as git shows it
            code = code[:7] + ("-dirty" if code.endswith("-dirty") else "")
            name, about = given or label(results), {
                "parameters": results["parameters"], "devices": results["device"],
                "machines": ", ".join(filter(None, [results["device_name"],
                                                    results.get("cpu_capability")])),
                "torch": results["torch"], "codes": code}
        except (TypeError, KeyError, IndexError, ValueError):
            raise ValueError(f"{path} is not a results file of a step")
        short = [r for r in results["runs"] if len(r["epochs"]) < epochs]
        if short or results.get("status") == "interrupted":
            left_out = ", ".join(f"{r['seed']} ({len(r['epochs'])} of {epochs} epochs)"
                                 for r in short)
            notes.append(f"{name}: {path} is {results.get('status', 'of unknown status')}"
                         + (f"; left out: seed {left_out}" if short else ""))
        # one step name, two networks or two recipes (files from different commits): a row each
        settings = json.dumps(results["hyperparameters"], sort_keys=True)
        row = rows.setdefault((name, results["parameters"], settings),
                              {"runs": [], **{key: set() for key in about}})
        seen = {r["seed"] for r in row["runs"]}
        notes += [f"{name}: seed {r['seed']} is in an earlier file too; {path}'s left out"
                  for r in full if r["seed"] in seen]
        row["runs"] += [r for r in full if r["seed"] not in seen]
        for key, value in about.items():
            row[key].add(value)
    rows = {row_name(key, rows): row for key, row in rows.items()}
    for name in [name for name, row in rows.items() if not row["runs"]]:
        notes.append(f"{name}: no seed finished; no row")
        del rows[name]
    if not rows:
        raise ValueError("no seed in these files finished its epochs")
    return rows, notes


def row_name(key, rows):
    """A row's name: its label, and where another row has that label, what tells them apart:
    the parameters, or the hyperparameters whose values differ."""
    name, parameters, settings = key
    others = [k for k in rows if k[0] == name and k != key]
    if any(k[1] != parameters for k in others):
        name += f" ({parameters:,} params)"
    if any(k[2] != settings for k in others):
        mine, theirs = json.loads(settings), [json.loads(k[2]) for k in others]
        differ = [k for k in mine if any(t.get(k) != mine[k] for t in theirs)]
        name += " (" + ", ".join(f"{k}={mine[k]}" for k in differ) + ")"
    return name


def table(rows, notes):
    """The rows as a Markdown table, with the seeds, machines and code beneath it. A row pooled
    from several machines gives no s/epoch: their seconds are not one machine's; rows from
    different machines name theirs in a column, so that no two machines' seconds stand
    unmarked side by side."""
    target = common.TARGET_ACCURACY
    machines = {name: "; ".join(sorted(row["machines"])) for name, row in rows.items()}
    letters = {m: chr(ord("A") + i) for i, m in enumerate(dict.fromkeys(machines.values()))}
    several = len(letters) > 1
    lines = [f"| step | params | final, mean ± sd | min | max | reached {target}% | held, last "
             f"{common.LAST_EPOCHS} epochs | s/epoch |" + (" machine |" if several else ""),
             "| --- " + "| ---: " * 7 + ("| --- " if several else "") + "|"]
    for name, row in rows.items():
        f, n = common.figures_over_seeds(row["runs"]), len(row["runs"])
        final = f["final_test_acc"]
        seconds = f"{f['seconds_per_epoch']:.1f}" if len(row["machines"]) == 1 else "mixed"
        sd = f" ± {final['std']:.3f}" if n > 1 else ""  # one seed has no spread
        lines.append(f"| {name} | {', '.join(f'{p:,}' for p in sorted(row['parameters']))} | "
                     f"{final['mean']:.3f}%{sd} | {final['min']:.2f}% | "
                     f"{final['max']:.2f}% | {f['seeds_reaching_target']}/{n} | "
                     f"{f['seeds_holding_target_last_epochs']}/{n} | {seconds} |"
                     + (f" {letters[machines[name]]} |" if several else ""))
    lines.append("")
    if several:
        lines += [f"machine {letter}: {m}" for m, letter in letters.items()] + [""]
    for name, row in rows.items():
        mixed = "mixed machines: " if len(row["machines"]) > 1 else ""
        seeds = flags.compact(sorted(r["seed"] for r in row["runs"]))
        joined = {key: ", ".join(sorted(row[key])) for key in ("devices", "torch", "codes")}
        n, epochs = len(row["runs"]), max(len(r["epochs"]) for r in row["runs"])
        lines.append(f"{name}: {'seeds' if n > 1 else 'seed'} {seeds}, {epochs} "
                     f"{'epochs' if epochs > 1 else 'epoch'}, {joined['devices']} ({mixed}"
                     f"{'; '.join(sorted(row['machines']))}), torch {joined['torch']}, "
                     f"code {joined['codes']}")
    return "\n".join(lines + notes) + "\n"


def picture_path(parser, path, files):
    """Where --out's picture goes: path, if it is new or a picture compare.py drew from the same
    files; else the first such <stem>.N.svg, said; never a file compare.py did not draw."""
    if not path.endswith(".svg"):
        parser.error(f"argument --out: {path} does not end in .svg: --out is the picture")
    if blocked := flags.file_in_the_way(path):
        parser.error(f"argument --out: {blocked} is a file, not a folder")
    mark = comparison_mark(sorted(os.path.relpath(f, os.path.dirname(
        os.path.abspath(path))) for f in files))
    for taken in run_files.numbered_names(path):
        if os.path.isdir(taken) and taken == path:
            parser.error(f"argument --out: {path} is a folder")
        if os.path.isdir(taken):
            continue
        if not os.path.exists(taken):
            break
        try:
            with open(taken, errors="replace") as f:
                head = f.read(8192)
        except OSError as e:
            parser.error(f"argument --out: cannot read {taken}: {e.strerror}")
        if mark in head:
            break
        if taken == path and COMPARISON_MARK not in head:
            parser.error(f"argument --out: {path} exists and is not a picture compare.py drew; "
                         "left as it is")
    if taken != path:
        print(f"{path} was drawn from other files, kept as it is; this one draws {taken}")
    return taken, mark


def comparison(rows, mark):
    return comparison_svg({name: row["runs"] for name, row in rows.items()},
                          common.TARGET_ACCURACY, mark)


PALETTE = ["#1f77b4", "#e8710a", "#2ca02c", "#9467bd", "#222222", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#7f7f7f"]  # no red: red is the target
MORE = ["#393b79", "#9c9ede", "#637939", "#b5cf6b", "#8c6d31", "#e7ba52", "#7b4173", "#ce6dbd",
        "#6baed6", "#fd8d3c", "#74c476", "#bc80bd"]  # then these: one colour a row up to 22


def colours(n):
    """n colours, none twice: the palette and MORE, then hues a golden angle apart (none near
    red), in two lightnesses, so that every row of a picture has its own."""
    out, k = list((PALETTE + MORE)[:n]), 0
    while len(out) < n:
        hue, k = (30 + k * 137.508) % 300 + 30, k + 1  # 30-330 degrees: red stays the target's
        red, green, blue = colorsys.hls_to_rgb(hue / 360, 0.32 if k % 2 else 0.5, 0.75)
        colour = f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"
        if colour not in out:
            out.append(colour)
    return out


COMPARISON_MARK = "<desc>drawn by compare.py"  # what compare.py --out may replace


def comparison_mark(files):
    return f"{COMPARISON_MARK} from {escape(' '.join(files))}</desc>"


ZOOM = (0.4, 0.3)  # the close-up panel: from this far below the target to this far above
ZOOM_EPOCHS = 8  # the last epochs it shows


def comparison_svg(rows, target, mark=COMPARISON_MARK + "</desc>"):
    """Three panels on one row, the legend right of them: each row's median test accuracy per
    epoch (the scale at most 2 points under the target: a value under it is a triangle on the
    bottom edge); the last epochs close up around the target, a min-max bar per row and epoch;
    every seed's final accuracy, a dot each, a column per row. rows: {label: runs}."""
    width, left, top, panel_h = 1240, 70, 56, 290
    boxes = [(left, 320), (left + 320 + 64, 290), (left + 320 + 64 + 290 + 64, 180)]
    colour = dict(zip(rows, colours(len(rows))))
    epochs = max(len(r["epochs"]) for runs in rows.values() for r in runs)
    finals = [r["epochs"][-1]["test_acc"] for runs in rows.values() for r in runs]
    peak = max([e["test_acc"] for runs in rows.values() for r in runs for e in r["epochs"]]
               + [target]) + 0.1  # runs that never came near the target still get a scale
    lo, hi, ticks, text = accuracy_scale(min(max(min(finals) - 0.2, target - 2), target - 0.6),
                                         peak, 8)
    bottom = top + panel_h
    y_of = lambda acc: top + panel_h * (hi - max(acc, lo)) / (hi - lo)  # noqa: E731
    (x1, w1), (x2, w2), (x3, w3) = boxes
    x_of = lambda epoch: x1 + epoch_share(epoch, epochs) * w1  # noqa: E731
    body = [mark] + svg_panel((x1, top, w1, panel_h), y_of, ticks, text, "test accuracy (%)",
                              x_of, epochs, clip="plot", target=target, target_label=False)
    body += close_up(rows, colour, (x2, top, w2, panel_h), target, epochs)
    body += svg_panel((x3, top, w3, panel_h), y_of, ticks, text, "final test accuracy (%)",
                      target=target)
    headings = ["median over the seeds, every epoch",
                f"the last {min(ZOOM_EPOCHS, epochs)} epochs closer: min-max over the seeds",
                "final: a dot per seed"]
    body += [f'<text x="{x + w / 2}" y="{top - 8}" text-anchor="middle">{heading}</text>'
             for (x, w), heading in zip(boxes, headings)]
    column = w3 / len(rows)
    for i, (label, runs) in enumerate(rows.items()):
        body += median_line(label, runs, colour[label], x_of, y_of, lo, bottom)
        centre = x3 + column * (i + 0.5)
        body += final_dots(label, runs, colour[label], centre, column * 0.6, y_of, lo, bottom)
        body.append(f'<text x="{centre:.1f}" y="{bottom + 16}" text-anchor="middle">{i + 1}</text>')
    legend = [(f"{i + 1}: {label}", colour[label], False) for i, label in enumerate(rows)]
    legend += [(f"{target}%: the target", "#d62728", True)]
    body += svg_legend(x3 + w3 + 50, top + 10, legend)
    x, y = x3 + w3 + 50, top + 10 + 16 * len(legend)  # beneath it, what the marks mean
    body += svg_below_scale(x + 10, y + 2, "", "#555", "a value below the scale", "key")[:1]
    body += [f'<text x="{x + 24}" y="{y + 16 * k}">{line}</text>' for k, line in enumerate(
        ["on a floor: below its scale", "close up: a bar from the lowest seed",
         "to the highest, white at the median"])]
    height = max(bottom + 50, top + 60 + 16 * len(legend))
    width = max(width, x3 + w3 + 80 + 7 * max(len(text) for text, _, _ in legend),
                x3 + w3 + 60 + 7 * 36)  # all of the legend, the lines beneath it too
    return svg_document(width, height, "test accuracy over seeds", body)


def close_up(rows, colour, box, target, epochs):
    """The last ZOOM_EPOCHS epochs on a scale close about the target: for each epoch a bar per
    row, side by side, from its lowest seed to its highest, a tick at the median."""
    left, top, w, h = box
    shown = list(range(max(1, epochs - ZOOM_EPOCHS + 1), epochs + 1))
    values = [e["test_acc"] for runs in rows.values() for r in runs for e in r["epochs"]]
    lo, hi, ticks, text = accuracy_scale(target - ZOOM[0], min(100.0, max(
        [target + ZOOM[1]] + [v + 0.05 for v in values if v >= target - ZOOM[0]])), 7)
    y_of = lambda acc: top + h * (hi - acc) / (hi - lo)  # noqa: E731
    slot = w / len(shown)
    x_of = lambda epoch: left + slot * (shown.index(epoch) + 0.5)  # noqa: E731
    body = svg_panel(box, y_of, ticks, text, "test accuracy (%)", x_of, 0, clip="close",
                     target=target, target_label=False)
    body += [f'<text x="{x_of(e):.1f}" y="{top + h + 16}" text-anchor="middle">{e}</text>'
             for e in shown]
    body.append(f'<text x="{left + w / 2}" y="{top + h + 34}" text-anchor="middle">epoch</text>')
    for i, (label, runs) in enumerate(rows.items()):
        for e in shown:
            accs = sorted(r["epochs"][e - 1]["test_acc"] for r in runs if len(r["epochs"]) >= e)
            if not accs:
                continue
            x = x_of(e) + slot * 0.8 * ((i + 0.5) / len(rows) - 0.5)
            middle = statistics.median(accs)
            body.append(f'<line class="spread" clip-path="url(#close)" x1="{x:.1f}" '
                        f'x2="{x:.1f}" y1="{y_of(accs[0]):.1f}" y2="{y_of(accs[-1]):.1f}" '
                        f'stroke="{colour[label]}" stroke-width="3"><title>{escape(label)}, '
                        f'epoch {e}: {accs[0]:.2f}-{accs[-1]:.2f}%, median {middle:.2f}%'
                        f'</title></line>')
            body.append(f'<line clip-path="url(#close)" x1="{x - 3:.1f}" x2="{x + 3:.1f}" '
                        f'y1="{y_of(middle):.1f}" y2="{y_of(middle):.1f}" stroke="white"/>')
    return body


def median_line(label, runs, colour, x_of, y_of, lo, bottom):
    """A row's median test accuracy per epoch over its seeds, a line."""
    per_epoch = [(k + 1, [r["epochs"][k]["test_acc"] for r in runs if len(r["epochs"]) > k])
                 for k in range(max(len(r["epochs"]) for r in runs))]
    medians = [(e, statistics.median(a)) for e, a in per_epoch]
    body = [svg_polyline([(x_of(e), y_of(m)) for e, m in medians], colour,
                         f"{label}: median", "plot", ' class="median" stroke-width="2"')]
    for e, m in medians:  # an epoch under the scale: marked, with its value
        if m < lo:
            body += svg_below_scale(x_of(e), bottom, "", colour, f"{label}: median, "
                                    f"epoch {e}: {m:.2f}%")[:1]  # the triangle alone
    return body


def final_dots(label, runs, colour, centre, spread, y_of, lo, bottom):
    """Each seed's final accuracy, a dot, spread across the column so equal ones stay visible."""
    body = []
    for j, r in enumerate(runs):
        x = centre + (j / max(len(runs) - 1, 1) - 0.5) * spread
        acc = r["epochs"][-1]["test_acc"]
        title = f"{label}, seed {r['seed']}: {acc:.2f}%"
        if acc >= lo:
            body.append(f'<circle class="final" cx="{x:.1f}" cy="{y_of(acc):.1f}" r="3" '
                        f'fill="{colour}"><title>{escape(title)}</title></circle>')
        else:
            body += svg_below_scale(x, bottom, f"{acc:.2f}", colour, title, "final")
    return body


def make_parser(prog="compare.py"):
    parser = flags.ArgumentParser(prog=prog, description="Put steps side by side: a "
                                  "Markdown table and one picture from results files.")
    parser.add_argument("files", nargs="*", metavar="FILE", help="results files (stepN.py --out)")
    parser.add_argument("--row", nargs="+", action="append", default=[], metavar=("NAME", "FILE"),
                        help="a row of its own, named NAME, from these files (never pooled with "
                        "another row's); after the FILEs, and repeatable")
    parser.add_argument("--out", metavar="SVG", help="also draw the picture into this SVG file "
                        "(new, or one compare.py drew from the same files)")
    return parser


def main(argv=None, draw=comparison, prog="compare.py"):
    """The table printed; with --out, the rows drawn (by `draw`) into a picture of its own."""
    parser = make_parser(prog)
    args = parser.parse_args(argv)
    if any(len(row) < 2 for row in args.row):
        parser.error("argument --row: a name, then its results files")
    files = [(None, path) for path in args.files]
    files += [(row[0], path) for row in args.row for path in row[1:]]
    if not files:
        parser.error("no results files")
    try:
        rows, notes = load_rows(files)
    except ValueError as e:
        parser.error(str(e))
    if args.out:  # a picture only: never a results file, a step file or any other file
        out, mark = picture_path(parser, args.out, [path for _, path in files])
        try:
            os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
            run_files.write_text(out, draw(rows, mark))
        except OSError as e:
            parser.error(f"argument --out: cannot write {out}: {e.strerror}")
    print(table(rows, notes), end="")


if __name__ == "__main__":
    main()
