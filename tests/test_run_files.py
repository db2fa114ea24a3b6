"""run_files.py: a run's files, claimed, locked, numbered, written whole, kept on Ctrl-C."""
import importlib
import os
import shutil
import signal
import subprocess
import sys
import time
import unittest
from unittest import mock

import common
import run_files
from tests.helpers import (DATA, HERE, SHIPPED, TempDir, contents, needs_posix_signals,
                           needs_proc, one_epoch, read_json, read_text, run, start, svg_lines,
                           svg_words, three_batches, wait_for)
from tests.helpers import prepare_data as setUpModule  # noqa: F401 (unittest runs it)


class RunFilesTest(TempDir):
    """No run writes over or moves another's files, and an interruption at any moment is one
    line, exit 130, and a results file that says what finished."""

    def listing(self):
        return contents(self.tmp)

    def test_a_dry_run_never_replaces_a_real_run(self):
        os.chdir(self.tmp)
        self.addCleanup(os.chdir, HERE)
        step3 = importlib.import_module("step3")
        self.assertEqual(run("--dry-run", "--epochs", "1", step=step3)[0], 0)
        self.assertEqual(sorted(os.listdir("runs")), [f"step3-epochs1-dry-run{suffix}" for suffix
                                                      in ("-curves.svg", "-mistakes.svg",
                                                          "-network.svg", "-samples.svg",
                                                          ".json")])

    @needs_posix_signals
    def test_a_rerun_writes_a_new_file_and_an_interrupted_one_keeps_its_epochs(self):
        out, new = self.path("r.json"), self.path("r.1.json")
        with mock.patch.object(common, "train_seed", three_batches):
            self.assertEqual(run("--epochs", "1", "--save-model", "--out", out)[0], 0)
        earlier = contents(self.tmp)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=sig.name):
                process = start("--dry-run", "--epochs", "100000", "--out", out)
                self.assertTrue(wait_for(lambda: (run_files.read_results(new) or {}).get("status")
                                         == "running"))
                process.send_signal(sig)
                stdout, stderr = process.communicate(timeout=120)
                self.assertEqual(process.returncode, 130)
                self.assertIn(f"{out} holds an earlier run, kept as it is; this one writes {new}",
                              stdout)
                self.assertEqual(stderr, f"step5.py: error: interrupted; what finished so far is "
                                         f"in {new}\n")
                results = read_json(new)
                self.assertEqual(results["status"], "interrupted")
                self.assertEqual(results["seeds_finished"], [])
                self.assertGreaterEqual(len(results["runs"][0]["epochs"]), 1)
                now = contents(self.tmp)  # the earlier run's files, as they were
                self.assertEqual({name: now[name] for name in earlier}, earlier)
                self.assertFalse(os.path.exists(self.path("r.2.json")))  # a dry run is not kept
                self.assertEqual([f for f in os.listdir(self.tmp) if f.startswith(".")], [])

    def test_files_get_the_mode_the_umask_gives(self):
        for umask, mode in ((0o022, 0o644), (0o077, 0o600)):
            with self.subTest(umask=oct(umask)):
                out = self.path(f"{mode:o}.json")
                previous = os.umask(umask)
                try:
                    self.assertEqual(run("--dry-run", "--epochs", "1", "--out", out)[0], 0)
                finally:
                    os.umask(previous)
                for suffix in (".json", "-curves.svg", "-samples.svg", "-mistakes.svg",
                               "-network.svg"):
                    path = out.replace(".json", suffix)
                    self.assertEqual(os.stat(path).st_mode & 0o777, mode, path)

    def test_code_is_the_projects_own_commit_or_none(self):
        self.assertRegex(run_files.code_version() or "", r"^[0-9a-f]{40}(-dirty)?$")
        copy = self.path("outer/project")
        os.makedirs(copy)
        for name in ("run_files.py", "flags.py"):
            shutil.copy(os.path.join(HERE, name), copy)
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", self.path("outer")]
        subprocess.run(git + ["init", "-q"], check=True)
        subprocess.run(git + ["add", "."], check=True)
        subprocess.run(git + ["commit", "-qm", "another project"], check=True)
        with mock.patch.object(run_files, "__file__", os.path.join(copy, "run_files.py")):
            self.assertIsNone(run_files.code_version())

    def test_a_second_run_on_a_held_file_stops_at_once_and_moves_nothing(self):
        out = self.path("r.json")
        self.assertEqual(run("--dry-run", "--epochs", "1", "--out", out)[0], 0)
        before = self.listing()
        held = run_files.lock(out)  # as a running run holds it
        try:
            code, stdout, stderr = run("--dry-run", "--epochs", "1", "--out", out)
        finally:
            run_files.release(held)
        self.assertEqual((code, stdout), (2, ""))
        self.assertEqual(stderr, f"step5.py: error: argument --out: {out} is being written by "
                                 f"process {os.getpid()} ({' '.join(sys.argv)}); wait for it to "
                                 f"end or give another --out\n")
        self.assertEqual(self.listing(), before)

    def test_without_fcntl_a_dry_run_completes_and_the_portable_lock_names_its_holder(self):
        blocker = self.path("sitecustomize.py")  # Python imports it first: no fcntl, as on Windows
        with open(blocker, "w") as f:
            f.write("import sys\n\n\nclass NoFcntl:\n    def find_spec(self, name, *rest):\n"
                    "        if name == 'fcntl':\n            raise ImportError('no fcntl')\n\n\n"
                    "sys.meta_path.insert(0, NoFcntl())\n")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([self.tmp, HERE]))
        out = self.path("r.json")
        done = subprocess.run([sys.executable, os.path.join(HERE, "step5.py"), "--dry-run",
                               "--epochs", "1", "--data-dir", DATA, "--out", out],
                              capture_output=True, text=True, env=env, timeout=300)
        self.assertEqual((done.returncode, done.stderr), (0, ""))
        self.assertEqual(read_json(out)["status"], "complete")
        probe = ("import run_files; print(run_files.fcntl); held = run_files.lock('q.json')\n"
                 "try:\n    run_files.lock('q.json')\nexcept ValueError as e:\n    print(e)\n"
                 "run_files.release(held); run_files.release(run_files.lock('q.json'))")
        said = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              env=env, cwd=self.tmp, timeout=120)
        self.assertEqual(said.stderr, "")
        self.assertEqual(said.stdout.splitlines()[0], "None")  # the portable lock, not flock
        self.assertRegex(said.stdout.splitlines()[1], r"^q\.json is being written by process "
                                                      r"\d+ \(-c\); wait for it to end")
        self.assertEqual([f for f in os.listdir(self.tmp) if f.startswith(".")], [])

    def test_a_lock_let_go_of_is_never_shared_and_one_left_marked_is_taken_after_a_second(self):
        out = self.path("r.json")
        first = run_files.lock(out)
        run_files.release(first)
        self.assertFalse(os.path.exists(self.path(".r.json.lock")))  # closed, then removed
        with open(self.path(".r.json.lock"), "wb") as f:  # a holder killed between the two
            f.write(run_files.RELEASED)
        began = time.monotonic()
        held = run_files.lock(out)
        self.assertGreater(time.monotonic() - began, 0.9)  # waited for the remove that never came
        self.assertIn(f"process {os.getpid()}", read_text(self.path(".r.json.lock")))
        run_files.release(held)

    @needs_posix_signals
    def test_a_run_whose_process_died_blocks_nothing(self):
        out = self.path("r.json")
        killed = subprocess.run([sys.executable, "-c", "import run_files, os, signal; "
                                 f"run_files.lock({out!r}); os.kill(os.getpid(), signal.SIGKILL)"],
                                cwd=HERE)
        self.assertEqual(killed.returncode, -signal.SIGKILL)
        self.assertTrue(os.path.exists(self.path(".r.json.lock")))  # left behind, but free
        code, _, stderr = run("--dry-run", "--epochs", "1", "--out", out)
        self.assertEqual(code, 0, stderr)
        self.assertEqual(read_json(out)["status"], "complete")
        self.assertFalse(os.path.exists(self.path(".r.json.lock")))

    def test_a_variant_gets_a_file_of_its_own_and_the_step_keeps_its_own(self):
        os.chdir(self.tmp)
        self.addCleanup(os.chdir, HERE)
        with mock.patch.object(common, "train_seed", one_epoch):
            self.assertEqual(run()[0], 0)
            before = self.listing()
            code, stdout, _ = run("--rotation", "0", "--weight-decay", "0")
        self.assertEqual(code, 0)
        self.assertIn("results: runs/step5-weight-decay0-rotation0.json", stdout)
        self.assertEqual(sorted(f for f in os.listdir("runs") if f.endswith(".json")),
                         ["step5-weight-decay0-rotation0.json", "step5.json"])
        self.assertEqual(read_json("runs/step5.json")["overrides"], {})
        after = self.listing()
        self.assertEqual({name: after[name] for name in before}, before)

    def test_an_evaluation_writes_files_of_its_own_never_a_runs_or_an_earlier_one(self):
        out = self.path("r.json")
        self.assertEqual(run("--dry-run", "--epochs", "1", "--out", out)[0], 0)
        for n, name in enumerate(("r-eval", "r-eval.1")):
            before = self.listing()
            code, stdout, stderr = run("--eval", SHIPPED, "--dry-run", "--out", out)
            self.assertEqual(code, 0, stderr)
            self.assertIn(f"evaluation: {self.path(name + '.json')}", stdout)
            after = self.listing()
            self.assertEqual(sorted(set(after) - set(before)),
                             [self.path(f"{name}-mistakes.svg"), self.path(f"{name}.json")])
            self.assertEqual({k: after[k] for k in before}, before)  # nothing else touched

    def interrupt(self, where, *argv, after=0):
        """Run step 5 in this process with Ctrl-C raised in `where` on its call number `after`."""
        calls, real = [], getattr(common, where)

        def interrupted(*args, **kwargs):
            calls.append(1)
            if len(calls) > after:
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        with mock.patch.object(common, where, interrupted):
            return run("--dry-run", "--epochs", "2", "--out", self.path("r.json"), *argv)

    def test_ctrl_c_at_any_moment_is_one_line_and_exit_130(self):
        for where, argv, after in (("load_mnist", [], 0), ("summarize", [], 0),
                                   ("samples_svg", [], 0), ("train", [], 0), ("train", [], 1),
                                   ("report_errors", [], 0), ("print_figures", ["--seeds", "1",
                                                                                "2"], 0),
                                   ("report_errors", ["--eval", SHIPPED], 0)):
            with self.subTest(where=where, argv=argv, after=after):
                code, _, stderr = self.interrupt(where, *argv, after=after)
                self.assertEqual(code, 130)
                self.assertRegex(stderr, r"^step5\.py: error: interrupted[^\n]*\n$")
                self.assertEqual(signal.getsignal(signal.SIGINT), signal.default_int_handler)
                for name in os.listdir(self.tmp):  # a run's file says it stopped short
                    if name.endswith(".json"):
                        self.assertEqual(read_json(self.path(name))["status"], "interrupted")
                        os.remove(self.path(name))
                self.assertFalse(any(name.startswith(".") for name in os.listdir(self.tmp)))

    def test_before_anything_finished_nothing_is_left(self):
        code, _, stderr = self.interrupt("train")
        self.assertEqual(stderr, "step5.py: error: interrupted before anything finished; nothing "
                                 "was written\n")
        self.assertEqual(os.listdir(self.tmp), [])

    def test_after_every_seed_finished_the_file_says_so(self):
        code, _, stderr = self.interrupt("report_errors", "--seeds", "1", "2")
        self.assertEqual(code, 130)
        self.assertIn("after every seed had finished", stderr)
        results = read_json(self.path("r.json"))
        self.assertEqual(results["status"], "interrupted")
        self.assertEqual(results["seeds_finished"], [1, 2])
        self.assertEqual(results["across_seeds"]["seeds"], [1, 2])

    def test_a_run_that_fails_leaves_nothing_behind_and_says_so_in_one_line(self):
        out = self.path("made/for/it/r.json")
        with mock.patch.object(common, "train", side_effect=RuntimeError("value overflows")):
            code, _, stderr = run("--dry-run", "--epochs", "1", "--out", out)
        self.assertEqual(code, 1)
        self.assertEqual(stderr, "step5.py: error: failed before anything finished; nothing was "
                                 "written (RuntimeError: value overflows)\n")
        self.assertEqual(os.listdir(self.tmp), [])  # its pictures and the folders it made, gone

    def test_a_run_that_fails_late_keeps_what_finished(self):
        out, calls = self.path("r.json"), []

        def fails(*args):
            calls.append(1)
            raise OSError(28, "No space left on device")

        with mock.patch.object(common, "report_errors", fails):
            code, _, stderr = run("--dry-run", "--epochs", "1", "--seeds", "1", "2", "--out", out)
        self.assertEqual((code, calls), (1, [1]))
        self.assertIn("failed after every seed had finished", stderr)
        self.assertEqual(read_json(out)["status"], "failed")

    def test_orphan_pictures_are_kept_and_named_as_what_they_are(self):
        out = self.path("r.json")
        with open(self.path("r-samples.svg"), "w") as f:
            f.write("<svg/>")
        code, stdout, _ = run("--dry-run", "--epochs", "1", "--out", out)
        self.assertEqual(code, 0)
        self.assertIn(f"{out} has no results file, but an earlier run's files are beside it, kept "
                      f"as it is; this one writes {self.path('r.1.json')}", stdout)
        with open(self.path("r-samples.svg")) as f:
            self.assertEqual(f.read(), "<svg/>")

    def test_an_interrupted_runs_curves_say_how_many_seeds_finished(self):
        code, _, _ = self.interrupt("train", "--seeds", "1", "2", "3", after=3)  # in seed 2
        self.assertEqual(code, 130)
        self.assertIn("(interrupted: 1 of 3 seeds finished)", svg_words(self.path("r-curves.svg")))

    def test_a_long_machine_name_is_said_in_full_and_phrases_stay_whole(self):
        name = "A Processor Whose Name Runs On " * 3 + "(family 6, model 207), 2 cores"
        self.assertEqual(len(name), 123)
        real = run_files.machine
        with mock.patch.object(run_files, "machine", lambda device: dict(
                real(device), device_name=name)):
            code, _, stderr = self.interrupt("train", "--seeds", "1", "2", "3", "--device", "cpu",
                                             after=3)  # a CPU's name, whatever `auto` finds
        self.assertEqual(code, 130, stderr)
        self.assertEqual(read_json(self.path("r.json"))["device_name"], name)
        title = f"step5: seeds 1-3, cpu ({name}), dry run (interrupted: 1 of 3 seeds finished)"
        curves = self.path("r-curves.svg")
        self.assertIn(title, svg_words(curves))
        lines = svg_lines(curves)
        for phrase in ("step5: seeds 1-3,", "dry run", "(interrupted: 1 of 3 seeds finished)"):
            self.assertTrue(any(phrase in line for line in lines), (phrase, lines))

    def test_an_interrupted_run_removes_the_empty_folder_it_made(self):
        with mock.patch.object(common, "load_mnist", side_effect=KeyboardInterrupt):
            code, _, _ = run("--out", self.path("new/sub/r.json"))
        self.assertEqual(code, 130)
        self.assertEqual(os.listdir(self.tmp), [])

    @needs_proc
    def test_a_folder_that_takes_no_files_is_named_so(self):
        code, _, stderr = run("--out", "/proc/r.json")
        self.assertEqual(code, 2)
        self.assertEqual(stderr, "step5.py: error: argument --out: cannot write to /proc: it "
                                 "takes no new files\n")

    @needs_posix_signals
    def test_ctrl_c_as_a_finished_run_exits_changes_nothing_and_prints_no_traceback(self):
        out = self.path("r.json")

        def files():  # not the lock: the run lets go of it as it exits
            return {name: read_text(self.path(name)) for name in os.listdir(self.tmp)
                    if not name.startswith(".")}

        with start("--dry-run", "--epochs", "1", "--out", out,
                   env=dict(os.environ, PYTHONUNBUFFERED="1")) as process:  # each line as printed
            said = next((line for line in process.stdout if line.startswith("results:")), None)
            self.assertIsNotNone(said)
            written, presses = files(), 0
            while process.poll() is None:  # Ctrl-C every 20 ms until the process has gone
                process.send_signal(signal.SIGINT)
                presses += 1
                time.sleep(0.02)
            _, stderr = process.communicate(timeout=120)
        self.assertEqual((process.returncode, stderr), (0, ""), f"after {presses} presses")
        self.assertEqual(files(), written)
        self.assertEqual(read_json(out)["status"], "complete")

    @needs_proc
    @needs_posix_signals
    def test_ctrl_c_or_kill_while_torch_loads_is_one_line_and_exit_130(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(signal=sig.name):
                process = start("--dry-run", "--out", self.path("r.json"))
                maps = f"/proc/{process.pid}/maps"  # torch's library mapped: its import under way
                self.assertTrue(wait_for(lambda: "libtorch" in read_text(maps), seconds=300))
                process.send_signal(sig)
                _, stderr = process.communicate(timeout=120)
                self.assertEqual(process.returncode, 130)
                self.assertRegex(stderr, r"^step5\.py: error: interrupted[^\n]*\n$")


if __name__ == "__main__":
    unittest.main()
