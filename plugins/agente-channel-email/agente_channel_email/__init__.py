"""E-mail channel for Agente over IMAP and SMTP (see docs and agente.mail)."""
