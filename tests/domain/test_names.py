import pytest

from heron.domain.names import is_same_or_subdomain, organisational_domain


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("mail.example.co.uk", "example.co.uk"),
        ("login.my-bank.com", "my-bank.com"),
        ("a.b.evil.test", "evil.test"),
        ("192.0.2.1", "192.0.2.1"),
        ("localhost", "localhost"),
        ("Example.ORG.", "example.org"),
        ("", ""),
    ],
)
def test_organisational_domain(host, expected):
    assert organisational_domain(host) == expected


def test_subdomain_check_needs_a_label_boundary():
    assert is_same_or_subdomain("mail.example.org", "example.org")
    assert not is_same_or_subdomain("badexample.org", "example.org")
