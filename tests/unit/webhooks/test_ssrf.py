"""The SSRF guard with a stubbed resolver (no network): what outside the local stages refuses,
at create/update time and at each attempt after DNS."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest

from meterplex.webhooks.ssrf import UrlNotAllowed, check_url, is_public, resolve_target


def resolver(answers: dict[str, Sequence[str]]):
    calls: list[str] = []

    def resolve(host: str, port: int) -> Sequence[str]:
        calls.append(host)
        if host not in answers:
            raise OSError(f"{host}: no such host")
        return answers[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


PUBLIC = resolver({"hooks.example.com": ["93.184.216.34"], "v6.example.com": ["2606:2800:220:1::1"]})


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",  # the instance metadata service (and plain http)
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.1/",
        "https://172.16.5.4/hook",
        "https://192.168.1.1/",
        "https://127.0.0.1/",
        "https://0.0.0.0/",
        "https://100.64.0.7/",  # CGNAT
        "https://[::1]/",
        "https://[fe80::1]/",
        "https://[fd00:ec2::254]/",  # the IPv6 metadata endpoint
        "https://[::ffff:10.0.0.1]/",  # IPv4-mapped private
        "https://[::ffff:169.254.169.254]/",
        "https://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
        "https://[2002:a00:1::]/",  # 6to4 of 10.0.0.1
        "https://224.0.0.1/",
        "https://localhost/",
        "https://api.localhost/",
    ],
)
def test_private_loopback_link_local_and_metadata_urls_are_refused_outside_local(url: str) -> None:
    with pytest.raises(UrlNotAllowed) as refused:
        check_url(url, local=False, resolve=PUBLIC)
    assert refused.value.code == "WEBHOOK_URL_NOT_ALLOWED"


def test_a_hostname_resolving_to_loopback_is_refused_after_dns() -> None:
    # GIVEN a name whose DNS answer is 127.0.0.1
    resolve = resolver({"rebind.example.com": ["127.0.0.1"]})
    with pytest.raises(UrlNotAllowed, match=r"127\.0\.0\.1"):
        check_url("https://rebind.example.com/hook", local=False, resolve=resolve)
    assert resolve.calls == ["rebind.example.com"]  # type: ignore[attr-defined]


def test_one_private_answer_among_public_ones_refuses_the_name() -> None:
    resolve = resolver({"mixed.example.com": ["93.184.216.34", "10.1.2.3"]})
    with pytest.raises(UrlNotAllowed, match=r"10\.1\.2\.3"):
        check_url("https://mixed.example.com/", local=False, resolve=resolve)


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/",
        "ftp://hooks.example.com/",
        "https://user:pw@hooks.example.com/",
        "https:///x",
    ],
)
def test_non_https_userinfo_and_hostless_urls_are_refused_outside_local(url: str) -> None:
    with pytest.raises(UrlNotAllowed):
        check_url(url, local=False, resolve=PUBLIC)


def test_public_https_urls_pass_and_name_the_address_to_connect_to() -> None:
    check_url("https://hooks.example.com/a?b=1", local=False, resolve=PUBLIC)
    target = resolve_target("https://hooks.example.com:8443/a?b=1", local=False, resolve=PUBLIC)
    assert (target.scheme, target.host, target.port, target.path, target.address) == (
        "https",
        "hooks.example.com",
        8443,
        "/a?b=1",
        "93.184.216.34",
    )
    assert (
        resolve_target("https://v6.example.com/", local=False, resolve=PUBLIC).address == "2606:2800:220:1::1"
    )


def test_at_delivery_a_name_that_now_resolves_privately_is_refused() -> None:
    # GIVEN an endpoint accepted while its name was public, WHEN DNS now answers a private address
    rebound = resolver({"hooks.example.com": ["10.0.0.5"]})
    with pytest.raises(UrlNotAllowed):
        resolve_target("https://hooks.example.com/", local=False, resolve=rebound)


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(UrlNotAllowed, match="does not resolve"):
        check_url("https://nowhere.example.com/", local=False, resolve=PUBLIC)


def test_local_stage_allows_http_to_localhost_only() -> None:
    for url in ("http://localhost:8080/hook", "http://127.0.0.1:9/x", "http://[::1]:9/"):
        check_url(url, local=True)
    with pytest.raises(UrlNotAllowed, match="localhost only"):
        check_url("http://hooks.example.com/", local=True)
    check_url("https://10.0.0.1/", local=True)  # nothing else is refused locally
    target = resolve_target(
        "http://localhost:8080/h", local=True, resolve=resolver({"localhost": ["127.0.0.1"]})
    )
    assert target.address == "127.0.0.1"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2001:4860:4860::8888", True),
        ("192.0.2.1", False),  # documentation
        ("198.18.0.1", False),  # benchmark
        ("255.255.255.255", False),
        ("::", False),
        ("::a00:1", False),  # IPv4-compatible 10.0.0.1
        ("::ffff:8.8.8.8", True),
        ("ff02::1", False),
        ("2001:db8::1", False),
    ],
)
def test_is_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public
