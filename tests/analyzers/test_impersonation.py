from heron.analyzers import REGISTRY, AnalyzerContext, Lookups
from heron.domain.entities import EntityRef, EntityType
from heron.domain.verdicts import Severity, StepStatus
from tests.factories import address, facts, url

ORG = Lookups(org_domains=("example.org",), partner_domains=("supplier.test",))


def run(message, lookups: Lookups = ORG):
    entity = EntityRef(EntityType.MESSAGE, message.sha256)
    return REGISTRY["impersonation"].run(AnalyzerContext(message, entity, lookups))


def by_code(result):
    return {f.code: f for f in result.findings}


def test_a_sender_imitating_the_organisation_is_high():
    result = run(facts(from_=address("ceo@examp1e.org", "The CEO")))
    finding = by_code(result)["lookalike-lookalike-letters"]
    assert finding.severity is Severity.HIGH
    assert "imitates the organisation's example.org" in finding.summary


def test_a_reply_to_imitating_a_partner_is_high():
    message = facts(
        from_=address("billing@supplier.test"),
        reply_to=(address("billing@suppleir.test"),),
    )
    finding = by_code(run(message))["lookalike-letters-swapped"]
    assert finding.severity is Severity.HIGH and "a partner's" in finding.summary


def test_a_punycode_brand_lookalike_sender_is_high():
    message = facts(from_=address("service@xn--pypal-4ve.com", "PayPal"))
    assert by_code(run(message))["lookalike-confusable"].severity is Severity.HIGH


def test_a_link_to_a_brand_lookalike_is_medium_on_its_domain():
    message = facts(urls=(url("https://rnicrosoft.com/login"),))
    finding = by_code(run(message))["lookalike-lookalike-letters"]
    assert finding.severity is Severity.MEDIUM
    assert finding.entity == EntityRef(EntityType.DOMAIN, "rnicrosoft.com")


def test_a_vips_name_on_outside_mail_is_high_and_inside_is_fine():
    lookups = Lookups(org_domains=("example.org",), vip_names=("Maria Gonzalez",))
    outside = run(facts(from_=address("m.g@freemail.test", "Gonzalez, Maria")), lookups)
    inside = run(facts(from_=address("maria@example.org", "Maria Gonzalez")), lookups)
    assert by_code(outside)["vip-impersonation"].severity is Severity.HIGH
    assert inside.findings == () and inside.status is StepStatus.NOTHING_FOUND


def test_brands_own_names_in_other_countries_are_not_lookalikes():
    message = facts(
        from_=address("news@outlook.de"), urls=(url("https://lindows.com/"),)
    )
    assert run(message).findings == ()
