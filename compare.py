"""Steps side by side: `python compare.py FILE ... [--out SVG]` reads results files (any steps, any
seeds, any machines), prints a Markdown table with a row per step and per variant of a step (its
overrides: `step5 rotation=0`), a step's files pooled, and draws one picture of them all.
Not in common.py: no step's run needs it."""
import os

import common
import flags
import pictures
import run_files


def label(results):
    """A row's name: the step, and the hyperparameters its run overrode."""
    overrides = [f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"
                 for k, v in (results.get("overrides") or {}).items()]
    return " ".join([results["step"], *overrides]) + " (dry run)" * bool(results["dry_run"])


def load_rows(paths):
    """{label: row} from results files, each row's files pooled (a seed once, first file first),
    a step name that ran two networks named by their parameters; and notes on the seeds left out:
    those that stopped short of their step's epochs."""
    rows, notes = {}, []
    for path in paths:
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
            name, about = label(results), {
                "parameters": results["parameters"], "devices": results["device"],
                "machines": ", ".join(filter(None, [results["device_name"],
                                                    results.get("cpu_capability")])),
                "torch": results["torch"], "codes": code[:7] + "-dirty" * code.endswith("-dirty")}
        except (TypeError, KeyError, IndexError, ValueError):
            raise ValueError(f"{path} is not a results file of a step")
        short = [r for r in results["runs"] if len(r["epochs"]) < epochs]
        if short or results.get("status") == "interrupted":
            left_out = ", ".join(f"{r['seed']} ({len(r['epochs'])} of {epochs} epochs)"
                                 for r in short)
            notes.append(f"{name}: {path} is {results.get('status', 'of unknown status')}"
                         + (f"; left out: seed {left_out}" if short else ""))
        # one step name, two networks (files from different commits): a row each
        row = rows.setdefault((name, results["parameters"]),
                              {"runs": [], **{key: set() for key in about}})
        seen = {r["seed"] for r in row["runs"]}
        row["runs"] += [r for r in full if r["seed"] not in seen]
        for key, value in about.items():
            row[key].add(value)
    names = [name for name, _ in rows]
    rows = {name if names.count(name) == 1 else f"{name} ({params:,} params)": row
            for (name, params), row in rows.items()}
    for name in [name for name, row in rows.items() if not row["runs"]]:
        notes.append(f"{name}: no seed finished; no row")
        del rows[name]
    if not rows:
        raise ValueError("no seed in these files finished its epochs")
    return rows, notes


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
             f"{common.LAST_EPOCHS} epochs | s/epoch |" + " machine |" * several,
             "| --- " + "| ---: " * 7 + "| --- " * several + "|"]
    for name, row in rows.items():
        f, n = common.figures_over_seeds(row["runs"]), len(row["runs"])
        final = f["final_test_acc"]
        seconds = f"{f['seconds_per_epoch']:.1f}" if len(row["machines"]) == 1 else "mixed"
        sd = f" ± {final['std']:.3f}" if n > 1 else ""  # one seed has no spread
        lines.append(f"| {name} | {', '.join(f'{p:,}' for p in sorted(row['parameters']))} | "
                     f"{final['mean']:.3f}%{sd} | {final['min']:.2f}% | "
                     f"{final['max']:.2f}% | {f['seeds_reaching_target']}/{n} | "
                     f"{f['seeds_holding_target_last_epochs']}/{n} | {seconds} |"
                     + f" {letters[machines[name]]} |" * several)
    lines.append("")
    if several:
        lines += [f"machine {letter}: {m}" for m, letter in letters.items()] + [""]
    for name, row in rows.items():
        mixed = "mixed machines: " * (len(row["machines"]) > 1)
        seeds = flags.compact(sorted(r["seed"] for r in row["runs"]))
        joined = {key: ", ".join(sorted(row[key])) for key in ("devices", "torch", "codes")}
        n, epochs = len(row["runs"]), max(len(r["epochs"]) for r in row["runs"])
        lines.append(f"{name}: seed{'s' * (n > 1)} {seeds}, {epochs} epoch{'s' * (epochs > 1)}, "
                     f"{joined['devices']} ({mixed}{'; '.join(sorted(row['machines']))}), "
                     f"torch {joined['torch']}, code {joined['codes']}")
    return "\n".join(lines + notes) + "\n"


def picture_path(parser, path, files):
    """Where --out's picture goes: path, if it is new or a picture compare.py drew from the same
    files; else the first such <stem>.N.svg, said; never a file compare.py did not draw."""
    if not path.endswith(".svg"):
        parser.error(f"argument --out: {path} does not end in .svg: --out is the picture")
    if blocked := flags.file_in_the_way(path):
        parser.error(f"argument --out: {blocked} is a file, not a folder")
    mark = pictures.comparison_mark(sorted(os.path.relpath(f, os.path.dirname(
        os.path.abspath(path))) for f in files))
    for n in range(10**6):
        taken = path if n == 0 else f"{path[:-4]}.{n}.svg"
        if os.path.isdir(taken) and n == 0:
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
        if n == 0 and pictures.COMPARISON_MARK not in head:
            parser.error(f"argument --out: {path} exists and is not a picture compare.py drew; "
                         "left as it is")
    if taken != path:
        print(f"{path} was drawn from other files, kept as it is; this one draws {taken}")
    return taken, mark


def comparison(rows, mark):
    return pictures.comparison_svg({name: row["runs"] for name, row in rows.items()},
                                   common.TARGET_ACCURACY, mark)


def main(argv=None, draw=comparison, prog="compare.py"):
    """The table printed; with --out, the rows drawn (by `draw`) into a picture of its own."""
    parser = flags.ArgumentParser(prog=prog, description="Put steps side by side: a "
                                  "Markdown table and one picture from results files.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="results files (stepN.py --out)")
    parser.add_argument("--out", metavar="SVG", help="also draw the picture into this SVG file "
                        "(new, or one compare.py drew from the same files)")
    args = parser.parse_args(argv)
    try:
        rows, notes = load_rows(args.files)
    except ValueError as e:
        parser.error(str(e))
    if args.out:  # a picture only: never a results file, a step file or any other file
        out, mark = picture_path(parser, args.out, args.files)
        try:
            os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
            run_files.write_text(out, draw(rows, mark))
        except OSError as e:
            parser.error(f"argument --out: cannot write {out}: {e.strerror}")
    print(table(rows, notes), end="")


if __name__ == "__main__":
    main()
