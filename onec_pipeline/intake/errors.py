"""The one error of the intake layer."""

from __future__ import annotations


class IntakeError(Exception):
    """An upload cannot be archived (hostile zip, unreadable files...)."""
