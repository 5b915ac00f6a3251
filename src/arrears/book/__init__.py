"""The loan book: products, schedules, and (from Foundation II) the day step. Pure; no storage."""
