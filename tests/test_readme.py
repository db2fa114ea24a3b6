"""README.md and results/README.md: every relative link and every file a command names exists,
and every command that runs a step, a script in results/ or compare.py parses (argparse only,
nothing trained); a command that runs a copy the doc makes (`cp step6.py mine.py`) parses as
the original's. A command of an older commit says so, `(of commit 1234abc)` after it, and is
not parsed."""
import glob
import importlib.util
import os
import re
import shlex
import unittest
import xml.etree.ElementTree as ET

import flags
import pictures
from results import compare
from tests.helpers import HERE, SVG

DOCS = ["README.md", os.path.join("results", "README.md")]
COMMAND = re.compile(r"(?:PYTHONPATH=\S+ )?python (\S+\.py)(.*)")
OLDER = re.compile(r"\W{0,3}\(of commit [0-9a-f]{7,40}\b")


def commands(doc):
    """(command, whether it is of an older commit) in the doc's code spans and code blocks."""
    with open(os.path.join(HERE, doc)) as f:
        text = f.read()
    found = []
    for block in re.findall(r"```\n(.*?)```", text, re.S):
        found += [(line.split("#")[0].strip(), False) for line in block.splitlines()]
    prose = re.sub(r"```\n.*?```", "", text, flags=re.S)
    for span in re.finditer(r"`([^`]+)`", prose):
        found.append((" ".join(span[1].split()), bool(OLDER.match(prose[span.end():]))))
    return [(c, old) for c, old in found if COMMAND.match(c)]


def copies(doc):
    """{copy: original} for each step file the doc copies (`cp step6.py mine.py`): a command
    that runs the copy is checked against the original."""
    with open(os.path.join(HERE, doc)) as f:
        return {copy: original for original, copy in
                re.findall(r"^cp (\S+\.py) (\S+\.py)", f.read(), re.M)}


def braces(word):
    """A shell's brace expansion of one word: a{1,2}b -> a1b a2b."""
    match = re.search(r"\{([^{}]*,[^{}]*)\}", word)
    if not match:
        return [word]
    return [w for part in match[1].split(",")
            for w in braces(word[:match.start()] + part + word[match.end():])]


def named_files(argv):
    """The files a command reads: its arguments that are paths, not what it writes (--out, >)."""
    files, skip = [], False
    for word in argv:
        if skip or word in (">", "--out", "--data-dir") or word.startswith(("-", "runs/", "<")):
            skip = word in (">", "--out", "--data-dir")
            continue
        if "/" in word or word.endswith((".py", ".json", ".pt")):
            files += braces(word)
    return files


def parser_of(script):
    """The argparse parser of a step file, a step-like script in results/, or compare.py."""
    if script in ("results/compare.py", "results/step6-twopool/frontier.py"):
        return compare.make_parser()
    with open(os.path.join(HERE, script)) as f:
        if "HPARAMS = " not in f.read():  # not a step-like script: its own arguments
            return None
    spec = importlib.util.spec_from_file_location("script", os.path.join(HERE, script))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return flags.make_parser(os.path.basename(script)[:-3], module.HPARAMS)


class PointersTest(unittest.TestCase):
    def test_every_relative_link_leads_to_a_file(self):
        for doc in DOCS:
            with open(os.path.join(HERE, doc)) as f:
                links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", f.read())
            for link in links:
                if "://" not in link:
                    with self.subTest(doc=doc, link=link):
                        self.assertTrue(os.path.exists(os.path.join(HERE, os.path.dirname(doc),
                                                                    link)))

    def test_every_file_a_command_names_exists_and_every_command_parses(self):
        checked = 0
        for doc in DOCS:
            for command, older in commands(doc):
                script, rest = COMMAND.match(command.replace("stepN", "step5")).groups()
                script = copies(doc).get(script, script)
                if older or "<" in script or "..." in rest or "$" in rest:
                    continue  # another commit's, or a pattern with a blank to fill
                argv = shlex.split(rest.split(" > ")[0])
                with self.subTest(doc=doc, command=command):
                    for path in [script] + named_files(argv):
                        self.assertTrue(glob.glob(os.path.join(HERE, path)), path)
                    parser = parser_of(script)
                    if parser is not None:
                        parser.parse_args([os.path.join(HERE, a) if "*" in a else a
                                           for a in argv])
                        checked += 1
        self.assertGreater(checked, 20)


class NetworksPictureTest(unittest.TestCase):
    def test_the_readmes_networks_are_the_step_files_own(self):
        spec = importlib.util.spec_from_file_location(
            "networks", os.path.join(HERE, "results", "networks.py"))
        networks = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(networks)
        drawn = ET.fromstring(pictures.network_svg(networks.step_networks()))
        with open(os.path.join(HERE, "results", "networks.svg")) as f:
            kept = ET.fromstring(f.read())
        self.assertEqual([t.text for t in kept.iter(f"{SVG}text")],
                         [t.text for t in drawn.iter(f"{SVG}text")])
        texts = [t.text for t in drawn.iter(f"{SVG}text")]
        for step, total in (("step1", "15,530"), ("step2", "8,962"), ("step5", "9,142"),
                            ("step6", "7,494")):
            self.assertIn(f"{step}.py: {total} parameters", texts)


if __name__ == "__main__":
    unittest.main()
