"""E-mail tracking: the open pixel and signed click links of the messages we send, and the
`email_open` / `email_click` activities they record (ADR 0032).

A sender instruments a message just before it goes into the outbox, in its own transaction:

    policy = mailtrack.policy.policy_of(session)
    done = mailtrack.instrument.instrument(
        html=html, text=text, person_id=pid, message=outbox_key, sent_at=now,
        base_url=policy.public_url, signer=policy.signer, source=Source(sequence="welcome", step="hello"),
    )
    outbox.enqueue(session, outbox_key, "email", {..., "html": done.html, "body": done.text})

The public endpoints (public_web.py) record each hit through capture, as `MailTracked` events.
"""
