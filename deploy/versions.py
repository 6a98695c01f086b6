"""Worker Versioning on the Temporal server: build ids, the current version, and what is still
pinned to an old one.

Parley's workers form one worker deployment (`PARLEY_DEPLOYMENT_NAME`, `parley`); the workers of
one build are one version of it. New workflows start on the current version; request and
session workflows are PINNED, so a running one finishes on the build it started on. temporalio
has no client API for deployments yet, so these are the raw WorkflowService calls.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from temporalio.api.deployment.v1 import WorkerDeploymentVersion as VersionRef
from temporalio.api.enums.v1 import VersionDrainageStatus, WorkerDeploymentVersionStatus
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    DescribeWorkerDeploymentResponse,
    DescribeWorkerDeploymentVersionRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client
from temporalio.common import WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import WorkerDeploymentConfig
from tenacity import retry, retry_if_exception, stop_after_delay, wait_exponential

REPO = Path(__file__).resolve().parents[1]
IDENTITY = "parley-deploy"

# The server rate-limits calls about one deployment ("too many requests issued to Worker
# Deployment"); such a refusal is retried with backoff, anything else is not.
patient = retry(
    retry=retry_if_exception(
        lambda error: (
            isinstance(error, RPCError) and error.status == RPCStatusCode.RESOURCE_EXHAUSTED
        )
    ),
    wait=wait_exponential(multiplier=0.2, max=5),
    stop=stop_after_delay(60),
    reraise=True,
)


def package_version() -> str:
    """Parley's version as installed (pyproject.toml)."""
    try:
        return version("parley")
    except PackageNotFoundError:
        return "0.0.0"


def default_build_id() -> str:
    """The package version plus the git commit where there is one (`0.3.0+g1a2b3c4`)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=10", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return package_version()
    return f"{package_version()}+g{commit}" if commit else package_version()


def deployment_config(deployment_name: str, build_id: str) -> WorkerDeploymentConfig:
    """A worker that is this build's version of the deployment (workflows say PINNED or not)."""
    return WorkerDeploymentConfig(
        version=WorkerDeploymentVersion(deployment_name=deployment_name, build_id=build_id),
        use_worker_versioning=True,
    )


@dataclass(frozen=True)
class VersionState:
    """What the server says of one version of the deployment."""

    build_id: str
    status: str  # CURRENT, RAMPING, DRAINING, DRAINED, INACTIVE
    drainage: str  # UNSPECIFIED, DRAINING, DRAINED
    running_pinned: int


@patient
async def describe_version(
    client: Client, deployment_name: str, build_id: str
) -> VersionState | None:
    """The version's state, or None while the server has not seen a worker of it poll."""
    try:
        described = await client.workflow_service.describe_worker_deployment_version(
            DescribeWorkerDeploymentVersionRequest(
                namespace=client.namespace,
                deployment_version=VersionRef(deployment_name=deployment_name, build_id=build_id),
            )
        )
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    info = described.worker_deployment_version_info
    return VersionState(
        build_id=build_id,
        status=WorkerDeploymentVersionStatus.Name(info.status).removeprefix(
            "WORKER_DEPLOYMENT_VERSION_STATUS_"
        ),
        drainage=VersionDrainageStatus.Name(info.drainage_info.status).removeprefix(
            "VERSION_DRAINAGE_STATUS_"
        ),
        running_pinned=await running_pinned(client, deployment_name, build_id),
    )


async def running_pinned(client: Client, deployment_name: str, build_id: str) -> int:
    """How many running workflows are on this version (visibility; answers at once)."""
    return (await client.count_workflows(running_on(deployment_name, build_id))).count


def running_on(deployment_name: str, build_id: str) -> str:
    """The visibility query for the running workflows on this version."""
    return (
        f'TemporalWorkerDeploymentVersion = "{deployment_name}:{build_id}" '
        'AND ExecutionStatus = "Running"'
    )


async def _describe_deployment(
    client: Client, deployment_name: str
) -> DescribeWorkerDeploymentResponse | None:
    """The deployment as the server describes it, or None if there is none yet."""
    try:
        return await client.workflow_service.describe_worker_deployment(
            DescribeWorkerDeploymentRequest(
                namespace=client.namespace, deployment_name=deployment_name
            )
        )
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


@patient
async def current_build(client: Client, deployment_name: str) -> str | None:
    """The build id of the current version, or None if there is none (or no deployment yet)."""
    described = await _describe_deployment(client, deployment_name)
    if described is None:
        return None
    current = described.worker_deployment_info.routing_config.current_deployment_version
    return current.build_id or None


@patient
async def versions(client: Client, deployment_name: str) -> list[VersionState]:
    """Every version the deployment has seen, newest first."""
    described = await _describe_deployment(client, deployment_name)
    if described is None:
        return []
    summaries = sorted(
        described.worker_deployment_info.version_summaries,
        key=lambda summary: summary.create_time.ToDatetime(),
        reverse=True,
    )
    found = []
    for summary in summaries:
        state = await describe_version(client, deployment_name, summary.deployment_version.build_id)
        if state is not None:
            found.append(state)
    return found


async def wait_for_version(
    client: Client, deployment_name: str, build_id: str, timeout_seconds: float = 60.0
) -> None:
    """Wait until a worker of this build has polled, so that the version can be made current."""
    deadline = time.monotonic() + timeout_seconds
    while await describe_version(client, deployment_name, build_id) is None:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"no worker of build {build_id!r} has polled for {timeout_seconds:.0f} s: "
                "start one with PARLEY_BUILD_ID set to it"
            )
        await asyncio.sleep(1.0)


@patient
async def set_current(client: Client, deployment_name: str, build_id: str) -> str | None:
    """Make this build the current version; the build that was current before, if any."""
    before = await current_build(client, deployment_name)
    if before != build_id:
        await client.workflow_service.set_worker_deployment_current_version(
            SetWorkerDeploymentCurrentVersionRequest(
                namespace=client.namespace,
                deployment_name=deployment_name,
                build_id=build_id,
                identity=IDENTITY,
            )
        )
    return before


async def make_current_when_polling(
    client: Client, deployment_name: str, build_id: str, timeout_seconds: float = 60.0
) -> str | None:
    """Wait for this build's workers to poll, then make it current; the build before it."""
    await wait_for_version(client, deployment_name, build_id, timeout_seconds)
    return await set_current(client, deployment_name, build_id)
