"""Which RBAC rules the operator lacks, for /readyz and the logs.

Two sources: a review at start and every ``REVIEW_EVERY`` seconds
(SelfSubjectAccessReview, which every authenticated identity may create) of
each rule ``okr run`` needs, and the answers of real calls (a status patch or
an Event refused with 403 records its rule; the next success clears it). A
missing rule makes the operator unready with a message naming verb and
resource; it is never reported on a user object, which is not at fault.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from kubernetes import client

log = logging.getLogger("okr_operator.access")
T = TypeVar("T")
REVIEW_EVERY = 30.0
GROUP = "okr.dev"
# What okr run lists and watches; the engine starts only once it may.
WATCHED = ("keyresults", "objectives", "checkins", "prometheussources")
CLUSTER_WATCHED = ("clusterprometheussources",)


@dataclass(frozen=True, slots=True, order=True)
class Rule:
    """One verb on one resource, where: ``patch keyresults/status (okr.dev) in team-a``."""

    verb: str
    resource: str
    group: str = GROUP
    subresource: str = ""
    namespace: str = ""  # "" with a namespaced resource: in all namespaces

    def __str__(self) -> str:
        name = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        group = f".{self.group}" if self.group else ""
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.verb} {name}{group}{where}"

    @property
    def watch(self) -> bool:
        """A rule the watches need (list or watch)."""
        return self.verb in ("list", "watch")


def required_rules(namespaces: Sequence[str]) -> list[Rule]:
    """The rules ``okr run`` needs to watch and write, for its namespaces ([] = all)."""
    places = list(namespaces) or [""]
    rules = [
        Rule(verb, resource, namespace=place)
        for place in places
        for resource in WATCHED
        for verb in ("list", "watch")
    ]
    rules += [Rule(verb, resource) for resource in CLUSTER_WATCHED for verb in ("list", "watch")]
    rules += [
        Rule("patch", resource, subresource="status", namespace=place)
        for place in places
        for resource in ("keyresults", "objectives", "checkins")
    ]
    rules += [Rule("create", "events", group="", namespace=place) for place in places]
    return rules


class Permissions:
    """The missing rules known from the last review and from refused calls."""

    def __init__(self) -> None:
        self._reviewed: set[Rule] = set()
        self._refused: set[Rule] = set()
        self._watchable = asyncio.Event()

    def refused(self, rule: Rule) -> None:
        """A real call needing ``rule`` was answered 403."""
        if rule not in self._refused:
            log.warning(
                "Forbidden: the operator lacks an RBAC rule; unready until it is granted",
                extra={"rule": str(rule)},
            )
        # Copy on write: /readyz reads these from the metrics server's thread.
        self._refused = self._refused | {rule}

    def allowed(self, rule: Rule) -> None:
        """A real call needing ``rule`` went through."""
        if rule in self._refused:
            log.info("RBAC rule granted again", extra={"rule": str(rule)})
        self._refused = self._refused - {rule}

    def reviewed(self, missing: Iterable[Rule]) -> None:
        """The result of one access review: every rule not granted."""
        now = set(missing)
        for rule in sorted(now - self._reviewed):
            log.warning(
                "Forbidden: the operator lacks an RBAC rule; unready until it is granted",
                extra={"rule": str(rule)},
            )
        for rule in sorted(self._reviewed - now):
            log.info("RBAC rule granted", extra={"rule": str(rule)})
        self._refused = self._refused - (self._reviewed - now)
        self._reviewed = now
        if any(rule.watch for rule in now):
            self._watchable.clear()
        else:
            self._watchable.set()

    def missing(self) -> list[Rule]:
        """Every rule known to be missing, sorted."""
        return sorted(self._reviewed | self._refused)

    def problem(self) -> str | None:
        """``forbidden: missing RBAC rules: list objectives.okr.dev, ...`` or None."""
        missing = self.missing()
        if not missing:
            return None
        return "forbidden: missing RBAC rules: " + ", ".join(str(rule) for rule in missing)

    async def wait_watchable(self) -> None:
        """Return once a review found every list and watch rule granted."""
        await self._watchable.wait()


class AccessReviewer:
    """Asks the API server, by SelfSubjectAccessReview, which rules are granted."""

    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        executor: ThreadPoolExecutor,
        rules: Sequence[Rule],
        permissions: Permissions,
    ) -> None:
        self._api = client.AuthorizationV1Api(api_client)
        self._executor = executor
        self._rules = list(rules)
        self._permissions = permissions

    async def _call(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _allowed(self, rule: Rule) -> bool:
        review = client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(
                    verb=rule.verb,
                    group=rule.group,
                    resource=rule.resource,
                    subresource=rule.subresource or None,
                    namespace=rule.namespace or None,
                )
            )
        )
        answer = self._api.create_self_subject_access_review(review)
        return bool(answer.status and answer.status.allowed)

    async def review(self) -> None:
        """Review every rule once; an unreachable API server changes nothing."""
        missing = []
        try:
            for rule in self._rules:
                if not await self._call(lambda rule=rule: self._allowed(rule)):  # type: ignore[misc]
                    missing.append(rule)
        except Exception as err:
            log.warning("Access review failed; trying again later", extra={"error": str(err)})
            return
        self._permissions.reviewed(missing)

    async def run(self, every: float = REVIEW_EVERY) -> None:
        """Review now and every ``every`` seconds until cancelled."""
        while True:
            await self.review()
            await asyncio.sleep(every)
