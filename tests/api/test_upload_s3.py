"""POST /upload and the ETL with UPLOAD_STORE=s3://...: stored in the bucket, loaded from it, 503 when it is away."""

from __future__ import annotations

import dataclasses

import pytest
from botocore.stub import Stubber

from common.config import settings_env
from services.api import create_app
from tests.builders import workbook
from tests.conftest import upload
from tests.s3 import keys, open_uploads, s3_store_settings

GOOD = "Date,product_id,category,sales\n2023-01-01,p1,c1,3\n2023-01-02,p1,c1,4\n"


@pytest.fixture
def s3_settings(settings, moto_endpoint, bucket):
    """Settings with uploads in this test's bucket."""
    return s3_store_settings(settings, moto_endpoint, bucket)


@pytest.fixture
def s3_app(s3_settings, engine, redis, monkeypatch):
    """The API on SQLite and fakeredis with the S3 store; jobs it queues read the same settings from the env."""
    for name, value in settings_env(s3_settings).items():
        monkeypatch.setenv(name, value)
    return create_app(s3_settings, engine=engine, redis=redis)


@pytest.fixture
def s3_client(s3_app, s3):
    """A test client of the S3-backed API (its bucket created)."""
    return s3_app.test_client()


def test_upload_is_stored_in_the_bucket_and_loaded_from_it(s3_client, s3, bucket, drain):
    """The file lands as uploads/<sha256>.csv, nothing else; the ETL reads it from there and completes."""
    response = upload(s3_client, GOOD)
    assert response.status_code == 202
    [key] = keys(s3, bucket)
    assert key.startswith("uploads/") and key.endswith(".csv")
    drain()
    batch = s3_client.get(f"/batches/{response.json['batch_num']}").json
    assert (batch["status"], batch["num_inserted_rows"]) == ("completed", 2)


def test_xlsx_is_checked_and_loaded_through_ranged_reads(s3_client, drain):
    """An Excel workbook (read at random offsets) is checked at upload and loaded from the bucket."""
    book = workbook(("Sheet", [["Date", "product_id", "category", "sales"], ["2023-01-01", "p", "c", 1],
                               ["2023-01-02", "p", "c", 2]]))
    response = upload(s3_client, book, "sales.xlsx")
    assert response.status_code == 202
    drain()
    assert s3_client.get(f"/batches/{response.json['batch_num']}").json["num_inserted_rows"] == 2


def test_duplicate_answers_409_and_stores_one_object(s3_client, s3, bucket):
    """The same bytes again get 409; the bucket holds one object and no incoming upload."""
    first = upload(s3_client, GOOD, "a.csv")
    second = upload(s3_client, GOOD, "b.csv")
    assert second.status_code == 409 and second.json["batch_num"] == first.json["batch_num"]
    assert len(keys(s3, bucket)) == 1
    assert open_uploads(s3, bucket) == []


@pytest.mark.parametrize(("content", "status"), [
    ("Date,product,sales\n2023-01-01,p,1\n", 400),  # required columns missing
    ("", 400),  # empty
])
def test_refused_file_leaves_nothing_in_the_bucket(s3_client, s3, bucket, content, status):
    """A file refused after it was received leaves no object and no open multipart upload."""
    assert upload(s3_client, content).status_code == status
    assert keys(s3, bucket) == []
    assert open_uploads(s3, bucket) == []


def test_too_large_aborts_the_multipart_upload(s3_settings, engine, redis, s3, bucket):
    """A file past MAX_UPLOAD_MB gets 413 and its multipart upload is aborted mid-way."""
    small = dataclasses.replace(s3_settings, max_upload_mb=6)
    client = create_app(small, engine=engine, redis=redis).test_client()
    big = "Date,product_id,category,sales\n" + "2023-01-01,p1,c1,3\n" * 400_000
    assert upload(client, big).status_code == 413
    assert keys(s3, bucket) == []
    assert open_uploads(s3, bucket) == []


def test_missing_bucket_answers_503_then_works_once_it_exists(s3_settings, engine, redis, moto_endpoint, bucket):
    """No bucket: upload 503 with the reason, /ready 503 naming the store; creating it brings both back."""
    import boto3

    client = create_app(s3_settings, engine=engine, redis=redis).test_client()
    response = upload(client, GOOD)
    assert response.status_code == 503
    assert f"bucket '{bucket}' does not exist" in response.json["error"]
    ready = client.get("/ready")
    assert ready.status_code == 503 and "does not exist" in ready.json["upload_store"]
    boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id="k",
                 aws_secret_access_key="s").create_bucket(Bucket=bucket)
    assert client.get("/ready").status_code == 200
    assert upload(client, GOOD).status_code == 202


@pytest.mark.parametrize(("operation", "code", "reason"), [
    ("create_multipart_upload", "AccessDenied", "is denied"),
    ("create_multipart_upload", "InvalidAccessKeyId", "credentials were refused"),
    ("upload_part", "AccessDenied", "is denied"),
    ("complete_multipart_upload", "SignatureDoesNotMatch", "credentials were refused"),
])
def test_refusing_store_answers_503_with_the_reason(s3_app, s3, bucket, operation, code, reason):
    """Denied writes or bad credentials at any step: 503 with the reason, no secret, nothing stored."""
    store = s3_app.extensions["castflow"].store
    refuse = Stubber(store.client)  # only `operation` is stubbed; earlier calls are let through below
    refuse.add_client_error(operation, service_error_code=code, http_status_code=403)
    real = store.call

    def call(name: str, **params: object) -> dict:
        if name != operation:
            return real(name, **params)
        with refuse:
            return real(name, **params)

    store.call = call
    response = upload(s3_app.test_client(), GOOD)
    assert response.status_code == 503
    assert reason in response.json["error"] and "nothing was stored" in response.json["error"]
    assert s3_app.extensions["castflow"].settings.s3_secret_access_key not in response.get_data(as_text=True)
    del store.call
    assert keys(s3, bucket) == []
    assert open_uploads(s3, bucket) == []


def test_etl_fails_the_batch_when_the_object_is_gone(s3_client, s3, bucket, drain):
    """An object deleted before the ETL reads it fails the batch with a readable reason."""
    response = upload(s3_client, GOOD)
    for key in keys(s3, bucket):
        s3.delete_object(Bucket=bucket, Key=key)
    drain()
    batch = s3_client.get(f"/batches/{response.json['batch_num']}").json
    assert batch["status"] == "failed" and "no longer in the upload store" in batch["error_log"]
