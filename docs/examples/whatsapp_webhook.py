"""Consent replies straight from WhatsApp: the webhook of a small FastAPI app (see docs/consent.md).

Meta calls ``POST /whatsapp`` with every message a person sends to the business's number. The handler passes
the raw body and its ``X-Hub-Signature-256`` header to ``Vault.take_webhook``, which checks the signature
with the app secret, records each reply code as a consent and each STOP as a withdrawal, once per message
however often Meta delivers it. ``GET /whatsapp`` answers Meta's check when the webhook is set up.

Run it with ``uvicorn whatsapp_webhook:app`` and these variables: ``CONTACTVAULT_VAULT`` (the vault),
``CONTACTVAULT_PASSPHRASE_FILE`` (its passphrase, first line), ``WHATSAPP_APP_SECRET`` (the Meta app's
secret) and ``WHATSAPP_VERIFY_TOKEN`` (the token typed into Meta's webhook settings).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from contactvault import Vault, WebhookError


def passphrase() -> str:
    """The vault's passphrase: the first line of ``CONTACTVAULT_PASSPHRASE_FILE``."""
    with open(os.environ["CONTACTVAULT_PASSPHRASE_FILE"], encoding="utf-8") as stream:
        return stream.readline().rstrip("\n")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the vault once per worker process; every request shares it."""
    with Vault.open(os.environ["CONTACTVAULT_VAULT"], passphrase()) as vault:
        app.state.vault = vault
        yield


app = FastAPI(lifespan=lifespan)


@app.get("/whatsapp", response_class=PlainTextResponse)
def verify(
    mode: Annotated[str, Query(alias="hub.mode")],
    token: Annotated[str, Query(alias="hub.verify_token")],
    challenge: Annotated[str, Query(alias="hub.challenge")],
) -> str:
    """Meta's check when the webhook is set up: echo the challenge if the token is ours."""
    if mode != "subscribe" or not hmac.compare_digest(token, os.environ["WHATSAPP_VERIFY_TOKEN"]):
        raise HTTPException(status_code=403)
    return challenge


@app.post("/whatsapp")
async def receive(request: Request) -> dict[str, int]:
    """Take one call: the raw body (the signature is over its bytes) and the signature header."""
    body = await request.body()
    try:
        report = await run_in_threadpool(  # the vault's work is blocking: off the event loop
            app.state.vault.take_webhook,
            body,
            signature=request.headers.get("X-Hub-Signature-256"),
            app_secret=os.environ["WHATSAPP_APP_SECRET"],
        )
    except WebhookError:  # a wrong or missing signature, or not a WhatsApp payload: nothing recorded
        raise HTTPException(status_code=403) from None
    return {"messages": report.messages, "recorded": report.recorded}
