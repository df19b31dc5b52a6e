"""SSRF rules for webhook URLs and the signature scheme."""

from __future__ import annotations

import ipaddress
import time

import httpx
import pytest

from memoai.platform.outbound import AllowList, UnsafeUrl, check_url, is_public, safe_client
from memoai.webhooks.signing import sign, verify


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.5/hook",
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "ftp://example.com/hook",
        "http://user:pass@93.184.216.34/hook",
        "https:///nohost",
    ],
)
def test_internal_or_odd_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeUrl):
        check_url(url, AllowList([]))


def test_public_addresses_pass() -> None:
    check_url("https://93.184.216.34/hook", AllowList([]))
    assert is_public(ipaddress.ip_address("8.8.8.8"))


def test_allow_list_opens_named_hosts_and_ranges() -> None:
    check_url("http://127.0.0.1:9000/hook", AllowList(["127.0.0.1"]))
    check_url("http://10.20.3.4/hook", AllowList(["10.20.0.0/16"]))
    check_url("http://localhost/hook", AllowList(["localhost"]))
    with pytest.raises(UnsafeUrl):
        check_url("http://10.21.0.1/hook", AllowList(["10.20.0.0/16"]))


def test_the_client_refuses_at_connect_time_too() -> None:
    # Even if a URL slipped past registration, the connection itself is checked.
    with safe_client(AllowList([]), timeout=2) as client, pytest.raises(httpx.ConnectError):
        client.post("http://127.0.0.1:9/hook", content=b"{}")


def test_signatures_verify_and_reject_tampering_and_replays() -> None:
    body = b'{"event":"evaluation.completed"}'
    now = int(time.time())
    signature = sign("whsec_test", now, body)
    assert signature.startswith("sha256=")
    assert verify("whsec_test", str(now), signature, body)
    assert not verify("whsec_other", str(now), signature, body)
    assert not verify("whsec_test", str(now), signature, body + b" ")
    assert not verify("whsec_test", str(now - 3600), sign("whsec_test", now - 3600, body), body)
