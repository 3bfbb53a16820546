"""The one intake pipeline every action takes: bind the wire body, check it into a command, authorize and write.

    body --bind (schemas.py)--> parameters --check (commands.py)--> DeliveryCommand (a bulk action: a BulkCommand
         of them) --group commit: authorize + one set-based write (service.py)--> Accepted

Binding and the check need no database and run on the event loop (a bulk action's in a worker thread, being
up to 15,000 contacts long); a problem they find is reported only after
the caller's privilege is known (in the unit of work), so a user without an Omnichannel role gets 403 whatever
the (well-formed JSON) body says. A new action is one `Action` entry: its parameters and its check.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from starlette.concurrency import run_in_threadpool

from ccaas_emulator import collector
from ccaas_emulator.auth.tokens import Principal
from ccaas_emulator.clock import Clock
from ccaas_emulator.db.transaction import GroupCommit
from ccaas_emulator.intake import commands, schemas, service
from ccaas_emulator.intake.commands import Command
from ccaas_emulator.intake.schemas import (
    ActionParameters,
    CreateProactiveBulkDeliveryParameters,
    CreateProactiveDeliveryBulkV2Parameters,
    CreateProactiveDeliveryParameters,
    CreateProactiveSMSDeliveryParameters,
    CreateProactiveVoiceDeliveryParameters,
    CreateSimpleProactiveDeliveryParameters,
)
from ccaas_emulator.wire.errors import DataverseError

P = TypeVar("P", bound=ActionParameters)


@dataclass(frozen=True)
class Action(Generic[P]):
    """An intake action: the parameters its body binds to, and the check that makes them a command."""

    parameters: type[P]
    check: Callable[[P], Command]

    @property
    def name(self) -> str:
        return self.parameters.action

    @property
    def bulk(self) -> bool:
        """Up to 15,000 contacts a call: a larger body limit, and checked off the event loop."""
        return self.parameters in schemas.BULK_ACTIONS

    def command_for(self, body: Any) -> Command | DataverseError:
        """The body's command, or the first problem with it (reported after authorization)."""
        try:
            with collector.paused() if self.bulk else nullcontext():  # 15,000 contacts' objects, none garbage
                return self.check(self.parameters.bind(body))
        except DataverseError as exc:
            return exc


_CHECKS: dict[type[ActionParameters], Callable[[Any], Command]] = {
    CreateProactiveVoiceDeliveryParameters: commands.check_voice_delivery,
    CreateProactiveDeliveryParameters: commands.check_proactive_delivery,
    CreateSimpleProactiveDeliveryParameters: commands.check_simple_delivery,
    CreateProactiveSMSDeliveryParameters: commands.check_sms_delivery,
    CreateProactiveBulkDeliveryParameters: commands.check_bulk_delivery,
    CreateProactiveDeliveryBulkV2Parameters: commands.check_bulk_delivery,
}
ACTIONS: tuple[Action[Any], ...] = tuple(Action(parameters, _CHECKS[parameters]) for parameters in schemas.ACTIONS)
"""Every intake action (schemas.ACTIONS lists their wire shapes), served under each Web API version."""


async def submit(
    action: Action[Any], body: Any, *, principal: Principal, clock: Clock, group_commit: GroupCommit
) -> service.Accepted:
    """Run one request through the pipeline; returns once its rows are committed, or raises its refusal."""
    # A bulk body of 15,000 contacts takes a good fraction of a second to check: not on the event loop.
    command = await run_in_threadpool(action.command_for, body) if action.bulk else action.command_for(body)
    submission = service.Submission(principal, action.name, command, clock)
    accepted: service.Accepted = await group_commit.run(service.write, submission)
    return accepted
