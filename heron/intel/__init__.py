"""Intel: threat-intelligence feeds and the organisation's allow and block list.

Feeds are local files (no network at run time). ``load_feed`` reads one file in any
format heron knows; ``IntelIndex`` answers lookups for urls, domains, hashes and ips.
"""
