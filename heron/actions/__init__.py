"""Actions: remediation types, the approval rule, execution and undo through connectors."""
