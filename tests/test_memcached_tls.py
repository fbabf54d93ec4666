"""GALLERY_MEMCACHED_TLS: the memcached client talks TLS (ElastiCache in-transit encryption) and
verifies the nodes' certificates, against a real memcached started with ``-Z`` when it has TLS."""

from __future__ import annotations

import ssl
import subprocess

import pytest
from conftest import make_app, make_image, require_binary

from app.cache.memcached import MemcachedCache

pytest_plugins = ["cloud"]


def memcached_app(tmp_path, servers, **overrides):
    return make_app(tmp_path, GALLERY_CACHE="memcached", GALLERY_MEMCACHED_SERVERS=",".join(servers), **overrides)


def test_the_client_gets_a_verifying_tls_context_only_when_asked(tmp_path):
    plain = memcached_app(tmp_path, ["127.0.0.1:11211"]).extensions["services"].cache
    assert plain._client.default_kwargs["tls_context"] is None
    cache = memcached_app(tmp_path, ["127.0.0.1:11211"], GALLERY_MEMCACHED_TLS="1").extensions["services"].cache
    context = cache._client.default_kwargs["tls_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert all(client.tls_context is context for client in cache._client.clients.values())


def test_an_unreadable_ca_file_is_a_clear_start_up_error(tmp_path):
    with pytest.raises(SystemExit, match="GALLERY_MEMCACHED_TLS_CA_FILE"):
        memcached_app(
            tmp_path, ["127.0.0.1:11211"], GALLERY_MEMCACHED_TLS="1", GALLERY_MEMCACHED_TLS_CA_FILE="/nonexistent.pem"
        )


def memcached_has_tls() -> bool:
    from cloud import need_memcached

    help_text = subprocess.run([need_memcached(), "-h"], capture_output=True, text=True).stdout
    return "--enable-ssl" in help_text


@pytest.fixture
def tls_node(tmp_path):
    from cloud import MemcachedNode

    if not memcached_has_tls():
        pytest.skip("this memcached was built without TLS (no -Z / --enable-ssl)")
    openssl = require_binary("openssl", install="apt-get install openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    node = MemcachedNode(args=("-Z", "-o", f"ssl_chain_cert={cert},ssl_key={key}"))
    yield node, cert
    node.stop()


def test_images_are_cached_over_tls(tls_node, tmp_path):
    node, cert = tls_node
    app = memcached_app(tmp_path, [node.address], GALLERY_MEMCACHED_TLS="1", GALLERY_MEMCACHED_TLS_CA_FILE=str(cert))
    gallery, client = app.extensions["services"], app.test_client()
    gallery.library.upload("a.png", make_image())
    for _ in range(2):
        assert client.get("/images/a.png").status_code == 200
    stats = gallery.admin.cache_stats()
    assert (stats["hits"], stats["misses"], stats["nodes_up"]) == (1, 1, 1)
    # Without TLS, or without trusting its certificate, the node is only ever a miss.
    assert MemcachedCache([node.address], timeout=0.3).get("anything") is None
    untrusting = MemcachedCache([node.address], timeout=0.3, tls_context=ssl.create_default_context())
    assert untrusting.get("anything") is None and untrusting.stats()["nodes_up"] == 0


def test_the_rate_limiter_shares_counters_over_tls(tls_node, tmp_path):
    from app.web.extensions import limiter

    node, cert = tls_node
    app = memcached_app(tmp_path, [node.address], GALLERY_MEMCACHED_TLS="1", GALLERY_MEMCACHED_TLS_CA_FILE=str(cert))
    with app.app_context():
        assert limiter.storage.check() is True
        limiter.storage.incr("gallery/probe", 60)
        assert limiter.storage.get("gallery/probe") == 1
    # The same node refuses a client without TLS: that is what the context is for.
    plain = memcached_app(tmp_path, [node.address], GALLERY_MEMCACHED_TIMEOUT="0.3")
    with plain.app_context():
        assert limiter.storage.check() is False
