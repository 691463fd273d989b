"""A key file's place is checked on every load that knows the data directory, not only when
the key is created: a key copied, linked or reached through a linked folder into the data
directory is refused; one outside it loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pseudonymise import KeyFileError, Pseudonymiser, create_key_file, load_key_file


def refusal(shown: str, data: Path) -> str:
    return (
        f"refusing to use the key file {shown}: it is inside the data directory {data}, where a "
        "copy or a backup of the data carries the key with it; move the key file out of the "
        "data directory (to ~/.config/medler/key.json, say) and point --key-file or "
        "MEDLER_KEY_FILE at its new place"
    )


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "key.json"
    create_key_file(path)
    return path


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "medler-data"
    path.mkdir()
    return path


def test_a_key_outside_the_data_directory_loads(key: Path, data: Path) -> None:
    assert load_key_file(key, data_dir=data) == load_key_file(key)


def test_a_key_copied_into_the_data_directory_is_refused(key: Path, data: Path) -> None:
    copy = data / "backup" / "key.json"
    copy.parent.mkdir()
    shutil.copy2(key, copy)
    with pytest.raises(KeyFileError) as refused:
        load_key_file(copy, data_dir=data)
    assert str(refused.value) == refusal(str(copy), data)
    load_key_file(copy)  # without the data directory nothing is known about the place


def test_a_symlink_to_a_key_in_the_data_directory_is_refused(
    key: Path, data: Path, tmp_path: Path
) -> None:
    inside = data / "key.json"
    shutil.move(key, inside)
    link = tmp_path / "key-link.json"
    link.symlink_to(inside)
    with pytest.raises(KeyFileError) as refused:
        load_key_file(link, data_dir=data)
    assert str(refused.value) == refusal(f"{link} (which is {inside})", data)


def test_a_folder_linked_into_the_data_directory_is_seen_through(
    key: Path, data: Path, tmp_path: Path
) -> None:
    (data / "keys").mkdir()
    shutil.move(key, data / "keys" / "key.json")
    (tmp_path / "config").symlink_to(data / "keys")
    with pytest.raises(KeyFileError) as refused:
        load_key_file(tmp_path / "config" / "key.json", data_dir=data)
    assert str(refused.value) == refusal(str(tmp_path / "config" / "key.json"), data)


def test_a_link_in_the_data_directory_is_refused_even_to_a_key_outside(
    key: Path, data: Path
) -> None:
    """Whoever can write the data directory could point the link at a key of their own."""
    link = data / "key.json"
    link.symlink_to(key)
    with pytest.raises(KeyFileError) as refused:
        load_key_file(link, data_dir=data)
    assert str(refused.value) == refusal(f"{link} (which is {key})", data)


def test_a_linked_data_directory_is_resolved(key: Path, tmp_path: Path) -> None:
    real = tmp_path / "volume" / "medler-data"
    real.mkdir(parents=True)
    shutil.move(key, real / "key.json")
    data = tmp_path / "medler-data"
    data.symlink_to(real)
    with pytest.raises(KeyFileError) as refused:
        load_key_file(real / "key.json", data_dir=data)
    assert str(refused.value) == refusal(str(real / "key.json"), data)


def test_the_pseudonymiser_passes_the_data_directory_on(key: Path, data: Path) -> None:
    shutil.copy2(key, data / "key.json")
    with pytest.raises(KeyFileError, match=r"^refusing to use the key file "):
        Pseudonymiser.from_key_file(data / "key.json", data_dir=data)
    with Pseudonymiser.from_key_file(key, data_dir=data, workers=1) as pseudonymiser:
        assert pseudonymiser.key_ref == load_key_file(key).ref
