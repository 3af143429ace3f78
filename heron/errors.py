"""The exceptions heron raises on purpose.

    HeronError
    ├── ConfigError          a setting is missing or invalid; names the setting
    ├── MailParseError       bytes that cannot be read as mail at all
    ├── IntelFeedError       a feed file that cannot be read in any known format
    ├── InvalidInput         a value a person sent that heron cannot use
    ├── NotFoundError        an id that names nothing in the store
    ├── ActionError          an action that cannot move to the asked state
    │   ├── ApprovalRequired an action asked to run without an approval
    │   └── PermissionDenied a person deciding what their role does not allow
    └── ConnectorError       a mail system refused or failed an operation

Messages say what went wrong and what to do next.
"""


class HeronError(Exception):
    """Base of every error heron raises on purpose."""


class ConfigError(HeronError):
    """A setting is missing or has a value heron cannot use."""


class MailParseError(HeronError):
    """Input that cannot be read as a message at all."""


class IntelFeedError(HeronError):
    """An intel feed that is in no format heron reads."""


class InvalidInput(HeronError, ValueError):
    """A value a person sent (over the API or the command line) that heron cannot
    use; the message says which and what would do."""


class NotFoundError(HeronError):
    """An id or name that matches nothing in the store."""


class ActionError(HeronError):
    """An action that cannot make the requested transition."""


class ApprovalRequired(ActionError):
    """An action that was asked to run before a person approved it."""


class PermissionDenied(ActionError):
    """A person asked to decide an action their permissions do not cover."""


class ConnectorError(HeronError):
    """A mail system refused or failed an operation."""


class QueryError(HeronError, ValueError):
    """An explorer query that cannot be run: a filter out of its range or shape."""
