"""``flask --app wsgi gallery ...``: set up the backends (``init``), purge, label what is missing,
import a library from disk, ``check`` stored originals against today's limits."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from .core.errors import GalleryError, NotFound


def services():
    """The app's use-case services (see ``app.services``)."""
    return current_app.extensions["services"]


gallery_cli = AppGroup("gallery", help="Set up and inspect the gallery's backends.")


@gallery_cli.command("init")
@click.option(
    "--cdn", is_flag=True, help="Also copy the static files to the bucket and print how to put CloudFront in front."
)
def init_command(cdn: bool):
    """Create the S3 bucket and DynamoDB table if missing (local backends need nothing) and say what was done."""
    try:
        for line in services().admin.provision():
            click.echo(line)
        if cdn:
            from .web import cdn as media_cdn

            settings = current_app.extensions["settings"]
            if settings.storage != "s3":
                raise click.ClickException("--cdn puts CloudFront in front of the S3 bucket: set GALLERY_STORAGE=s3.")
            copied = services().admin.publish_static(media_cdn.static_object_names(current_app.static_folder))
            click.echo(f"static files: {copied} copied to s3://{settings.s3_bucket}/{settings.s3_prefix}static/")
            click.echo(cdn_steps(settings))
    except GalleryError as exc:
        raise click.ClickException(exc.message) from exc


