"""Helpers shared by the tests: the shipped Glorot file, and copies of it with one field changed."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from derivation.loader import loads
from derivation.kernel.rules import arities
from derivation.verify import verify

ARITIES = arities()
GLOROT_TEXT = (resources.files("derivation") / "derivations" / "glorot.toml").read_text(encoding="utf-8")


def replace_field(text: str, step_id: str, field: str, value: str) -> str:
    """The derivation text with ``field`` of step ``step_id`` set to ``value`` (a TOML basic string)."""
    block = re.search(rf'\[\[sections\.steps\]\]\nid = "{step_id}"\n(.*?)(?=\n\[\[|\Z)', text, re.S)
    assert block, f"no step {step_id}"
    body = block.group(1)
    line = re.search(rf"^{field} = .*$", body, re.M)
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    new_body = (body[: line.start()] + f'{field} = "{escaped}"' + body[line.end():]) if line \
        else body + f'\n{field} = "{escaped}"'
    return text[: block.start(1)] + new_body + text[block.end(1):]


def glorot_with(step_id: str, claim: str, field: str = "claim"):
    """Load the shipped Glorot derivation with one step's claim (or other field) replaced."""
    return loads(replace_field(GLOROT_TEXT, step_id, field, claim), "glorot.toml", ARITIES, name="glorot")


def verify_with(step_id: str, claim: str, activation: str | None = None):
    return verify(glorot_with(step_id, claim), activation)


def failed_ids(result) -> list[str]:
    return [r.step.id for r in result.steps if not r.ok]


@pytest.fixture(scope="session")
def glorot():
    return loads(GLOROT_TEXT, "glorot.toml", ARITIES, name="glorot")


@pytest.fixture(scope="session")
def glorot_result(glorot):
    return verify(glorot)


def make_context(symbols, definitions=(), facts=None, activation=None, subject=None, rectifier=None, relations=(),
                 input_rules=(), input_premises=None):
    """A rule context whose model has one cited assumption declaring ``facts`` (kind -> family names)."""
    from derivation.kernel.derivation import Assumption
    from derivation.kernel.model import Model
    from derivation.kernel.rules import Context
    facts = facts or {}
    cited = (Assumption("T", "test", "test premises", **{k: frozenset(v) for k, v in facts.items()}),)
    model = Model(dict(symbols), tuple(definitions), cited, activation)
    return Context(symbols, tuple(definitions), model, activation, subject, rectifier, relations, input_rules,
                   input_premises or {})
