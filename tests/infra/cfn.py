"""Reading synthesized CloudFormation: resources by type, references between them, API paths."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

from infra.topology import Context, Topology

Resource = dict[str, Any]


def _stage_of(topology: Topology, stack_name: str) -> str | None:
    """The stage whose foundation stack is ``stack_name`` (``Keel-Prod-Foundation`` -> ``prod``)."""
    parts = stack_name.split("-")
    if len(parts) != 3 or parts[2] != "Foundation":
        return None
    stage = parts[1].lower()
    return stage if topology.for_stage(stage).foundation_stack_name == stack_name else None


def target(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at (None for anything else)."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def references(value: Any) -> set[str]:
    """Every logical id a ``Ref`` or ``Fn::GetAtt`` anywhere in ``value`` points at."""
    if isinstance(value, list):
        return {lid for item in value for lid in references(item)}
    if isinstance(value, dict):
        pointed = target(value)
        own = {pointed} if pointed else set()
        return own | {lid for item in value.values() for lid in references(item)}
    return set()


def is_preflight(method: dict[str, Any]) -> bool:
    """A CORS preflight method: ``OPTIONS`` answered by API Gateway itself (a mock integration)."""
    return method["HttpMethod"] == "OPTIONS" and method.get("Integration", {}).get("Type") == "MOCK"


def statements(policy: Resource) -> list[dict[str, Any]]:
    """The statements of an ``AWS::IAM::Policy``, each with ``Action`` and ``Resource`` as lists."""
    found = []
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        actions, resources = statement["Action"], statement.get("Resource", [])
        found.append(
            statement
            | {
                "Action": actions if isinstance(actions, list) else [actions],
                "Resource": resources if isinstance(resources, list) else [resources],
            }
        )
    return found


@dataclass
class Stack:
    name: str
    template: dict[str, Any]

    @cached_property
    def assertions(self) -> Template:
        return Template.from_json(self.template)

    def of_type(self, type_: str) -> dict[str, Resource]:
        return {lid: r for lid, r in self.template["Resources"].items() if r["Type"] == type_}

    def props(self, logical_id: str) -> dict[str, Any]:
        return dict(self.template["Resources"][logical_id].get("Properties", {}))

    def function_behind(self, value: Any) -> str:
        """The one function ``value`` (a reference, or an expression such as an alias ARN built from
        one) names: the function itself, or the function behind the alias it names."""
        resources = self.template["Resources"]
        named = set()
        for lid in references(value):
            kind = resources.get(lid, {}).get("Type")
            if kind == "AWS::Lambda::Alias":
                named.add(str(target(resources[lid]["Properties"]["FunctionName"])))
            elif kind == "AWS::Lambda::Function":
                named.add(lid)
        (function,) = named
        return function

    def alias_of(self, function: str) -> str:
        """The logical id of ``function``'s ``live`` alias."""
        (alias,) = [
            lid
            for lid, alias in self.of_type("AWS::Lambda::Alias").items()
            if target(alias["Properties"]["FunctionName"]) == function
        ]
        return alias

    def api_paths(self) -> dict[str, str]:
        """Logical id of every ``AWS::ApiGateway::Resource`` -> its full path (``/v1/billing/{proxy+}``)."""
        resources = self.of_type("AWS::ApiGateway::Resource")

        def path(lid: str) -> str:
            props = resources[lid]["Properties"]
            parent = target(props["ParentId"])
            prefix = path(parent) if parent in resources else ""
            return f"{prefix}/{props['PathPart']}"

        return {lid: path(lid) for lid in resources}

    def methods(self, *, preflights: bool = False) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """(HTTP method, path, properties) of every API method; CORS preflights only if asked."""
        paths = self.api_paths()
        for method in self.of_type("AWS::ApiGateway::Method").values():
            props = method["Properties"]
            if is_preflight(props) and not preflights:
                continue
            yield props["HttpMethod"], paths.get(target(props["ResourceId"]) or "", "/"), props


@dataclass
class Synthesized:
    """One synthesized app: its first stage's topology, output directory and every stack by name
    (of every stage it rendered: ``stage`` gives another stage's view of the same assembly)."""

    topology: Topology
    outdir: Path
    stacks: dict[str, Stack] = field(default_factory=dict)
    stages: tuple[str, ...] = ()

    @classmethod
    def read(cls, topology: Topology, outdir: Path) -> Synthesized:
        stacks = {
            p.name.removesuffix(".template.json"): Stack(
                p.name.removesuffix(".template.json"), json.loads(p.read_text())
            )
            for p in sorted(outdir.glob("*.template.json"))
        }
        # The stages, in the order the app rendered them: each has a foundation stack.
        order = list(json.loads((outdir / "manifest.json").read_text())["artifacts"])
        stages = tuple(
            stage
            for name in order
            for stage in [_stage_of(topology, name)]
            if stage is not None and name == topology.for_stage(stage).foundation_stack_name
        )
        return cls(topology.for_stage(stages[0]), outdir, stacks, stages)

    def stage(self, name: str) -> Synthesized:
        """The same assembly, seen from stage ``name``."""
        assert name in self.stages, f"{name} was not synthesized ({', '.join(self.stages)})"
        return Synthesized(self.topology.for_stage(name), self.outdir, self.stacks, self.stages)

    def stage_stacks(self) -> dict[str, Stack]:
        """The stacks a deploy of this view's stage touches: its own and the account's."""
        names = (self.topology.account_stack_name, *self.topology.stack_names)
        return {name: self.stacks[name] for name in names}

    def of(self, ctx: Context) -> Stack:
        return self.stacks[ctx.stack_name]

    @property
    def api(self) -> Stack:
        return self.stacks[self.topology.api_stack_name]

    @property
    def foundation(self) -> Stack:
        return self.stacks[self.topology.foundation_stack_name]

    def functions(self, ctx: Context) -> dict[str, Resource]:
        """Every Lambda function of ``ctx``'s stack, by logical id."""
        return self.of(ctx).of_type("AWS::Lambda::Function")

    def every(self, type_: str) -> Iterator[tuple[Stack, str, Resource]]:
        """Every resource of ``type_`` a deploy of this view's stage touches."""
        for stack in self.stage_stacks().values():
            for lid, resource in stack.of_type(type_).items():
                yield stack, lid, resource