def cdn_steps(settings) -> str:
    """The CloudFront distribution over the bucket (origin access control, objects kept for good since
    every name carries a version), as a CloudFormation stack an operator deploys with the AWS CLI.
    When reads are private, the renditions need URLs signed by the key of a trusted key group (the
    stack makes the group from the operator's public key; the app signs with the private one)."""
    import json

    bucket, prefix = settings.s3_bucket, settings.s3_prefix.rstrip("/")
    origin = f"{bucket}.s3.{settings.aws_region}.amazonaws.com"
    distribution = {
        "Enabled": True,
        "Comment": f"Cloud Image Gallery media ({bucket})",
        "HttpVersion": "http2and3",
        "PriceClass": "PriceClass_100",
        "Origins": [
            {
                "Id": "bucket",
                "DomainName": origin,
                "OriginPath": f"/{prefix}" if prefix else "",
                "S3OriginConfig": {"OriginAccessIdentity": ""},
                "OriginAccessControlId": {"Fn::GetAtt": ["MediaAccess", "Id"]},
            }
        ],
        "DefaultCacheBehavior": {
            "TargetOriginId": "bucket",
            "ViewerProtocolPolicy": "redirect-to-https",
            "AllowedMethods": ["GET", "HEAD"],
            "Compress": False,
            "CachePolicyId": {"Ref": "ForGood"},
            # AWS's managed SimpleCORS policy: module scripts from another origin need CORS headers.
            "ResponseHeadersPolicyId": "60669652-455b-4ae9-85a4-c4c02393f86c",
        },
    }
    signed = not settings.public_read  # private reads: the distribution takes signed URLs only
    if signed:
        # Renditions need a signature by the key group's key; static files are not secret.
        distribution["DefaultCacheBehavior"]["TrustedKeyGroups"] = [{"Ref": "SigningKeys"}]
        static = {k: v for k, v in distribution["DefaultCacheBehavior"].items() if k != "TrustedKeyGroups"}
        distribution["CacheBehaviors"] = [{**static, "PathPattern": "static/*"}]
    template = {
        "Resources": {
            "MediaAccess": {
                "Type": "AWS::CloudFront::OriginAccessControl",
                "Properties": {
                    "OriginAccessControlConfig": {
                        "Name": f"{bucket}-media",
                        "OriginAccessControlOriginType": "s3",
                        "SigningBehavior": "always",
                        "SigningProtocol": "sigv4",
                    }
                },
            },
            "ForGood": {
                "Type": "AWS::CloudFront::CachePolicy",
                "Properties": {
                    "CachePolicyConfig": {
                        "Name": f"{bucket}-versioned",
                        "Comment": "Object names carry their version: keep them for a year, whatever Cache-Control says",
                        "MinTTL": 31536000,
                        "DefaultTTL": 31536000,
                        "MaxTTL": 31536000,
                        "ParametersInCacheKeyAndForwardedToOrigin": {
                            "EnableAcceptEncodingGzip": False,
                            "HeadersConfig": {"HeaderBehavior": "none"},
                            "CookiesConfig": {"CookieBehavior": "none"},
                            "QueryStringsConfig": {"QueryStringBehavior": "none"},
                        },
                    }
                },
            },
            "Media": {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": distribution}},
        },
        "Outputs": {"MediaUrl": {"Value": {"Fn::Sub": "https://${Media.DomainName}"}}},
    }
    if signed:
        template["Parameters"] = {"PublicKeyPem": {"Type": "String", "Description": "cdn-public.pem"}}
        template["Resources"]["SigningKey"] = {
            "Type": "AWS::CloudFront::PublicKey",
            "Properties": {
                "PublicKeyConfig": {
                    "Name": f"{bucket}-media",
                    "CallerReference": f"{bucket}-media",
                    "EncodedKey": {"Ref": "PublicKeyPem"},
                }
            },
        }
        template["Resources"]["SigningKeys"] = {
            "Type": "AWS::CloudFront::KeyGroup",
            "Properties": {"KeyGroupConfig": {"Name": f"{bucket}-media", "Items": [{"Ref": "SigningKey"}]}},
        }
        template["Outputs"]["KeyPairId"] = {"Value": {"Ref": "SigningKey"}}
    paths = [f"{prefix}/{p}" if prefix else p for p in ("thumbs", "thumbs2x", "display", "static")]
    policy = {
        "Sid": "CloudFrontReadsRenditions",
        "Effect": "Allow",
        "Principal": {"Service": "cloudfront.amazonaws.com"},
        "Action": "s3:GetObject",
        "Resource": [f"arn:aws:s3:::{bucket}/{p}/*" for p in paths],
        "Condition": {"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::<account>:distribution/<id>"}},
    }
    deploy = "aws cloudformation deploy --stack-name gallery-cdn --template-file gallery-cdn.json"
    lines = [
        "",
        "CDN: not created here (it needs an operator's AWS credentials). To create it:",
        "1. Save this CloudFormation template as gallery-cdn.json:",
        json.dumps(template, indent=2),
    ]
    if signed:
        lines += [
            "   Reads are private (GALLERY_PUBLIC_READ=0): the distribution serves renditions only to URLs",
            "   signed by the app. Make the signing key pair (RSA 2048, as CloudFront requires):",
            "   openssl genrsa -out cdn-private.pem 2048 && openssl rsa -pubout -in cdn-private.pem -out cdn-public.pem",
            f'2. {deploy} --parameter-overrides PublicKeyPem="$(cat cdn-public.pem)"',
        ]
    else:
        lines.append(f"2. {deploy}")
    lines += [
        "   aws cloudformation describe-stacks --stack-name gallery-cdn --query 'Stacks[0].Outputs'",
        "3. Let the distribution (and nothing else) read renditions and static files: add this statement",
        "   to the bucket policy (originals stay private: the app serves or presigns them):",
        json.dumps(policy, indent=2),
    ]
    if signed:
        lines += [
            "4. Keep the private key in an SSM SecureString, then set GALLERY_MEDIA_URL to the MediaUrl output",
            "   and name the key (the app refuses GALLERY_MEDIA_URL without it) in the stage's environment:",
            "   aws ssm put-parameter --type SecureString --name /cloud-image-gallery/<stage>/cdn-private-key \\",
            "       --value file://cdn-private.pem && shred -u cdn-private.pem",
            "   GALLERY_CDN_KEY_PAIR_ID=<KeyPairId output>",
            "   GALLERY_CDN_PRIVATE_KEY_SSM=/cloud-image-gallery/<stage>/cdn-private-key (allow ssm:GetParameter on it)",
            "   (on a server of your own: GALLERY_CDN_PRIVATE_KEY_FILE=<a PEM file only the app's user can read>)",
            "   and deploy. Run `gallery init --cdn` again on every release: its static files get new names.",
        ]
    else:
        lines += [
            "4. Set GALLERY_MEDIA_URL to the MediaUrl output in the stage's environment and deploy.",
            "   Run `gallery init --cdn` again on every release: its static files get new names.",
        ]
    return "\n".join(lines)


