from heron.domain.entities import EntityRef, EntityType, Finding
from heron.domain.scoring import Weights, entity_verdict, message_verdict, reason_view
from heron.domain.verdicts import Severity, Verdict

MESSAGE = EntityRef(EntityType.MESSAGE, "a" * 64)
URL = EntityRef(EntityType.URL, "https://evil.test/")


def finding(entity: EntityRef, severity: Severity, code: str = "x") -> Finding:
    return Finding("test", entity, code, severity, f"{code} {severity.value}")


def test_nothing_examined_is_unknown_not_clean():
    assert entity_verdict(MESSAGE, []).verdict is Verdict.UNKNOWN


def test_examined_with_only_informational_findings_is_clean():
    result = entity_verdict(MESSAGE, [finding(MESSAGE, Severity.INFORMATIONAL)])
    assert result.verdict is Verdict.CLEAN
    assert result.reasons


def test_one_high_finding_is_malicious():
    result = entity_verdict(URL, [finding(URL, Severity.HIGH)])
    assert result.verdict is Verdict.MALICIOUS
    assert result.reasons[0].severity is Severity.HIGH


def test_a_single_low_finding_stays_clean_two_turn_suspicious():
    one = [finding(MESSAGE, Severity.LOW, "a")]
    two = one + [finding(MESSAGE, Severity.LOW, "b")]
    assert entity_verdict(MESSAGE, one).verdict is Verdict.CLEAN
    assert entity_verdict(MESSAGE, two).verdict is Verdict.SUSPICIOUS


def test_medium_findings_add_up_to_malicious():
    findings = [finding(MESSAGE, Severity.MEDIUM, c) for c in "abc"]
    assert entity_verdict(MESSAGE, findings).verdict is Verdict.MALICIOUS


def test_findings_about_other_entities_do_not_count():
    assert (
        entity_verdict(MESSAGE, [finding(URL, Severity.HIGH)]).verdict
        is Verdict.UNKNOWN
    )


def test_message_takes_the_worst_verdict_of_what_it_carries():
    findings = [finding(MESSAGE, Severity.INFORMATIONAL), finding(URL, Severity.HIGH)]
    carried = {URL: entity_verdict(URL, findings)}
    result = message_verdict(MESSAGE, findings, carried)
    assert result.verdict is Verdict.MALICIOUS
    assert any(f.entity == URL for f in result.reasons)


def test_clean_carried_entities_do_not_clear_a_suspicious_message():
    findings = [finding(MESSAGE, Severity.MEDIUM), finding(URL, Severity.INFORMATIONAL)]
    carried = {URL: entity_verdict(URL, findings)}
    assert message_verdict(MESSAGE, findings, carried).verdict is Verdict.SUSPICIOUS


def test_weak_signals_of_a_message_and_its_links_add_up():
    findings = [
        finding(MESSAGE, Severity.LOW, "reply-to"),
        finding(URL, Severity.LOW, "shortener"),
    ]
    carried = {URL: entity_verdict(URL, findings)}
    assert carried[URL].verdict is Verdict.CLEAN
    assert message_verdict(MESSAGE, findings, carried).verdict is Verdict.SUSPICIOUS


def test_the_same_weak_sign_on_many_links_counts_once():
    urls = [EntityRef(EntityType.URL, f"https://a.test/{i}") for i in range(5)]
    findings = [
        Finding("links", u, "recipient-in-link", Severity.LOW, "s") for u in urls
    ]
    carried = {u: entity_verdict(u, findings) for u in urls}
    assert message_verdict(MESSAGE, findings, carried).verdict is Verdict.CLEAN


def test_a_weight_for_analyzer_and_code_overrides_the_severity_points():
    findings = [finding(MESSAGE, Severity.LOW, "a")]
    heavy = Weights(overrides={"test/a": 6})
    assert entity_verdict(MESSAGE, findings).verdict is Verdict.CLEAN
    assert entity_verdict(MESSAGE, findings, heavy).verdict is Verdict.MALICIOUS


def test_the_more_specific_weight_wins_and_zero_silences_a_finding():
    findings = [finding(URL, Severity.HIGH, "listed")]
    weights = Weights(overrides={"test": 6, "test/listed": 0})
    assert entity_verdict(URL, findings, weights).verdict is Verdict.CLEAN


def test_an_analyzer_weight_leaves_its_informational_findings_at_zero():
    weights = Weights(overrides={"test": 5})
    assert weights.points(finding(MESSAGE, Severity.INFORMATIONAL)) == 0
    assert weights.points(finding(MESSAGE, Severity.LOW)) == 5


def test_thresholds_are_configurable():
    findings = [finding(MESSAGE, Severity.MEDIUM, c) for c in "ab"]
    strict = Weights(suspicious=5, malicious=10)
    assert entity_verdict(MESSAGE, findings).verdict is Verdict.SUSPICIOUS
    assert entity_verdict(MESSAGE, findings, strict).verdict is Verdict.CLEAN


def test_reasons_come_worth_most_first_and_say_their_points():
    findings = [
        finding(MESSAGE, Severity.LOW, "weak"),
        finding(MESSAGE, Severity.HIGH, "strong"),
        finding(MESSAGE, Severity.MEDIUM, "middle"),
    ]
    result = entity_verdict(MESSAGE, findings)
    assert [f.code for f in result.reasons] == ["strong", "middle", "weak"]
    view = reason_view(result.reasons[0])
    assert view["points"] == 6 and view["summary"] == "strong high"
    assert view["entity"] == f"message:{'a' * 64}"


def test_a_message_flagged_by_what_it_carries_lists_the_carried_reasons():
    findings = [finding(URL, Severity.HIGH, "listed")]
    carried = {URL: entity_verdict(URL, findings)}
    result = message_verdict(MESSAGE, findings, carried)
    assert result.verdict is Verdict.MALICIOUS
    assert [f.code for f in result.reasons] == ["listed"]


def test_an_entity_only_could_not_check_stays_unknown_not_clean():
    blind = Finding("attachments", URL, "could-not-check", Severity.INFORMATIONAL, "s")
    assert entity_verdict(URL, [blind]).verdict is Verdict.UNKNOWN
    seen = Finding("links", URL, "link-ok", Severity.INFORMATIONAL, "built plainly")
    assert entity_verdict(URL, [blind, seen]).verdict is Verdict.CLEAN


def test_a_carried_threat_is_among_the_reasons_even_when_the_message_decided_alone():
    own = [finding(MESSAGE, Severity.HIGH, "spoof")]
    listed = finding(URL, Severity.HIGH, "listed")
    carried = {URL: entity_verdict(URL, [listed])}
    result = message_verdict(MESSAGE, [*own, listed], carried)
    assert result.verdict is Verdict.MALICIOUS
    assert {r.code for r in result.reasons} == {"spoof", "listed"}
