"""The end of business day: every calendar day closed in order, each committed on its own."""
