"""Loading a recording: pins are verified, bad input gives one clear line and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from truenas_mcp_gen.errors import GenerationError
from truenas_mcp_gen.spec import Pin, load_recording, read_pin, sha256_file, write_pin

ENTRY: dict[str, Any] = {
    "accepts": [], "check_pipes": False, "cli_description": "", "description": "Ping.", "downloadable": False,
    "examples": {}, "extra_methods": None, "filterable": False, "filterable_schema": None,
    "item_method": False,
    "job": False, "no_auth_required": False, "pass_application": False, "require_websocket": False,
    "returns": [{"type": "string"}], "roles": [], "uploadable": False,
}  # fmt: skip


def write_recording(folder: Path, version: str, methods: dict[str, Any] | str) -> Path:
    path = folder / f"truenas-{version}.methods.json"
    path.write_text(methods if isinstance(methods, str) else json.dumps(methods, sort_keys=True, indent=1))
    return path


def test_first_use_pins_the_recording(tmp_path: Path) -> None:
    path = write_recording(tmp_path, "1.0", {"core.ping": ENTRY})
    recording = load_recording(path, tmp_path / "pins")
    pin = read_pin(tmp_path / "pins", "1.0")
    assert pin == recording.pin
    assert pin is not None and pin.sha256 == sha256_file(path) and pin.method_count == 1


def test_a_recording_that_changed_under_its_pin_is_refused(tmp_path: Path) -> None:
    path = write_recording(tmp_path, "1.0", {"core.ping": ENTRY})
    write_pin(tmp_path, Pin("1.0", path.name, "0" * 64, 1, 1))
    with pytest.raises(
        GenerationError, match=r"truenas-1\.0\.methods\.json: sha256 .* does not match its pin"
    ):
        load_recording(path, tmp_path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ("[]", "expected a non-empty object keyed by method name"),
        (json.dumps({"core.ping": 3}), "method 'core.ping' is not an object"),
        (json.dumps({"core.ping": {"accepts": []}}), "method 'core.ping' lacks check_pipes"),
        (json.dumps({"core.ping": {**ENTRY, "accepts": {}}}), "'accepts' must be a list"),
    ],
)
def test_bad_recordings_name_the_file_and_the_problem_and_write_no_pin(
    tmp_path: Path, content: str, message: str
) -> None:
    path = write_recording(tmp_path, "1.0", content)
    with pytest.raises(GenerationError) as info:
        load_recording(path, tmp_path / "pins")
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "pins").exists()


def test_unpinned_recording_can_be_refused_or_accepted_without_pinning(tmp_path: Path) -> None:
    path = write_recording(tmp_path, "1.0", {"core.ping": ENTRY})
    with pytest.raises(GenerationError, match="no pin"):
        load_recording(path, tmp_path / "pins", pin_if_missing=False)
    assert load_recording(path, tmp_path / "pins", pin_if_missing=None).pin.method_count == 1
    assert not (tmp_path / "pins").exists()


def test_the_project_pin_matches_the_shared_recording() -> None:
    from truenas_mcp_gen.spec import PIN_DIR, locate_recording

    path = locate_recording()
    pin = read_pin(PIN_DIR, "25.04.2")
    assert pin is not None
    assert (pin.sha256, pin.method_count) == (sha256_file(path), 771)
