"""flags.py: the command line of a step."""
import os
import tempfile
import unittest

import flags
import step5
from tests.helpers import TempDir, run, start
from tests.helpers import prepare_data as setUpModule  # noqa: F401 (unittest runs it)


class FlagsTest(TempDir):
    """Every flag's rule, one line and exit 2 when broken, and --help."""

    def test_bad_flags_exit_2_with_one_line(self):
        a_file = self.path("a-file")
        with open(a_file, "w") as f:
            f.write("not results\n")
        for argv in (["--epochs", "0"], ["--batch-size", "-64"], ["--lr", "nan"], ["--lr", "abc"],
                     ["--momentum", "1"], ["--dropout", "-0.1"], ["--weight-decay", "-1"],
                     ["--rotation", "inf"], ["--device", "tpu"], ["--seed", "1", "1"],
                     ["--out", os.path.join(a_file, "r.json")], ["--out", self.tmp],
                     ["--out", a_file], ["--batch-size", "100000"], ["--jobs", "2"],
                     ["--lr", "1e308"], ["--translate", "30"], ["--rotation", "181"]):
            with self.subTest(argv=argv):
                code, stdout, stderr = run(*argv)
                self.assertEqual(code, 2)
                self.assertRegex(stderr, r"^step5\.py: error: .+\n$")
                self.assertEqual(sorted(os.listdir(self.tmp)), ["a-file"])  # nothing made
        with open(a_file) as f:
            self.assertEqual(f.read(), "not results\n")  # --out never replaces what is not a run's

    def test_bad_flag_from_the_command_line(self):
        process = start("--epochs", "0")
        stdout, stderr = process.communicate(timeout=120)
        self.assertEqual((process.returncode, stdout), (2, ""))
        self.assertEqual(len(stderr.splitlines()), 1, stderr)

    def test_out_under_a_file_says_it_is_a_file(self):
        a_file = self.path("README.md")
        open(a_file, "w").close()
        code, _, stderr = run("--out", os.path.join(a_file, "r.json"))
        self.assertEqual(code, 2)
        self.assertEqual(stderr, f"step5.py: error: argument --out: {a_file} is a file, not a "
                                 "folder\n")

    def test_help_gives_units_and_defaults(self):
        code, stdout, _ = run("--help")
        self.assertEqual(code, 0)
        flat = " ".join(stdout.split())
        for text in ("rotation in degrees, from 0 to 180 (default: 6)",
                     "translate in pixels, at least 0 and below 14 (half the image) (default: 1)",
                     "the one-cycle schedule's peak lr, above 0 and at most 10 (default: 0.1)",
                     "(default: data)"):
            self.assertIn(text, flat)


class SeedsTest(unittest.TestCase):
    def parse(self, *seeds):
        out = os.path.join(tempfile.gettempdir(), "no-such-run.json")
        args = flags.parse_args("step5", step5.HPARAMS, ["--seeds", *seeds, "--out", out])[0]
        return args.seeds

    def test_lists_and_ranges(self):
        self.assertEqual(self.parse("1-100"), list(range(1, 101)))
        self.assertEqual(self.parse("1", "2", "5-8"), [1, 2, 5, 6, 7, 8])
        self.assertEqual(self.parse("3-3"), [3])
        self.assertEqual(self.parse(str(2**64 - 1)), [2**64 - 1])
        self.assertEqual(flags.compact([1, 2, 3, 5, 7, 8]), "1-3 5 7 8")

    def test_bad_ranges_exit_2_with_one_line(self):
        for seeds in (["5-1"], ["a-b"], ["1-"], ["-3"], [str(2**64)], ["99999999999999999999999"],
                      ["0-" + str(2**64)], ["1-5", "3"]):
            for flag in ("--seeds", "--seed"):
                with self.subTest(flag=flag, seeds=seeds):
                    code, _, stderr = run(flag, *seeds)
                    self.assertEqual(code, 2)
                    self.assertRegex(stderr, r"^step5\.py: error: argument --seed.*\n$")

    def test_repeated_seed_flags_add_up(self):
        self.assertEqual(self.parse("1", "--seed", "2", "--seeds", "5-6"), [1, 2, 5, 6])
        out = os.path.join(tempfile.gettempdir(), "no-such-run.json")
        self.assertEqual(flags.parse_args("step5", step5.HPARAMS, ["--out", out])[0].seeds, [1])


if __name__ == "__main__":
    unittest.main()
