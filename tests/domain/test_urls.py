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


def test_unicode_hosts_are_written_as_browsers_resolve_them():
    from heron.domain.urls import normalise_url

    assert (
        normalise_url("http://\uff45\uff56\uff49\uff4c.test/x") == "http://evil.test/x"
    )
    assert normalise_url("http://evil\u3002test/y") == "http://evil.test/y"
    assert normalise_url("http://\u0430\u0440\u0440\u04cf\u0435.com/") == (
        "http://xn--80ak6aa92e.com/"
    )


def test_a_backslash_before_the_at_sign_does_not_hide_the_host():
    from heron.domain.urls import normalise_url

    assert normalise_url("http://evil.test\\@good.test/").startswith(
        "http://evil.test/"
    )
