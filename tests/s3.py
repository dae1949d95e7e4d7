"""moto's S3 emulator for the tests: a standalone HTTP server, the same S3 endpoint CI uses."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from common.config import Settings
from services.local import free_port

#: moto accepts any credentials; these make the client sign requests as it would against real S3.
ACCESS_KEY, SECRET_KEY = "castflow-test-key", "castflow-test-secret"


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's S3 server on a free local port for the whole run; its URL."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_store_settings(settings: Settings, endpoint: str, bucket: str) -> Settings:
    """`settings` with uploads in `bucket` (under the prefix `uploads`) at `endpoint`."""
    return dataclasses.replace(settings, upload_store=f"s3://{bucket}/uploads", s3_endpoint_url=endpoint,
                               s3_region="us-east-1", s3_access_key_id=ACCESS_KEY, s3_secret_access_key=SECRET_KEY)


@pytest.fixture
def bucket() -> str:
    """A bucket name of this test's own (not created)."""
    return f"castflow-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def s3(moto_endpoint, bucket):
    """A plain S3 client on moto, with this test's bucket created: the test's view of the bucket."""
    return client_with_bucket(moto_endpoint, bucket)


def client_with_bucket(endpoint: str, bucket: str):  # noqa: ANN201 - a boto3 client
    """A plain S3 client of `endpoint` with `bucket` created."""
    client = s3_client(endpoint)
    client.create_bucket(Bucket=bucket)
    return client


def s3_client(endpoint: str):  # noqa: ANN201 - a boto3 client
    """A plain S3 client of `endpoint`, signing with the test credentials."""
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY)


def keys(client, bucket: str) -> list[str]:  # noqa: ANN001
    """Every object key in `bucket`."""
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))


def open_uploads(client, bucket: str) -> list[str]:  # noqa: ANN001
    """Keys of multipart uploads started and neither completed nor aborted."""
    return [u["Key"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
