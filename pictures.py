"""The pictures a run draws (its curves, the digits it got wrong): plain SVG from the standard
library, with the frame, legend and marks that results/compare.py's pictures share."""
import base64
import io
import math
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
                text = f"{under[0]:.2f}" + (f"-{under[-1]:.2f}" if len(under) > 1 else "")
                body.extend(svg_below_scale(x_of(1), bottom, text, colour,
                                            f"{split}, epoch 1: {len(under)} below the scale"))
        # the legend where the lines are not: top right for the loss, bottom right for accuracy
        legend_y = top + 18 if key == "loss" else bottom - 42
        body.extend(svg_legend(x0 + panel_w - 70, legend_y,
                               [(s, c, s == "train") for s, c in colours.items()]))

    losses = [e[f"{s}_loss"] for r in records for e in r["epochs"] for s in colours
              if e[f"{s}_loss"] > 0] or [1.0]
    lo_exp, hi_exp = math.floor(math.log10(min(losses))), math.ceil(math.log10(max(losses)))
    if hi_exp == lo_exp:  # a decade at least
        hi_exp += 1
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
    title = [f"{results['step']}: {'seeds' if len(results['seeds']) > 1 else 'seed'} {seeds},",
             f"{results['device']} ({results['device_name']})"]
    if results["dry_run"]:
        title[-1:] = [title[-1] + ",", "dry run"]
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


MARKS = {"ReLU": "ReLU", "BatchNorm2d": "BN", "Dropout2d": "Drop2d", "Dropout": "Drop"}
SLOT, PIXEL = 92, 4  # an item's width in the row; px a pixel of height


def network_items(rows):
    """A network's layer rows (name, output shape, parameters, receptive field), grouped as they
    are drawn: a convolution (its kernel worked out from its parameters) or a pool, each with the
    marks of the layers after it that act on each value (ReLU, BatchNorm, Dropout)."""
    items, channels = [], 1
    for name, shape, params, rf in rows:
        if name in MARKS and items:
            items[-1]["marks"].append(MARKS[name])
            items[-1]["params"] += params
        elif name in ("Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d"):
            items.append({"kind": name, "k": kernel_side(params, channels, shape[0]),
                          "c_in": channels, "shape": shape, "conv": params, "params": params,
                          "rf": rf, "marks": []})
            channels = shape[0]
    return items


def kernel_side(params, c_in, c_out):
    """A convolution's kernel side k from its parameters, c_out x (c_in x k x k + 1 bias) or
    without the bias; 0 for a layer without parameters."""
    for bias in (1, 0):
        k = math.isqrt(max(0, (params // c_out - bias) // c_in))
        if k and c_out * (c_in * k * k + bias) == params:
            return k
    return 0


def network_row(items, total, top, scale):
    """One network's items left to right under top: a box a convolution, its height the
    output's H (times W) and its width its channels, dashed for a 1x1; a pool a funnel."""
    body, floor = [], top + 18 + 28 * PIXEL
    for i, item in enumerate(items):
        (c, h, w), x = item["shape"], 24 + i * SLOT
        box_w, box_h = 4 + c * scale, max(h * PIXEL, 2)
        left, y = x + (SLOT - 12 - box_w) / 2, floor - box_h
        if item["kind"] == "Conv2d":
            dash = ' stroke-dasharray="3 2"' if item["k"] == 1 else ""
            body.append(f'<rect class="conv" x="{left:.1f}" y="{y}" width="{box_w}" '
                        f'height="{box_h}" fill="#1f77b4" fill-opacity="0.35" stroke="#1f77b4"'
                        f'{dash}/>')
            norm = item["params"] - item["conv"]  # BatchNorm's scale and shift, counted here
            lines = [f"{item['k']}x{item['k']} conv", f"{item['c_in']} → {c}",
                     f"{item['params']:,} params",
                     f"({item['conv']:,} + {norm} BN)" if norm else "", f"RF {item['rf']}"]
        else:  # a funnel from the input's height down to the output's
            before = items[i - 1]["shape"][1] * PIXEL if i else box_h
            what = "max-pool" if item["kind"] == "MaxPool2d" else "global avg pool"
            body.append(f'<polygon class="pool" points="{x + 8},{floor - before} {x + SLOT - 20},'
                        f'{y} {x + SLOT - 20},{floor} {x + 8},{floor}" fill="#bbbbbb" '
                        f'stroke="#777777"/>')
            lines = [what, f"{c} channels", "no params", "", f"RF {item['rf']}"]
        mid = x + (SLOT - 12) / 2
        size = f"out {h}x{w}" if len(item["shape"]) > 1 else ""
        body += [f'<text x="{mid:.1f}" y="{floor + 14 + 12 * k}" text-anchor="middle" '
                 f'font-size="10">{escape(line)}</text>' for k, line in enumerate([size] + lines)]
        body.append(f'<text x="{mid:.1f}" y="{y - 4}" text-anchor="middle" font-size="9" '
                    f'fill="#555">{escape(" ".join(item["marks"]))}</text>')
        share = item["params"] / total  # where the parameters are: a bar per item
        body.append(f'<rect class="share" x="{x}" y="{floor + 84}" height="6" fill="#e8710a" '
                    f'width="{max(share * (SLOT - 12), 1):.1f}"><title>{share:.0%} of the '
                    f'parameters</title></rect><text x="{x}" y="{floor + 102}" font-size="10">'
                    f'{share:.0%}</text>')
    return body


def network_svg(networks):
    """Networks, a row each on one scale, from [(name, layer rows as summarize() gives them)]:
    each titled with its name and total parameters."""
    rows = [(name, network_items(layers)) for name, layers in networks]
    scale = min(2.5, 70 / max(i["shape"][0] for _, items in rows for i in items))
    width = max(48 + SLOT * max(len(items) for _, items in rows), 700)
    body, height, step = [], 64 + 250 * len(rows), 250
    for k, ((name, items), (_, layers)) in enumerate(zip(rows, networks)):
        total = sum(layer[2] for layer in layers)
        if len(rows) > 1:
            body.append(f'<text x="24" y="{40 + step * k}" font-size="13">{escape(name)}: '
                        f'{total:,} parameters</text>')
        top = 40 + step * k if len(rows) > 1 else 20  # one network: titled by the picture
        body += network_row(items, total, top, scale)
    for k, line in enumerate(["a box: a convolution, its height its output's size, its width its "
                              "channels (dashed: a 1x1); above it, what follows it; grey: a pool",
                              "its params include its BatchNorm's (BN), so that a row's add up to "
                              "its total; orange: its share of the parameters"]):
        body.append(f'<text x="24" y="{height - 26 + 14 * k}" font-size="10" fill="#555">'
                    f'{escape(line)}</text>')
    title = f"{networks[0][0]}: {total:,} parameters" if len(rows) == 1 else (
        "the networks on one scale, a row each")
    return svg_document(width, height, title, body)
