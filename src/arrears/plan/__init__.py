"""``arrears plan``: the day's compliant plan, made from the strategies and written out (shell)."""
