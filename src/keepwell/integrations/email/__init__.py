"""Email in (issue 15 section 3): parse.py reads a message, apply.py files it through the
import, client.py (the only module importing imapclient) polls a shared inbox."""
