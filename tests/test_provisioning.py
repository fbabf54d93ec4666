"""``gallery init`` on a moto server: it makes what the gallery needs true (lifecycle rule, CORS for
the site, public-access block, default encryption; point-in-time recovery and deletion protection
on the table) without removing what an operator set, says what it did, and a second run changes
nothing."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from app import create_app
from app.metadata.dynamodb import DynamoMetadataStore
from app.storage.s3 import CORS_RULE, LIFECYCLE_RULE, S3BlobStore

pytest_plugins = ["cloud"]

ORIGIN = "https://gallery.example.com"
OPERATOR_RULE = {"ID": "operator-logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 30}}
OPERATOR_CORS = {"ID": "operator-cdn", "AllowedOrigins": ["https://cdn.example.com"], "AllowedMethods": ["GET"]}


def by_id(rules: list[dict]) -> dict[str, dict]:
    return {rule.get("ID"): rule for rule in rules}


def test_init_keeps_the_operators_rules_and_sets_the_rest(aws):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=aws["bucket"])
    s3.put_bucket_lifecycle_configuration(Bucket=aws["bucket"], LifecycleConfiguration={"Rules": [OPERATOR_RULE]})
    s3.put_bucket_cors(Bucket=aws["bucket"], CORSConfiguration={"CORSRules": [OPERATOR_CORS]})
    store = S3BlobStore(aws["bucket"], "g/", "us-east-1")

    first = store.provision("uploads/", ORIGIN)
    assert first == [
        f"bucket s3://{aws['bucket']} already exists",
        "lifecycle: uploads under g/uploads/ expire after 1 day(s) (1 other rule(s) kept)",
        f"CORS: {ORIGIN} may GET and POST (1 other rule(s) kept)",
        "public access: blocked (objects are reached through the app or presigned URLs only)",
        "encryption: on by default (SSE-S3, AES256)",
    ]
    rules = by_id(s3.get_bucket_lifecycle_configuration(Bucket=aws["bucket"])["Rules"])
    assert rules["operator-logs"] == OPERATOR_RULE
    assert rules[LIFECYCLE_RULE]["Filter"] == {"Prefix": "g/uploads/"} and rules[LIFECYCLE_RULE]["Expiration"] == {
        "Days": 1
    }
    cors = by_id(s3.get_bucket_cors(Bucket=aws["bucket"])["CORSRules"])
    assert cors["operator-cdn"]["AllowedOrigins"] == ["https://cdn.example.com"]
    assert cors[CORS_RULE]["AllowedOrigins"] == [ORIGIN] and set(cors[CORS_RULE]["AllowedMethods"]) == {"GET", "POST"}
    block = s3.get_public_access_block(Bucket=aws["bucket"])["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    encryption = s3.get_bucket_encryption(Bucket=aws["bucket"])["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"

    second = store.provision("uploads/", ORIGIN)
    assert second == [
        f"bucket s3://{aws['bucket']} already exists",
        "lifecycle: uploads under g/uploads/ already expire after 1 day(s) (1 other rule(s) kept)",
        f"CORS: {ORIGIN} may already GET and POST (1 other rule(s) kept)",
        "public access: already blocked",
        "encryption: already on by default (AES256)",
    ]
    assert len(s3.get_bucket_lifecycle_configuration(Bucket=aws["bucket"])["Rules"]) == 2


def test_a_new_origin_replaces_only_the_gallerys_cors_rule_and_kms_encryption_is_kept(aws):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=aws["bucket"])
    kms = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/operator"}
    s3.put_bucket_encryption(
        Bucket=aws["bucket"],
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": kms}]},
    )
    store = S3BlobStore(aws["bucket"], "", "us-east-1")
    assert "CORS: not set; set GALLERY_PUBLIC_ORIGIN" in store.provision("uploads/")[2]
    store.provision("uploads/", "https://old.example.com")
    lines = store.provision("uploads/", ORIGIN + "/")
    assert lines[2] == f"CORS: {ORIGIN} may GET and POST" and lines[4] == "encryption: already on by default (aws:kms)"
    assert [rule["AllowedOrigins"] for rule in s3.get_bucket_cors(Bucket=aws["bucket"])["CORSRules"]] == [[ORIGIN]]
    encryption = s3.get_bucket_encryption(Bucket=aws["bucket"])["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"


def test_the_table_gets_point_in_time_recovery_and_deletion_protection(aws):
    store = DynamoMetadataStore(aws["table"], "us-east-1")
    first = store.provision()
    assert first[0].startswith(f"created DynamoDB table {aws['table']}")
    assert first[1:] == [
        "point-in-time recovery: on (restore to any second of the last 35 days)",
        "deletion protection: on",
    ]
    assert store.provision() == [
        f"DynamoDB table {aws['table']} already exists",
        "point-in-time recovery: already on",
        "deletion protection: already on",
    ]
    dynamodb = boto3.client("dynamodb")
    with pytest.raises(ClientError, match="DeletionProtectionEnabled"):
        dynamodb.delete_table(TableName=aws["table"])


def test_gallery_init_reports_every_step(aws, tmp_path):
    app = create_app(
        {
            "GALLERY_DATA_DIR": str(tmp_path / "data"),
            "GALLERY_STORAGE": "s3",
            "GALLERY_METADATA": "dynamodb",
            "GALLERY_S3_BUCKET": aws["bucket"],
            "GALLERY_DYNAMODB_TABLE": aws["table"],
            "GALLERY_PUBLIC_ORIGIN": ORIGIN,
            "SECRET_KEY": "test-secret",
        }
    )
    output = app.test_cli_runner().invoke(args=["gallery", "init"]).output
    for expected in ("created bucket", "lifecycle:", f"CORS: {ORIGIN}", "public access:", "encryption:"):
        assert expected in output
    for expected in ("created DynamoDB table", "point-in-time recovery: on", "deletion protection: on", "cache:"):
        assert expected in output
    again = app.test_cli_runner().invoke(args=["gallery", "init"]).output
    assert "created bucket" not in again and "created DynamoDB" not in again and again.count("already") == 8
