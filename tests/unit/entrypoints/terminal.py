"""Scripted terminals for the commands that ask for keys and passphrases."""

from __future__ import annotations


class ScriptedPrompt:
    """A terminal that answers from a script and remembers what it was asked."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def __call__(self, question: str) -> str:
        self.asked.append(question)
        if not self.answers:
            raise AssertionError(f"asked more than scripted: {question!r}")
        return self.answers.pop(0)


class ClosedTerminal:
    """A terminal whose input ends at once (Ctrl-D)."""

    def __call__(self, question: str) -> str:
        raise EOFError


class InterruptedTerminal:
    """A terminal where the user presses Ctrl-C."""

    def __call__(self, question: str) -> str:
        raise KeyboardInterrupt
