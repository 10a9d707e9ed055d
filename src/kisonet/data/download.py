"""Downloader with mirrors, SHA-256 verification, a cache directory and a progress bar.

Guarantees:

* a file is streamed to a temporary ``.part`` file next to its destination,
  verified, then atomically renamed: nothing half-written or unverified is ever
  left under the final name (an interrupted transfer leaves nothing at all);
* a cached file whose checksum no longer matches is removed, reported with a
  warning, and fetched again;
* mirrors are tried in order; when none can be reached the :class:`DataError`
  lists each file, where to download it from and where to put it.

The cache is ``$KISONET_DATA`` when set, else ``$XDG_CACHE_HOME/kisonet`` or
``~/.cache/kisonet``.  ``KISONET_OFFLINE=1`` forbids network access.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import tempfile
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DataError
from ..lang import tr

CHUNK = 1 << 16


@dataclass(frozen=True)
class RemoteFile:
    """A published file: its name, SHA-256, size in bytes and mirror URLs (tried in order).

    ``raw_sha256`` is the SHA-256 of the *uncompressed* bytes of a ``.gz`` file
    where known; it accepts copies that were re-compressed (different gzip bytes,
    same content).
    """

    filename: str
    sha256: str
    size: int | None
    urls: tuple[str, ...]
    raw_sha256: str | None = None
    md5: str | None = field(default=None, compare=False)


def _mirrors(bases: Sequence[str], filename: str) -> tuple[str, ...]:
    return tuple(b + filename for b in bases)


_MNIST = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
_FASHION = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)
_CIFAR = ("https://www.cs.toronto.edu/~kriz/",)

# Published checksums of the distributed files (MNIST/Fashion-MNIST/CIFAR-10 binary).
REMOTE_FILES: dict[str, tuple[RemoteFile, ...]] = {
    "mnist": (
        RemoteFile(
            "train-images-idx3-ubyte.gz",
            "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            9912422,
            _mirrors(_MNIST, "train-images-idx3-ubyte.gz"),
            md5="f68b3c2dcbeaaa9fbdd348bbdeb94873",
        ),
        RemoteFile(
            "train-labels-idx1-ubyte.gz",
            "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            28881,
            _mirrors(_MNIST, "train-labels-idx1-ubyte.gz"),
            md5="d53e105ee54ea40749a09fcbcd1e9432",
        ),
        RemoteFile(
            "t10k-images-idx3-ubyte.gz",
            "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            1648877,
            _mirrors(_MNIST, "t10k-images-idx3-ubyte.gz"),
            raw_sha256="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            md5="9fb629c4189551a2d022fa330f9573f3",
        ),
        RemoteFile(
            "t10k-labels-idx1-ubyte.gz",
            "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            4542,
            _mirrors(_MNIST, "t10k-labels-idx1-ubyte.gz"),
            raw_sha256="ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
            md5="ec29112dd5afa0611ce80d1b7f02629c",
        ),
    ),
    "fashion-mnist": (
        RemoteFile(
            "train-images-idx3-ubyte.gz",
            "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            26421880,
            _mirrors(_FASHION, "train-images-idx3-ubyte.gz"),
            md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        ),
        RemoteFile(
            "train-labels-idx1-ubyte.gz",
            "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            29515,
            _mirrors(_FASHION, "train-labels-idx1-ubyte.gz"),
            md5="25c81989df183df01b3e8a0aad5dffbe",
        ),
        RemoteFile(
            "t10k-images-idx3-ubyte.gz",
            "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            4422102,
            _mirrors(_FASHION, "t10k-images-idx3-ubyte.gz"),
            md5="bef4ecab320f06d8554ea6380940ec79",
        ),
        RemoteFile(
            "t10k-labels-idx1-ubyte.gz",
            "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            5148,
            _mirrors(_FASHION, "t10k-labels-idx1-ubyte.gz"),
            md5="bb300cfdad3c16e7a12a480ee83cd310",
        ),
    ),
    "cifar10": (
        RemoteFile(
            "cifar-10-binary.tar.gz",
            "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
            170052171,
            _mirrors(_CIFAR, "cifar-10-binary.tar.gz"),
            md5="c32a1d4ab5d03f1284b67883e8d87530",
        ),
    ),
}


def cache_dir() -> Path:
    """Where downloads go: ``$KISONET_DATA``, else the user cache dir + ``/kisonet``."""
    env = os.environ.get("KISONET_DATA")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base).expanduser() if base else Path.home() / ".cache") / "kisonet"


def offline() -> bool:
    """True when ``KISONET_OFFLINE`` forbids the network."""
    return os.environ.get("KISONET_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def raw_sha256(path: str | os.PathLike) -> str | None:
    """SHA-256 of a gzip file's *uncompressed* bytes (None when it is not valid gzip)."""
    h = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except (OSError, EOFError, zlib.error):
        return None
    return h.hexdigest()


