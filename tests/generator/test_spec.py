"""Recordings by content: a pin names the release of a sha256, any file name works, compressed or not."""

from __future__ import annotations

import gzip
import json
import lzma
from pathlib import Path
from typing import Any

import pytest
from truenas_mcp_gen.errors import GenerationError
from truenas_mcp_gen.spec import Pin, load_recording, write_pin

from truenas_mcp.recordings import PACKAGED_DIR, read_pin, read_recording_bytes, resolve_methods, sha256_bytes

ENTRY: dict[str, Any] = {
    "accepts": [], "check_pipes": False, "cli_description": "", "description": "Ping.", "downloadable": False,
    "examples": {}, "extra_methods": None, "filterable": False, "filterable_schema": None,
    "item_method": False,
    "job": False, "no_auth_required": False, "pass_application": False, "require_websocket": False,
    "returns": [{"type": "string"}], "roles": [], "uploadable": False,
}  # fmt: skip
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "spec" / "truenas-25.04.2.methods.json"


def write_recording(folder: Path, name: str, methods: dict[str, Any] | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(methods if isinstance(methods, str) else json.dumps(methods, sort_keys=True, indent=1))
    return path


def pin_first_use(path: Path, project: Path, release: str) -> None:
    """What ``generate`` does after a successful first generation."""
    recording = load_recording(path, project=project, release=release)
    assert not recording.pinned
    write_pin(project / "spec", recording.pin)


def test_first_use_with_a_release_makes_a_pin_from_the_content_and_writes_nothing(tmp_path: Path) -> None:
    path = write_recording(tmp_path / "downloads", "rec.json", {"core.ping": ENTRY})
    recording = load_recording(path, project=tmp_path, release="1.0")
    assert not recording.pinned and not (tmp_path / "spec").exists()
    pin = recording.pin
    assert (pin.version, pin.sha256, pin.method_count) == ("1.0", sha256_bytes(path.read_bytes()), 1)
    write_pin(tmp_path / "spec", pin)
    assert load_recording(path, project=tmp_path).pinned
    assert read_pin(tmp_path / "spec", "1.0") == pin


def test_the_release_comes_from_the_pin_whatever_the_file_is_called(tmp_path: Path) -> None:
    path = write_recording(tmp_path / "a", "first-name.json", {"core.ping": ENTRY})
    pin_first_use(path, tmp_path, "1.0")
    renamed = write_recording(tmp_path / "b", "truenas-9.9-looks-like-a-version.json", path.read_text())
    assert load_recording(renamed, project=tmp_path).pin.version == "1.0"
    with pytest.raises(GenerationError, match=r"pinned as release 1\.0 .*, not 2\.0"):
        load_recording(renamed, project=tmp_path, release="2.0")


def test_two_different_files_claiming_one_release_are_refused_naming_both(tmp_path: Path) -> None:
    first = write_recording(tmp_path / "spec", "one.json", {"core.ping": ENTRY})
    pin_first_use(first, tmp_path, "1.0")
    other = write_recording(tmp_path / "elsewhere", "two.json", {"core.ping": {**ENTRY, "description": "x"}})
    with pytest.raises(GenerationError) as info:
        load_recording(other, project=tmp_path, release="1.0")
    message = str(info.value)
    assert str(other) in message and str(first) in message and "claiming release 1.0" in message


def test_an_unpinned_recording_without_a_release_is_refused(tmp_path: Path) -> None:
    path = write_recording(tmp_path, "rec.json", {"core.ping": ENTRY})
    with pytest.raises(GenerationError, match=r"no pin holds its sha256 .*--release"):
        load_recording(path, project=tmp_path)
    assert not (tmp_path / "spec").exists()


@pytest.mark.parametrize("compress", [lzma.compress, lambda b: gzip.compress(b, mtime=0)])
def test_compressed_recordings_are_verified_after_decompression(tmp_path: Path, compress: Any) -> None:
    plain = json.dumps({"core.ping": ENTRY}).encode()
    spec = tmp_path / "spec"
    spec.mkdir()
    (spec / "r.methods.json.any-suffix").write_bytes(compress(plain))
    write_pin(spec, Pin("1.0", "r.methods.json.any-suffix", sha256_bytes(plain), len(plain), 1))
    assert load_recording(None, project=tmp_path, release="1.0").methods == {"core.ping": ENTRY}
    write_pin(spec, Pin("1.0", "r.methods.json.any-suffix", "0" * 64, len(plain), 1))
    with pytest.raises(GenerationError, match=r"any-suffix: sha256 .* does not match its pin"):
        load_recording(None, project=tmp_path, release="1.0")


def test_a_corrupt_compressed_recording_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "r.json.xz"
    path.write_bytes(lzma.compress(b"{}")[:-8])
    with pytest.raises(GenerationError, match=f"{path}: corrupt compressed recording"):
        load_recording(path, project=tmp_path, release="1.0")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ("[]", "expected a non-empty object keyed by method name"),
        (json.dumps({"core.ping": 3}), "method 'core.ping' is not an object"),
        (json.dumps({"core.ping": {"roles": []}}), "method 'core.ping': 'accepts' must be a list"),
        (json.dumps({"core.ping": {**ENTRY, "accepts": {}}}), "'accepts' must be a list"),
    ],
)
def test_bad_recordings_name_the_file_and_the_problem_and_write_no_pin(
    tmp_path: Path, content: str, message: str
) -> None:
    path = write_recording(tmp_path, "rec.json", content)
    with pytest.raises(GenerationError) as info:
        load_recording(path, project=tmp_path, release="1.0")
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "spec").exists()


def test_unpinned_recording_can_be_refused_or_accepted_without_pinning(tmp_path: Path) -> None:
    path = write_recording(tmp_path, "rec.json", {"core.ping": ENTRY})
    with pytest.raises(GenerationError, match="not pinned"):
        load_recording(path, project=tmp_path, release="1.0", pin_if_missing=False)
    assert load_recording(path, project=tmp_path, release="1.0", pin_if_missing=None).pin.method_count == 1
    assert not (tmp_path / "spec").exists()


def test_without_a_project_recording_the_packaged_copy_is_found_and_verified(tmp_path: Path) -> None:
    found = resolve_methods(None, project=tmp_path, env={})
    assert found.source == "packaged copy" and found.path.parent == PACKAGED_DIR
    assert found.path.name.endswith(".xz")  # never an uncompressed copy in the package
    assert found.pin is not None and (found.pin.version, found.pin.method_count) == ("25.04.2", 771)
    assert sha256_bytes(found.data) == found.pin.sha256


@pytest.mark.skipif(not SHARED.is_file(), reason="the reference recordings are not beside this checkout")
def test_the_shipped_recordings_are_the_reference_recordings_byte_for_byte() -> None:
    found = resolve_methods(None, env={})
    assert found.data == SHARED.read_bytes()
    pin = found.pin
    assert pin is not None and pin.events_file is not None
    events = read_recording_bytes(PACKAGED_DIR / f"{pin.events_file}.xz")
    assert events == SHARED.with_name("truenas-25.04.2.events.json").read_bytes()
