"""The pictures a run draws (its curves, the digits it got wrong) and compare.py's picture of
several steps: plain SVG from the standard library, sharing one frame, legend and marks."""
import base64
import io
import math
import statistics
import textwrap
from xml.sax.saxutils import escape

from torchvision.utils import save_image


def accuracy_scale(floor, peak, ticks):
    """The scale's bottom and top, round ticks (1, 2 or 5 times a power of ten, about `ticks` of
    them) from below floor to above peak, at most 100%, and how a tick reads."""
    raw = (peak - floor) / ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    lo, hi = math.floor(floor / step) * step, min(100.0, math.ceil(peak / step) * step)
    decimals = max(0, -math.floor(math.log10(step)))
    return lo, hi, [lo + i * step for i in range(round((hi - lo) / step) + 1)], (
        lambda v: f"{v:.{decimals}f}")


def wrap_phrases(phrases, width):
    """Lines of at most width characters, broken between phrases; a phrase longer than a line
    goes on from where the line stands, broken between its words."""
    lines = []
    for phrase in phrases:
        if lines and len(lines[-1]) + 1 + len(phrase) <= width:
            lines[-1] += " " + phrase
        elif lines and len(phrase) > width:
            lines[-1:] = textwrap.wrap(lines[-1] + " " + phrase, width)
        else:
            lines += textwrap.wrap(phrase, width)
    return lines or [""]


def svg_document(width, height, title, body):
    """The picture, its title (a text, or a list of phrases kept whole where they fit) wrapped to
    fit the width (14 px type: about 7.7 px a character), the body moved down by its lines."""
    lines = wrap_phrases([title] if isinstance(title, str) else title, int(width / 7.7))
    extra, height = 18 * (len(lines) - 1), height + 18 * (len(lines) - 1)
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        *[f'<text x="{width / 2}" y="{20 + 18 * i}" text-anchor="middle" font-size="14">'
          f'{escape(line)}</text>' for i, line in enumerate(lines)],
        *([f'<g transform="translate(0,{extra})">', *body, "</g>"] if extra else body),
        "</svg>"]) + "\n"