def verify(path: str | os.PathLike, remote: RemoteFile) -> bool:
    """True when ``path`` has the published bytes, or the published uncompressed content when known."""
    digest = sha256_file(path)
    if digest == remote.sha256:
        return True
    if remote.raw_sha256 is None:
        return False
    # an uncompressed copy, or one gzipped again (other gzip bytes, same content)
    return digest == remote.raw_sha256 or raw_sha256(path) == remote.raw_sha256


def _network_errors() -> tuple[type[BaseException], ...]:
    # urllib/http.client load ~100 ms of modules (ssl, email, certifi): only when downloading.
    import http.client
    import socket
    import urllib.error

    return (ValueError, urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, http.client.HTTPException)


def _stream(url: str, dest: Path, expected_size: int | None, progress: bool, timeout: float) -> Path:
    """Stream ``url`` into a temporary file beside ``dest``; return the temp path (caller renames)."""
    import http.client
    import urllib.request

    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp_path = Path(tmp)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else expected_size
            from tqdm.auto import tqdm

            received = 0
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=dest.name,
                disable=None if progress else True,
                leave=False,
            ) as bar:
                while True:
                    chunk = resp.read(CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            if length and length.isdigit() and received != int(length):
                raise http.client.IncompleteRead(b"", int(length) - received)
        return tmp_path
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def download_file(
    remote: RemoteFile,
    directory: str | os.PathLike,
    progress: bool = True,
    timeout: float = 30.0,
) -> Path:
    """Download ``remote`` into ``directory`` trying each mirror; return the verified path.

    The file appears under its final name only after its SHA-256 matched.
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(tr("cannot create the data directory {0}: {1}", directory, e.strerror or e)) from e
    dest = directory / remote.filename
    errors: list[str] = []
    network_only = True
    for url in remote.urls:
        try:
            tmp = _stream(url, dest, remote.size, progress, timeout)
        except _network_errors() as e:
            errors.append(f"{url}: {_describe(e)}")
            continue
        except OSError as e:  # writing the temp file failed: no point trying other mirrors
            raise DataError(tr("cannot write into {0}: {1}", directory, e.strerror or e)) from e
        got = sha256_file(tmp)
        if got != remote.sha256:
            tmp.unlink()
            network_only = False
            errors.append(f"{url}: SHA-256 mismatch (got {got}, expected {remote.sha256})")
            continue
        os.replace(tmp, dest)
        return dest
    tried = "\n  ".join(errors)
    if network_only:
        err = DataError(
            tr(
                "could not download {0} (network unreachable?):\n  {1}\n{2}",
                remote.filename,
                tried,
                instructions([remote], directory),
            )
        )
        err.unreachable = True  # the caller may widen the instructions to every missing file
        err.attempts = errors
        raise err
    raise DataError(tr("could not download a verified copy of {0}:\n  {1}", remote.filename, tried))


def _describe(e: BaseException) -> str:
    import http.client
    import urllib.error

    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if isinstance(e, urllib.error.URLError):
        return tr("unreachable ({0})", e.reason)
    if isinstance(e, http.client.IncompleteRead):
        return tr("transfer interrupted ({0} bytes read, {1} more expected)", len(e.partial), e.expected)
    return f"{type(e).__name__}: {e}"


def instructions(remotes: Sequence[RemoteFile], directory: str | os.PathLike) -> str:
    """Human instructions: which files to fetch from where, and where to put them."""
    lines = [tr("Download these files by hand:")]
    for r in remotes:
        size = tr(" ({0:,} bytes)", r.size) if r.size else ""
        lines.append(f"  {r.filename}{size}, sha256 {r.sha256}")
        lines.extend(tr("      from {0}", u) for u in r.urls)
    lines.append(
        tr(
            "and put them in {0} (or in any folder passed as data_dir=..., or set KISONET_DATA to a folder).",
            directory,
        )
    )
    return "\n".join(lines)


def fetch(
    remote: RemoteFile,
    directory: str | os.PathLike | None = None,
    download: bool = True,
    progress: bool = True,
    timeout: float = 30.0,
) -> Path:
    """The verified local copy of ``remote`` in ``directory`` (default: the cache), downloading when needed.

    A cached copy that fails verification is removed, reported with a warning and fetched again.
    """
    directory = Path(directory) if directory is not None else cache_dir()
    dest = directory / remote.filename
    if dest.is_file():
        if verify(dest, remote):
            return dest
        warnings.warn(
            tr("kisonet: cached {0} does not match its published SHA-256 {1}; removed it", dest, remote.sha256),
            stacklevel=2,
        )
        try:
            dest.unlink()
        except OSError as e:
            raise DataError(
                tr("{0} is corrupted (SHA-256 mismatch) and cannot be removed: {1}", dest, e.strerror or e)
            ) from e
    if not download or offline():
        why = "download=False" if not download else tr("KISONET_OFFLINE is set")
        raise DataError(
            tr("{0} is not in {1} and {2}.\n{3}", remote.filename, directory, why, instructions([remote], directory))
        )
    return download_file(remote, directory, progress=progress, timeout=timeout)
