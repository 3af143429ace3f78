from heron.domain.rewriters import unwrap


def test_safe_links_unwrap_to_their_target():
    wrapped = (
        "https://eur03.safelinks.protection.outlook.com/?url=https%3A%2F%2Fevil.test"
        "%2Flogin%3Fa%3D1&data=05%7C01%7C&reserved=0"
    )
    assert unwrap(wrapped) == ("https://evil.test/login?a=1", "Microsoft Safe Links")


def test_proofpoint_v2_undoes_its_character_encoding():
    wrapped = (
        "https://urldefense.proofpoint.com/v2/url?u=https-3A__evil.test_a-3Fb-3D1&d=x"
    )
    assert unwrap(wrapped)[0] == "https://evil.test/a?b=1"


def test_proofpoint_v3_puts_back_the_characters_it_took_out():
    # "Jg" is base64 for "&": the one character the "*" stands for.
    wrapped = "https://urldefense.com/v3/__https://evil.test/p?a=1*b=2__;Jg!!Xk!abc$"
    assert unwrap(wrapped) == (
        "https://evil.test/p?a=1&b=2",
        "Proofpoint URL Defense v3",
    )


def test_proofpoint_v3_runs_of_characters():
    # "**B" stands for a run of three characters taken from the decoded bytes.
    wrapped = "https://urldefense.com/v3/__https://evil.test/**Bx__;JSUl!!Q!z$"
    assert unwrap(wrapped)[0] == "https://evil.test/%%%x"


def test_google_redirects_and_mimecast_domains():
    assert unwrap("https://www.google.com/url?q=https://evil.test/x&sa=D")[0] == (
        "https://evil.test/x"
    )
    assert unwrap("https://protect-eu.mimecast.com/s/Ab1?domain=evil.test") == (
        "https://evil.test/",
        "Mimecast URL Protect (domain only)",
    )


def test_nested_wrapping_is_undone_layer_by_layer():
    inner = "https://www.google.com/url?q=https://evil.test/deep"
    from urllib.parse import quote

    outer = (
        f"https://nam1.safelinks.protection.outlook.com/?url={quote(inner, safe='')}"
    )
    assert unwrap(outer) == (
        "https://evil.test/deep",
        "Microsoft Safe Links > Google redirect",
    )


def test_ordinary_links_and_broken_wrappers_stay_as_they_are():
    assert unwrap("https://example.org/a") == ("https://example.org/a", "")
    assert unwrap("https://urldefense.com/v3/__https://x.test/*__;!!!") == (
        "https://urldefense.com/v3/__https://x.test/*__;!!!",
        "",
    )
