"""The copy of websocket-client kept in the codex skill (scripts/vendor-websocket-client.sh
refreshes it): the pinned version, every file its wheel's RECORD lists except its test suite
and console script, unchanged, its license, and nothing else."""
import base64
import hashlib
import re

from tests.helpers import SKILLS

VENDOR = SKILLS / "codex-ws-client" / "scripts" / "_vendor"
DROPPED = ("websocket/tests/", "../../bin/")  # not needed by the skill
PIP_BOOKKEEPING = {"INSTALLER", "REQUESTED", "direct_url.json", "entry_points.txt"}


def pinned_version():
    line = (VENDOR / "vendor.txt").read_text().strip()
    match = re.fullmatch(r"websocket-client==([0-9][0-9.]*)", line)
    assert match, line
    return match.group(1)


def record_of(dist_info):
    """{path relative to _vendor: urlsafe-base64 sha256} of the files the wheel installed."""
    entries = {}
    for line in (dist_info / "RECORD").read_text().splitlines():
        path, digest, _size = line.rsplit(",", 2)
        if digest and not path.startswith(DROPPED) and path.rsplit("/", 1)[-1] not in PIP_BOOKKEEPING:
            assert digest.startswith("sha256="), line
            entries[path] = digest[len("sha256="):]
    return entries


def digest_of(path):
    return base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=").decode()


def vendored_files():
    return {path.relative_to(VENDOR).as_posix(): path for path in VENDOR.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts}


def test_the_vendored_copy_is_the_pinned_version():
    version = pinned_version()
    dist_infos = sorted(path.name for path in VENDOR.glob("*.dist-info"))
    assert dist_infos == [f"websocket_client-{version}.dist-info"]
    metadata = (VENDOR / dist_infos[0] / "METADATA").read_text()
    assert f"\nVersion: {version}\n" in metadata


def test_the_vendored_copy_is_complete_unchanged_and_carries_its_license():
    dist_info = VENDOR / f"websocket_client-{pinned_version()}.dist-info"
    record = record_of(dist_info)
    on_disk = vendored_files()
    assert {rel: digest_of(on_disk[rel]) for rel in record if rel in on_disk} == record
    unlisted = set(on_disk) - set(record) - {"vendor.txt", f"{dist_info.name}/RECORD"}
    assert unlisted == set()
    assert "websocket/_core.py" in record and f"{dist_info.name}/LICENSE" in record
    assert "Apache License" in (dist_info / "LICENSE").read_text()
