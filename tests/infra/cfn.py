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


def target(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at (None for anything else)."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


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
    """One synthesized app: its topology, output directory and stacks by name."""

    topology: Topology
    outdir: Path
    stacks: dict[str, Stack] = field(default_factory=dict)

    @classmethod
    def read(cls, topology: Topology, outdir: Path) -> Synthesized:
        stacks = {
            p.name.removesuffix(".template.json"): Stack(
                p.name.removesuffix(".template.json"), json.loads(p.read_text())
            )
            for p in sorted(outdir.glob("*.template.json"))
        }
        return cls(topology, outdir, stacks)

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
        for stack in self.stacks.values():
            for lid, resource in stack.of_type(type_).items():
                yield stack, lid, resource
