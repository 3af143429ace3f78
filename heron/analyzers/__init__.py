"""Analyzers: one module per playbook step; each a pure function of facts and lookups.

Importing this package registers every built-in analyzer in ``REGISTRY``.
"""

from heron.analyzers import (  # noqa: F401  (registration on import)
    attachments,
    authentication,
    content,
    files,
    history,
    impersonation,
    indicators,
    links,
    org_lists,
    reputation,
    sender,
    yara,
)
from heron.analyzers.base import (
    REGISTRY,
    Analyzer,
    AnalyzerContext,
    AnalyzerResult,
    Lookups,
)

__all__ = ["REGISTRY", "Analyzer", "AnalyzerContext", "AnalyzerResult", "Lookups"]
