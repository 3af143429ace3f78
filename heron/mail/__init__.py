"""Mail: raw bytes in, facts out.

Every read of untrusted mail happens here and is bounded by ``Limits``. A defect never
raises past this layer except as ``MailParseError`` for input that is not mail at all;
everything else becomes a ``MailWarning`` on the facts.
"""
