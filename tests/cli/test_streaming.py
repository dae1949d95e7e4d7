"""Uploads are streamed: the body is produced in chunks of the file, never the whole file, with progress."""

from __future__ import annotations

import io
import json
import pathlib
from dataclasses import replace

import pytest
from werkzeug.formparser import parse_form_data

from services.api import create_app
from services.cli import batches, multipart
from services.cli.errors import CliError
from services.cli.multipart import MultipartBody
from services.cli.progress import Progress, bar, batch_line, human_bytes, upload_line
from tests.cli.conftest import HEADER

KIB = 1024


@pytest.fixture
def big_file(tmp_path: pathlib.Path) -> pathlib.Path:
    """A valid sales CSV of about 3 MiB."""
    path = tmp_path / "big.csv"
    rows = "".join(f"2023-01-{d % 28 + 1:02d},p{n},c,{n % 97}\n" for n in range(1500) for d in range(100))
    path.write_text(HEADER + rows)
    assert path.stat().st_size > 3 * KIB * KIB
    return path


def parse(body: MultipartBody, data: bytes) -> tuple[dict[str, str], bytes, str]:
    """What a server's multipart parser makes of the body: form fields, the file's bytes and its name."""
    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": body.content_type, "CONTENT_LENGTH": str(len(data)),
               "wsgi.input": io.BytesIO(data)}
    _, form, files = parse_form_data(environ)
    return dict(form), files["file"].read(), files["file"].filename


def test_body_is_the_file_in_chunks_and_parses_back(big_file):
    """Iterating the body gives the file in chunks no larger than chunk_bytes; the parsed form is the same."""
    body = MultipartBody(big_file, {"mapping": '{"date": "Day"}'}, chunk_bytes=64 * KIB)
    chunks = list(body)
    assert len(chunks) > 40 and max(len(c) for c in chunks[1:-1]) == 64 * KIB
    data = b"".join(chunks)
    assert len(data) == len(body) == len(chunks[0]) + big_file.stat().st_size + len(chunks[-1])
    assert parse(body, data) == ({"mapping": '{"date": "Day"}'}, big_file.read_bytes(), "big.csv")


def test_body_never_reads_more_than_a_chunk_at_a_time(big_file, monkeypatch):
    """The file is opened only when the body is sent, and read chunk by chunk."""
    reads: list[int] = []
    real_open = pathlib.Path.open

    def spying_open(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        handle = real_open(self, *args, **kwargs)
        real_read = handle.read
        handle.read = lambda size=-1: reads.append(size) or real_read(size)
        return handle

    monkeypatch.setattr(pathlib.Path, "open", spying_open)
    body = MultipartBody(big_file, chunk_bytes=128 * KIB)
    assert reads == []
    for _ in body:
        pass
    assert reads and set(reads) == {128 * KIB}


def test_a_file_that_changes_while_sent_is_refused(tmp_path):
    """A file growing after its length was announced stops the upload instead of sending a corrupt body."""
    path = tmp_path / "growing.csv"
    path.write_text(HEADER + "2023-01-01,p,c,1\n")
    body = MultipartBody(path)
    path.write_text(HEADER + "2023-01-01,p,c,1\n" * 50)
    with pytest.raises(CliError, match="changed while it was being sent"):
        list(body)


def test_names_are_quoted_like_a_browser_does(tmp_path):
    """Quotes and line breaks in a file name cannot break out of the part header."""
    path = tmp_path / 'we"ird\nname.csv'
    path.write_text(HEADER)
    body = MultipartBody(path)
    fields, data, name = parse(body, b"".join(body))
    assert (fields, data, name) == ({}, HEADER.encode(), 'we"ird%0Aname.csv')  # werkzeug decodes %22 only


def test_upload_is_sent_in_chunks_and_arrives_whole(castflow, url, big_file, monkeypatch, client):
    """Through the real server: progress moves chunk by chunk, and the server stores every byte."""
    monkeypatch.setattr(multipart, "CHUNK_BYTES", 256 * KIB)
    seen: list[tuple[int, int]] = []
    monkeypatch.setattr(batches, "upload_line", lambda name, sent, total: seen.append((sent, total)) or "")
    run = castflow("upload", str(big_file), "--url", url)
    assert run.code == 0, run.err
    total = seen[-1][1]
    assert len(seen) >= big_file.stat().st_size // (256 * KIB) and seen[-1][0] == total
    assert all(later > earlier for (earlier, _), (later, _) in zip(seen, seen[1:], strict=False))
    assert client.get("/batches/1").json["file_size"] == big_file.stat().st_size


def test_an_upload_over_the_size_limit_is_refused_in_words(castflow, settings, engine, redis, serve, big_file):
    """A file over MAX_UPLOAD_MB: the server's 413 (or, if it hung up first, a lost connection), never a traceback."""
    url = serve(create_app(replace(settings, max_upload_mb=1), engine=engine, redis=redis))
    run = castflow("upload", str(big_file), "--url", url)
    assert run.code in (1, 3) and "Traceback" not in run.err
    if run.code == 1:
        assert run.err == "castflow: big.csv was refused: the upload is larger than the 1 MB limit (HTTP 413)\n"
    assert castflow("batches", "--json", "--url", url).out == "[]\n"


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_terminal_progress_redraws_one_line():
    """On a terminal each update redraws the same line (carriage return), wiping a longer previous one."""
    stream = Terminal()
    progress = Progress(stream)
    progress.update("uploading a long name 10%")
    progress.update("short")
    progress.close()
    assert stream.getvalue() == "\ruploading a long name 10%\rshort" + " " * 20 + "\n"


def test_plain_progress_prints_on_change_or_now_and_then():
    """Without a terminal a line is printed when the key changes or every `every_s` seconds, not on each update."""
    now = [0.0]
    stream = io.StringIO()
    progress = Progress(stream, every_s=10, clock=lambda: now[0])
    progress.update("uploading 1%")
    now[0] = 5
    progress.update("uploading 50%")
    now[0] = 11
    progress.update("uploading 90%")
    progress.update("batch 1 processing", key="processing")
    progress.update("batch 1 processing again", key="processing")
    progress.close()
    assert stream.getvalue() == "uploading 90%\nbatch 1 processing\n"


def test_progress_lines():
    """The bar, sizes and the upload and batch lines read as intended."""
    assert bar(0.5, 10) == "[#####.....]" and bar(2, 4) == "[####]" and bar(-1, 4) == "[....]"
    assert [human_bytes(n) for n in (512, 1536, 3 * KIB * KIB)] == ["512 B", "1.5 KiB", "3.0 MiB"]
    assert upload_line("a.csv", 512, 1024) == f"uploading a.csv {bar(0.5)}  50%  512 B / 1.0 KiB"
    batch = {"batch_num": 4, "status": "completed", "progress": 1.0, "num_total_rows": 12345, "num_rejected_rows": 2}
    assert batch_line(batch) == f"batch 4 completed {bar(1)} 100%  12,345 rows read, 2 rejected"
    assert batch_line(batch | {"status": "processing", "progress": 0.25}).endswith(" 25%")


def test_terminal_progress_during_a_real_upload(castflow, url, sales_file, monkeypatch):
    """With stderr a terminal, the upload draws a bar that ends at 100%."""
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert castflow("upload", str(sales_file), "--url", url).code == 0
    drawn = terminal.getvalue()
    assert drawn.startswith("\ruploading sales.csv [") and drawn.endswith("\n")
    assert drawn.rstrip().split("\r")[-1].split("]")[1].strip().startswith("100%")
    assert json.loads(castflow("status", "1", "--json", "--url", url).out)["status"] == "uploaded"
