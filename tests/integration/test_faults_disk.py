"""A real full filesystem under the upload store: 507 with a reason, no partial file, no batch; read-only: 503.

The store is a 1 MB tmpfs the test mounts (it runs as root in CI); where mounting is not permitted
the test is skipped with a loud reason. tests/api/test_upload_faults.py covers the same answers with
simulated failures everywhere.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text

from services.api import create_app
from tests.integration.faultcheck import csv_bytes, upload

pytestmark = pytest.mark.integration


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MB tmpfs mounted for this test, unmounted afterwards."""
    mount = tmp_path / "store"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        pytest.skip(f"DISK-FULL VARIANT SKIPPED: cannot mount a tmpfs here ({done.stderr.strip() or done.returncode})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def files_in(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_full_and_read_only_upload_store(settings, engine, real_redis, tiny_disk, store_items):
    """2 MB into 1 MB: 507, nothing left; a small file still fits (202); remounted read-only: 503, nothing left."""
    settings = replace(settings, upload_dir=str(tiny_disk))
    client = create_app(settings, engine=engine, redis=real_redis).test_client()
    big = upload(client, csv_bytes(store_items.iloc[:80_000]))
    assert big.status_code == 507, big.get_data(as_text=True)
    assert "full" in big.json["error"] and "nothing was stored" in big.json["error"]
    assert files_in(tiny_disk) == []
    small = upload(client, csv_bytes(store_items.iloc[:1000]))
    assert small.status_code == 202 and len(files_in(tiny_disk)) == 1
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
    refused = upload(client, csv_bytes(store_items.iloc[1000:2000]))
    assert refused.status_code == 503, refused.get_data(as_text=True)
    assert "not writable" in refused.json["error"]
    assert len(files_in(tiny_disk)) == 1
    with engine.connect() as conn:
        assert conn.execute(text("SELECT batch_num FROM upload_metadata")).scalars().all() == [small.json["batch_num"]]
