import pytest

from heron.domain.urls import normalise_url


@pytest.mark.parametrize(
    ("written", "normal"),
    [
        ("HTTP://Evil.Test:80", "http://evil.test/"),
        ("https://a.test/x?y=1#frag", "https://a.test/x?y=1"),
        ("https://a.test:8443/x", "https://a.test:8443/x"),
        ("http://[2001:DB8::1]/x", "http://[2001:db8::1]/x"),
        ("https://bank.test@evil.test/", "https://bank.test@evil.test/"),
        ("  not a url ", "not a url"),
    ],
)
def test_normalise_url(written, normal):
    assert normalise_url(written) == normal
