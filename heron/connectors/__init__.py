"""Connectors: the code that talks to real mail systems.

Each connector states the operations it supports; actions run only through them.
"""
