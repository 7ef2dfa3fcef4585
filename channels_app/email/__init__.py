"""The email channel.

parse.py       raw RFC 822 bytes → ParsedEmail (pure; charsets, RFC 2047/2231, quotes, noise markers; never raises)
threads.py     subject prefixes, [#number] references, reply chains (pure)
loops.py       when an automatic acknowledgement is allowed (pure)
inbound.py     email_ingest (→ ticketing.inbound.inbound_ingest, RawEmail, bounces, acknowledgements) and the IMAP
               poller mailbox_poll: each message, its raw bytes and the mailbox's last UID commit together
batch.py       what the poller looks up once a batch (senders, threads, [#number] subjects) and writes together
               (new customers, raw emails, ticket numbers); the per-message ingest reads its answers
parse_child.py the poller's parser process: parses and compresses the next fetched batch while this one is stored
               (any trouble with it: parsed in the poller as before)
outbound.py    the outbox: queued email replies → OutboundEmail rows, claimed in chunks with a conditional UPDATE,
               sent, retried with backoff, failures recorded on the ticket message
smtp_session.py SMTP sessions kept open for a round of the outbox (aiosmtplib, no ORM): an outcome per message
connection.py  the mailbox "test connection" check (admin action and API)

Worker duties (channels_app/duties.py): poll_mailboxes, send_email; commands: poll_mailboxes --once, send_email --once.
"""
