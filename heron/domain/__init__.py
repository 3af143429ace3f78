"""Domain: heron's vocabulary and the pure rules that move between its states.

Nothing here does I/O. Every other layer speaks in these types.
"""
