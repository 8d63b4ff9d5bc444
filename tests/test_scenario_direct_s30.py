"""The direct scenario builder makes its instances in one call of pydantic-core (`_instance`), or,
when pydantic-core would take the model's own validator instead (the model validated before the
builder was made), with `__new__` and the four setters as before; both give pydantic's instances.

Which of the two a model gets depends on what ran first in the process, so each order runs in a
fresh interpreter: the builder first (a billing run's order: every model made by pydantic-core) and
pydantic first (every model validated before: a model without after-validators made by the
setters). Either way every shipped sample, every line of the sample run and the criteria
benchmark's scenarios are built equal to `Scenario.model_validate`'s in every value, type,
`model_fields_set`, extra and private; each instance has its own `__dict__` and fields set (a
`set`, which `model_copy(update=...)` extends on its copy alone).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

_CHILD = """
import json, random, sys, typing
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/benchmarks"]
from pydantic import BaseModel, ValidationError
import criteria
from engine.models import _scenario_direct as direct
from engine.models._direct import _split
from engine.models.scenario import Scenario
from tests.test_decide_differential import SAMPLES
from tests.test_scenario_speed_direct import RUN_LINES
from tests.test_validate_speed_models import _same


def models(model, found):
    found.setdefault(model.__name__, model)
    for info in model.model_fields.values():
        stack = [info.annotation]
        while stack:
            annotation = _split(stack.pop(), [])[0]
            stack.extend(typing.get_args(annotation))
            if isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation.__name__ not in found:
                models(annotation, found)
    return found


def instances(value):
    if isinstance(value, BaseModel):
        yield value
        for item in value.__dict__.values():
            yield from instances(item)
    elif isinstance(value, list | dict):
        for item in value.values() if isinstance(value, dict) else value:
            yield from instances(item)


every = models(Scenario, {})
if sys.argv[2] == "pydantic":
    for model in every.values():
        try:
            model.model_validate({})  # builds (and keeps) the model's own validator
        except ValidationError:
            pass
data = [{k: v for k, v in d.items() if k != "expect"} for _, d in SAMPLES] + RUN_LINES
rng = random.Random(criteria.SEED + 1)
data += [criteria.make_scenario(i, rng) for i in range(300)]
build = direct.scenario_builder()
checked = 0
for d in data:
    built = build(d)
    wanted = Scenario.model_validate(d)
    _same(built, wanted, "scenario")
    again = build(d)
    for one, other in zip(instances(built), instances(again), strict=True):
        assert type(one.__pydantic_fields_set__) is set and one.__pydantic_private__ is None
        assert one.__dict__ is not other.__dict__ and one.model_fields_set is not other.model_fields_set
        checked += 1
    fields = set(built.model_fields_set)
    copy = built.model_copy(update={"id": "changed"})
    assert copy.model_fields_set == fields | {"id"} and built.model_fields_set == fields
print(json.dumps({"made": {name: direct._instance(m) is not None for name, m in every.items()}, "checked": checked}))
"""


def _run(first: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(REPO), first], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


@pytest.mark.parametrize("first", ["builder", "pydantic"])
def test_both_ways_of_making_instances_give_pydantics_scenarios(first: str) -> None:
    result = _run(first)
    made = result["made"]
    assert isinstance(made, dict) and len(made) > 20
    if first == "builder":
        assert set(made.values()) == {True}, made
    else:  # (pydantic-core keeps its own validator of a model without after-validators, such as these)
        assert made["Scenario"] is False and made["Account"] is False and made["UsageRecord"] is False, made
    assert isinstance(result["checked"], int) and result["checked"] > 3000
