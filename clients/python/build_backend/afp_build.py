"""A PEP 517 build backend for afp_client, standard library only.

pip builds a package in an isolated environment into which it installs the backend's
requirements from an index. This backend has none, so the client installs on a machine with
no index: it writes the wheel (a zip of afp_client/ with its dist-info) and the sdist itself.
The version is afp_client.__version__ (pyproject.toml declares it dynamic).
"""
import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "afp_client"
SUMMARY = "Push an audio-fingerprinting service's timings to afp_exporter (HTTP or statsd)"


def _version():
    """afp_client.__version__, the one place the version is written."""
    with open(os.path.join(ROOT, PACKAGE, "__init__.py"), encoding="utf-8") as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def _metadata():
    return (f"Metadata-Version: 2.1\nName: {PACKAGE}\nVersion: {_version()}\n"
            f"Summary: {SUMMARY}\nRequires-Python: >=3.8\n")


def _dist_info():
    return f"{PACKAGE}-{_version()}.dist-info"


def _package_files():
    base = os.path.join(ROOT, PACKAGE)
    for name in sorted(os.listdir(base)):
        if name.endswith(".py"):
            yield f"{PACKAGE}/{name}", os.path.join(base, name)


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    directory = os.path.join(metadata_directory, _dist_info())
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata())
    return _dist_info()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    wheel_name = f"{PACKAGE}-{_version()}-py3-none-any.whl"
    dist_info = _dist_info()
    entries = [(arc, open(path, "rb").read()) for arc, path in _package_files()]
    entries.append((f"{dist_info}/METADATA", _metadata().encode()))
    entries.append((f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: afp_build\n"
                    b"Root-Is-Purelib: true\nTag: py3-none-any\n"))
    entries.append((f"{dist_info}/top_level.txt", f"{PACKAGE}\n".encode()))
    record = [_record_line(arc, data) for arc, data in entries] + [f"{dist_info}/RECORD,,"]
    entries.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w",
                         zipfile.ZIP_DEFLATED) as wheel:
        for arc, data in entries:
            wheel.writestr(zipfile.ZipInfo(arc, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return wheel_name


def build_sdist(sdist_directory, config_settings=None):
    stem = f"{PACKAGE}-{_version()}"
    files = ["pyproject.toml", "build_backend/afp_build.py"]
    files += [arc for arc, _ in _package_files()]
    path = os.path.join(sdist_directory, f"{stem}.tar.gz")
    with tarfile.open(path, "w:gz") as sdist:
        for name in files:
            sdist.add(os.path.join(ROOT, name), arcname=f"{stem}/{name}")
        info = tarfile.TarInfo(f"{stem}/PKG-INFO")
        data = _metadata().encode()
        info.size = len(data)
        sdist.addfile(info, io.BytesIO(data))
    return os.path.basename(path)
