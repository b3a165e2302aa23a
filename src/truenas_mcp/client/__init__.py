"""Asyncio client for the TrueNAS SCALE 25.04 JSON-RPC 2.0 WebSocket API.

``TrueNASClient`` is the entry point; ``ClientConfig`` says where and how to log in. See the modules for
the pieces: ``connection`` (multiplexed calls), ``jobs``, ``events``, ``files`` (upload/download),
``transport`` (URL and TLS checks), ``errors`` (typed exceptions).
"""

from truenas_mcp.client.client import TrueNASClient
from truenas_mcp.client.config import ClientConfig, Credential
from truenas_mcp.client.errors import (
    AuthenticationError,
    CallError,
    CallTimeoutError,
    ClientClosedError,
    ClientConfigError,
    ConnectionLostError,
    FieldError,
    InsecureTransportError,
    JobAbortedError,
    JobError,
    JobFailedError,
    JobNotFoundError,
    JobWaitTimeoutError,
    MessageTooLargeError,
    MethodNotFoundError,
    NotAuthenticatedError,
    NotAuthorizedError,
    NotConnectedError,
    ProtocolError,
    RPCError,
    SubscriptionError,
    TooManyCallsError,
    TransferError,
    TrueNASError,
    ValidationError,
)
from truenas_mcp.client.events import Event, EventStream
from truenas_mcp.client.jobs import Job, JobHandle, JobProgress

__all__ = [
    "AuthenticationError",
    "CallError",
    "CallTimeoutError",
    "ClientClosedError",
    "ClientConfig",
    "ClientConfigError",
    "ConnectionLostError",
    "Credential",
    "Event",
    "EventStream",
    "FieldError",
    "InsecureTransportError",
    "Job",
    "JobAbortedError",
    "JobError",
    "JobFailedError",
    "JobHandle",
    "JobNotFoundError",
    "JobProgress",
    "JobWaitTimeoutError",
    "MessageTooLargeError",
    "MethodNotFoundError",
    "NotAuthenticatedError",
    "NotAuthorizedError",
    "NotConnectedError",
    "ProtocolError",
    "RPCError",
    "SubscriptionError",
    "TooManyCallsError",
    "TransferError",
    "TrueNASClient",
    "TrueNASError",
    "ValidationError",
]
