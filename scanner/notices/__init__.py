"""Customer notices: rendering (compose), the outbox, and delivery over SMTP or to .eml files."""
