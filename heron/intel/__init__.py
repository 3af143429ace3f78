"""Intel: threat-intelligence feeds and the organisation's allow and block list.

Feeds are local files (no network at run time). ``heron.intel.feeds.load_feed`` reads
one file in any format heron knows and ``load_feeds`` many into an ``IntelIndex``,
which answers lookups for urls, domains, hashes, ips and ip networks.
``heron.intel.lists`` holds the organisation's allow and block list (``OrgLists``).
"""