@gallery_cli.command("purge")
@click.option("--trash", is_flag=True, help="Also empty the whole trash, whatever its retention.")
def purge_command(trash: bool):
    """Remove for good the replaced versions and deleted images whose retention has passed."""
    try:
        freed = services().history.purge()
        if trash:
            emptied = services().history.empty_trash()
            freed.versions, freed.bytes = freed.versions + emptied.versions, freed.bytes + emptied.bytes
    except GalleryError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"purged {freed.versions} version(s), freed {freed.bytes / 1048576:.1f} MB")
    usage = services().catalog.usage()
    click.echo(
        f"kept: {usage['images']} image(s) {usage['current_bytes'] / 1048576:.1f} MB, "
        f"{usage['history']} earlier version(s) {usage['history_bytes'] / 1048576:.1f} MB, "
        f"{usage['trashed']} in the trash {usage['trash_bytes'] / 1048576:.1f} MB"
    )


@gallery_cli.command("renditions")
def renditions_command():
    """Make the display rendition, 2x thumbnail, colour and EXIF facts of images stored before
    they existed. Safe to stop and run again: images that have them are passed over."""
    counts = {"made": 0, "had": 0, "gone": 0, "failed": 0}
    try:
        total = services().catalog.usage()["images"]
        with click.progressbar(length=total, label="Renditions", show_pos=True, show_eta=True) as bar:
            for _, outcome in services().admin.backfill_renditions():
                counts[outcome] += 1
                bar.update(1)
    except GalleryError as exc:
        raise click.ClickException(exc.message) from exc
    finally:
        click.echo(
            f"made {counts['made']}, already had {counts['had']}, replaced or deleted meanwhile "
            f"{counts['gone']}, failed {counts['failed']} (see the log)"
        )


@gallery_cli.command("label")
@click.option("--missing", is_flag=True, help="Label every image that detection has not labelled yet.")
def label_command(missing: bool):
    """Run object detection on images not labelled yet (an upload whose detection failed, or from
    before labelling on upload). Each result is saved at once: stop it any time and run it again."""
    if not missing:
        raise click.UsageError("Say which images to label: --missing.")
    try:
        total = services().catalog.unlabelled_count()
        done, failed = 0, []
        with click.progressbar(length=total, label="Labelling", show_pos=True) as bar:
            for key, error in services().recognition.label_missing():
                if error is None:
                    done += 1
                else:
                    failed.append((key, error))
                bar.update(1)
    except GalleryError as exc:
        raise click.ClickException(exc.message) from exc
    for key, error in failed:
        click.echo(f"not labelled: {key}: {error.message}", err=True)
    click.echo(f"labelled {done} image(s); {len(failed)} failed (run it again to retry them)")
    if failed:
        raise SystemExit(1)


