import pytest

from heron.domain.lookalike import resemblance


@pytest.mark.parametrize(
    ("candidate", "protected", "trick"),
    [
        ("p\u0430ypal.com", "paypal.com", "confusable"),
        ("xn--pypal-4ve.com", "paypal.com", "confusable"),
        ("paypa1.com", "paypal.com", "lookalike-letters"),
        ("rnicrosoft.com", "microsoft.com", "lookalike-letters"),
        ("micorsoft.com", "microsoft.com", "letters-swapped"),
        ("exampel.org", "example.org", "letters-swapped"),
        ("exmple.org", "example.org", "letter-dropped"),
        ("exaample.org", "example.org", "letter-added"),
        ("exanple.org", "example.org", "keyboard-slip"),
        ("ex-ample.org", "example.org", "hyphen"),
        ("example.net", "example.org", "tld-swap"),
        ("example.org.mail-check.test", "example.org", "subdomain"),
        ("login-example-org.evil.test", "example.org", "subdomain"),
    ],
)
def test_each_trick_is_named(candidate: str, protected: str, trick: str):
    found = resemblance(candidate, protected)
    assert found is not None and found.trick == trick


@pytest.mark.parametrize(
    ("candidate", "protected"),
    [
        ("mail.example.org", "example.org"),
        ("github.com", "gitlab.com"),
        ("ups-store.test", "ups.com"),
        ("unrelated.test", "example.org"),
    ],
)
def test_the_same_domain_or_an_unrelated_one_is_no_lookalike(candidate, protected):
    assert resemblance(candidate, protected) is None