def svg_panel(box, y_of, y_ticks, y_text, y_label, x_of=None, epochs=0, clip=None, target=None,
              target_label=True):
    """A panel's frame: border, y grid and ticks, epoch ticks, both axis labels, the target line
    (labelled outside the frame, clear of the lines) and, if named, a clip path for its lines."""
    left, top, w, h = box
    out = [f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#888"/>']
    if clip:
        out.append(f'<clipPath id="{clip}"><rect x="{left}" y="{top}" width="{w}" height="{h}"/>'
                   f'</clipPath>')
    for value, y in ((value, y_of(value)) for value in y_ticks):
        out += [f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>',
                f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{y_text(value)}</text>']
    out += [f'<text x="{x_of(epoch):.1f}" y="{top + h + 16}" text-anchor="middle">{epoch}</text>'
            for epoch in range(1, epochs + 1) if epochs <= 20 or epoch % 5 == 0 or epoch == 1]
    if epochs:
        out.append(f'<text x="{left + w / 2}" y="{top + h + 34}" text-anchor="middle">epoch</text>')
    out.append(f'<text transform="translate({left - 44},{top + h / 2}) rotate(-90)" '
               f'text-anchor="middle">{escape(y_label)}</text>')
    if target is None:
        return out
    y = y_of(target)
    return out + [f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" '
                  f'stroke="#d62728" stroke-dasharray="6 3"/>'] + [
        f'<text x="{left + w + 3}" y="{y + 4:.1f}" fill="#d62728">{target}%</text>'] * target_label


def epoch_share(epoch, epochs):
    """Where an epoch sits across a panel, 0 to 1; a run of one epoch in the middle."""
    return (epoch - 1) / (epochs - 1) if epochs > 1 else 0.5


def svg_polyline(points, colour, title, clip, extra=""):
    """A line through the points; a single point, which a polyline would not draw, a dot."""
    if len(points) == 1:
        return (f'<circle clip-path="url(#{clip})" cx="{points[0][0]:.1f}" cy="{points[0][1]:.1f}" '
                f'r="3" fill="{colour}"{extra}><title>{escape(title)}</title></circle>')
    return (f'<polyline clip-path="url(#{clip})" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            + f'" fill="none" stroke="{colour}"{extra}><title>{escape(title)}</title></polyline>')


def svg_legend(x, y, entries):
    """A line per entry, its swatch drawn as its lines are: (text, colour, dashed)."""
    out = []
    for i, (text, colour, dashed) in enumerate(entries):
        out += [f'<line x1="{x}" x2="{x + 20}" y1="{y + 16 * i - 4}" y2="{y + 16 * i - 4}" '
                f'stroke="{colour}" stroke-width="2"' + ' stroke-dasharray="5 3"' * dashed + '/>',
                f'<text x="{x + 24}" y="{y + 16 * i}">{escape(text)}</text>']
    return out


def svg_below_scale(x, bottom, text, colour, title, cls="below"):
    """A value under the panel's scale: a triangle on its bottom edge, and the value."""
    return [f'<polygon class="{cls}" points="{x - 4:.1f},{bottom - 9} {x + 4:.1f},{bottom - 9} '
            f'{x:.1f},{bottom - 2}" fill="{colour}"><title>{escape(title)}</title></polygon>',
            f'<text x="{x + 6:.1f}" y="{bottom - 4}" font-size="10">{text}</text>']


def curves_svg(title, records, epochs, target):
    """Loss (log scale) and accuracy per epoch, train dashed and test solid, a line per seed."""
    width, height, left, top, panel_h, gap = 920, 350, 70, 40, 260, 110
    panel_w = (width - left - gap - 40) / 2
    colours = {"train": "#1f77b4", "test": "#e8710a"}
    opacity = max(0.25, 1 / math.sqrt(len(records) or 1))
    bottom, body = top + panel_h, []

    def panel(index, key, y_of, ticks, y_text, y_label, lo=None):
        x0 = left + index * (panel_w + gap)
        x_of = lambda epoch: x0 + epoch_share(epoch, epochs) * panel_w  # noqa: E731
        body.extend(svg_panel((x0, top, panel_w, panel_h), y_of, ticks, y_text, y_label, x_of,
                              epochs, f"clip{index}", target if key == "acc" else None))
        for split, colour in colours.items():
            style = f' stroke-width="1.5" stroke-opacity="{opacity:.2f}"' + (
                ' stroke-dasharray="5 3"' if split == "train" else "")
            for r in records:
                points = [(x_of(e["epoch"]), y_of(e[f"{split}_{key}"])) for e in r["epochs"]]
                body.append(svg_polyline(points, colour, f"seed {r['seed']}, {split}",
                                         f"clip{index}", style))
            # only a first epoch can be under the scale: marked on the bottom edge, with its values
            under = sorted(v for v in (r["epochs"][0][f"{split}_{key}"] for r in records)
                           if lo is not None and v < lo)
            if under:
                text = f"{under[0]:.2f}" + f"-{under[-1]:.2f}" * (len(under) > 1)
                body.extend(svg_below_scale(x_of(1), bottom, text, colour,
                                            f"{split}, epoch 1: {len(under)} below the scale"))
        # the legend where the lines are not: top right for the loss, bottom right for accuracy
        legend_y = top + 18 if key == "loss" else bottom - 42
        body.extend(svg_legend(x0 + panel_w - 70, legend_y,
                               [(s, c, s == "train") for s, c in colours.items()]))

    losses = [e[f"{s}_loss"] for r in records for e in r["epochs"] for s in colours
              if e[f"{s}_loss"] > 0] or [1.0]
    lo_exp, hi_exp = math.floor(math.log10(min(losses))), math.ceil(math.log10(max(losses)))
    hi_exp += hi_exp == lo_exp
    panel(0, "loss", lambda v: top + panel_h * (hi_exp - math.log10(v)) / (hi_exp - lo_exp),
          [10 ** k for k in range(lo_exp, hi_exp + 1)], lambda v: f"{v:g}", "loss (log scale)")
    # accuracy: the scale is set by the epochs after the first, so that the end shows
    accs = [e[f"{s}_acc"] for r in records for e in r["epochs"][1:] or r["epochs"] for s in colours]
    lo, hi, ticks, text = accuracy_scale(min(accs + [target - 0.4]), 100, 5)
    panel(1, "acc", lambda v: top + panel_h * (hi - max(v, lo)) / (hi - lo), ticks, text,
          "accuracy (%)", lo)
    return svg_document(width, height, title, body)


def run_curves_svg(results, seeds, target):
    """A results file's curves, titled with its step, seeds (as text), device and, if it stopped
    short, how many seeds finished."""
    runs, epochs, status = results["runs"], results["hyperparameters"]["epochs"], results["status"]
    finished = results.get("seeds_finished",
                           [r["seed"] for r in runs if len(r["epochs"]) == epochs])
    plural = "s" if len(results["seeds"]) > 1 else ""
    title = [f"{results['step']}: seed{plural} {seeds},",
             f"{results['device']} ({results['device_name']})"]
    if results["dry_run"]:
        title[-1] += ","
        title.append("dry run")
    if status in ("interrupted", "failed"):
        title.append(f"({status}: {len(finished)} of {len(results['seeds'])} seeds finished)")
    return curves_svg(title, runs, epochs, target)


def digits_svg(title, images, captions, columns=8):
    """Digits in a grid, each with its caption beneath; every image a small PNG inside the SVG."""
    cell, text_h, pad = 56, 16, 8
    rows = math.ceil(len(captions) / columns) or 1
    width, height = pad + columns * (cell + pad), 30 + rows * (cell + text_h + pad)
    body = []
    for k, caption in enumerate(captions):
        png = io.BytesIO()
        save_image(images[k], png, format="png")
        x, y = pad + (k % columns) * (cell + pad), 30 + (k // columns) * (cell + text_h + pad)
        body.append(f'<image x="{x}" y="{y}" width="{cell}" height="{cell}" '
                    f'style="image-rendering: pixelated" href="data:image/png;base64,'
                    f'{base64.b64encode(png.getvalue()).decode()}"/>')
        body.append(f'<text x="{x + cell / 2}" y="{y + cell + 13}" text-anchor="middle">'
                    f'{escape(caption)}</text>')
    return svg_document(width, height, title, body)


def mistakes_svg(title, images, labels, predicted, tested, most=100):
    """The first `most` missed digits as the network saw them, each with its true and predicted
    digit, titled as the terminal says it."""
    shown = min(len(labels), most)
    more = f" (the first {shown} shown)" if shown < len(labels) else ""
    return digits_svg(f"what {title} gets wrong: {len(labels)} of {tested:,} test images, true "
                      f"as predicted{more}",
                      images, [f"{labels[k]} as {predicted[k]}" for k in range(shown)], 10)


PALETTE = ["#1f77b4", "#e8710a", "#2ca02c", "#9467bd", "#222222", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#7f7f7f"]  # no red: red is the target
COMPARISON_MARK = "<desc>drawn by compare.py"  # what compare.py --out may replace


def comparison_mark(files):
    return f"{COMPARISON_MARK} from {escape(' '.join(files))}</desc>"


def comparison_svg(rows, target, mark=COMPARISON_MARK + "</desc>"):
    """Left: each row's test accuracy per epoch, median line over a min-max band; right: every
    seed's final accuracy as a dot, a column per row; the target across both. The scale shows at
    most 2 points below the target: a final below that is a triangle on the bottom edge, with its
    value, so that one stalled seed does not flatten the others. rows: {label: runs}."""
    lines = math.ceil(len(rows) / 3)  # the legend: three columns under the panels
    width, height, left, top, panel_h, gap, left_w = 940, 400 + 16 * lines, 70, 40, 290, 70, 470
    right_w = width - left - left_w - gap - 50
    colour = {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(rows)}
    epochs = max(len(r["epochs"]) for runs in rows.values() for r in runs)
    finals = [r["epochs"][-1]["test_acc"] for runs in rows.values() for r in runs]
    peak = max([e["test_acc"] for runs in rows.values() for r in runs for e in r["epochs"]]
               + [target]) + 0.1  # runs that never came near the target still get a scale
    floor = min(max(min(finals) - 0.2, target - 2), target - 0.6)
    lo, hi, ticks, text = accuracy_scale(floor, peak, 8)
    bottom, right = top + panel_h, left + left_w + gap
    y_of = lambda acc: top + panel_h * (hi - max(acc, lo)) / (hi - lo)  # noqa: E731
    x_of = lambda epoch: left + epoch_share(epoch, epochs) * left_w  # noqa: E731
    body = [mark] + svg_panel(  # the target labelled once, right of the right panel
        (left, top, left_w, panel_h), y_of, ticks, text, "test accuracy (%)", x_of, epochs,
        clip="plot", target=target, target_label=False)
    body += svg_panel((right, top, right_w, panel_h), y_of, ticks, text, "final test accuracy (%)",
                      target=target)
    column = right_w / len(rows)
    for i, (label, runs) in enumerate(rows.items()):
        body += per_epoch_band(label, runs, colour[label], x_of, y_of, lo, bottom)
        centre = right + column * (i + 0.5)
        body += final_dots(label, runs, colour[label], centre, column * 0.6, y_of, lo, bottom)
        body.append(f'<text x="{centre:.1f}" y="{bottom + 16}" text-anchor="middle">{i + 1}</text>')
    legend = [(f"{i + 1}: {label}", colour[label], False) for i, label in enumerate(rows)]
    for k in range(3):  # read across: 1 2 3, then 4 5 6 beneath them
        body += svg_legend(left + k * 280, bottom + 62, legend[k::3])
    body.append(f'<text x="{right + right_w / 2}" y="{bottom + 34}" text-anchor="middle">final, '
                f'a dot per seed, a column per row</text>')
    return svg_document(width, height, "test accuracy over seeds: per epoch (median, min-max band) "
                        "and final", body)


def per_epoch_band(label, runs, colour, x_of, y_of, lo, bottom):
    """A row's test accuracy per epoch: its min-max band over the seeds, and its median line."""
    per_epoch = [(k + 1, [r["epochs"][k]["test_acc"] for r in runs if len(r["epochs"]) > k])
                 for k in range(max(len(r["epochs"]) for r in runs))]
    band = [(x_of(e), y_of(max(a))) for e, a in per_epoch] + [
        (x_of(e), y_of(min(a))) for e, a in reversed(per_epoch)]
    body = ['<polygon class="band" clip-path="url(#plot)" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in band) + f'" fill="{colour}" '
            f'fill-opacity="0.14" stroke="none"><title>{escape(label)}: min-max over '
            f'{len(runs)} seeds</title></polygon>']
    medians = [(e, statistics.median(a)) for e, a in per_epoch]
    body.append(svg_polyline([(x_of(e), y_of(m)) for e, m in medians], colour,
                             f"{label}: median", "plot", ' class="median" stroke-width="2"'))
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
