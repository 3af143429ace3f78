"""A small sample organisation written by the project for the demo and the tests.

Every message here is made up: example.org is the organisation, and the phishing
senders live under the reserved ``.test`` and ``.example`` names, so nothing points at a
real site.
"""