@gallery_cli.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, readable=True, path_type=Path))
@click.option("--prefix", default="", help="Put the photos under this folder of keys (e.g. imports/2019).")
@click.option(
    "--no-labels", is_flag=True, help="Store without object detection; `gallery label --missing` labels later."
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 64),
    default=lambda: len(os.sched_getaffinity(0)),
    show_default="every core",
    help="Worker processes decoding photos and making renditions.",
)
def import_command(directory: Path, prefix: str, no_labels: bool, jobs: int):
    """Import every photo under DIRECTORY, keyed by its path relative to it (folders kept). Photos
    whose bytes are already in the gallery are skipped and reported; stop it any time and run it
    again: what was imported is recognised and nothing is stored twice."""
    from .services.importer import ALREADY, DUPLICATE, FAILED, STORED, make_importer, scan

    app_services = services()
    try:
        files, other = scan(directory, prefix)
    except GalleryError as exc:
        raise click.BadParameter(exc.message, param_hint="--prefix") from exc
    importer = make_importer(app_services, current_app.extensions["settings"], jobs, labels=not no_labels)
    counts = dict.fromkeys((STORED, ALREADY, DUPLICATE, FAILED), 0)
    duplicates, failures = [], []
    start = time.monotonic()

    def rate(_) -> str:
        done = sum(counts.values())
        return f"{done / max(time.monotonic() - start, 1e-6):.1f} photos/s" if done else ""

    try:
        with click.progressbar(
            length=len(files), label="Importing", show_pos=True, show_eta=True, item_show_func=rate
        ) as bar:
            for outcome in importer.run(files):
                counts[outcome.status] += 1
                if outcome.status == DUPLICATE:
                    duplicates.append(outcome)
                elif outcome.status == FAILED:
                    failures.append(outcome)
                bar.update(1, outcome)
    except GalleryError as exc:  # the metadata or blob store is down: nothing more can be stored
        raise click.ClickException(exc.message) from exc
    finally:
        importer.close()
    seconds = time.monotonic() - start
    for outcome in sorted(duplicates, key=lambda o: o.file.relative):
        click.echo(f"duplicate: {outcome.file.relative} is already in the gallery as {outcome.detail}")
    for outcome in sorted(failures, key=lambda o: o.file.relative):
        click.echo(f"failed: {outcome.file.relative}: {outcome.detail}", err=True)
    click.echo(
        f"stored {counts[STORED]}, already imported {counts[ALREADY]}, skipped as duplicate {counts[DUPLICATE]}, "
        f"failed {counts[FAILED]}" + (f"; {other} other file(s) are not photos and were passed over" if other else "")
    )
    click.echo(
        f"{len(files)} photo(s) in {seconds:.1f} s ({len(files) / max(seconds, 1e-6):.1f} photos/s, {jobs} job(s))"
    )
    if counts[STORED]:
        click.echo(f"the photos stored now: /gallery?batch={importer.batch}")
    if no_labels and counts[STORED]:
        click.echo("not labelled yet: run `flask --app wsgi gallery label --missing`")
    if failures:
        raise SystemExit(1)


@gallery_cli.command("check")
def check_command():
    """List current images whose original an upload would now refuse (the header and structure
    checks every decode runs first: pages, segments, chunks, frames, pixels); exit 1 if any."""
    from .core.blobs import ORIGINAL, blob_name
    from .imaging import images

    admin = services().admin
    settings = admin.work.settings
    checked, offenders, after = 0, 0, None
    try:
        while True:
            records, after = admin.metadata.list(limit=100, after=after)
            for record in records:
                try:
                    data = admin.blobs.get(blob_name(ORIGINAL, record))
                    images.inspect(data, settings.max_pixels, settings.max_frames, settings.max_decoded_bytes)
                except NotFound:
                    continue  # replaced or deleted meanwhile
                except GalleryError as refused:
                    offenders += 1
                    click.echo(f"{record.key}: {refused.message}")
                checked += 1
            if after is None:
                break
    except GalleryError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"checked {checked} image(s); {offenders} would now be refused")
    if offenders:
        raise SystemExit(1)


@gallery_cli.command("repair")
def repair_command():
    """Mend keys jammed by a write applied twice and records whose original is missing (after a
    crash or a lost answer); safe to run any time, it changes nothing that is whole."""
    mended = 0
    try:
        for key, what in services().admin.repair():
            mended += 1
            click.echo(f"{key}: {what}")
    except GalleryError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"mended {mended} problem(s)")


def init_app(app) -> None:
    app.cli.add_command(gallery_cli)
