"""Readers for event sources other than mail: what users did, as logs record it."""
