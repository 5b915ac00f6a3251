"""How the rules run the lazy queries they build.

A rule over a day's touched loans works on small frames (a few thousand rows): an eager Polars
operation costs about the same fixed overhead whatever the size, so the rules chain their
operations lazily and collect once, where a frame is needed (a test for emptiness, a result read
twice). They collect on the in-memory engine: Polars' default engine choice ("auto") may run a
lazy query on the streaming engine, whose start-up costs more per query than these frames take to
compute (a close's day step measured about half again slower that way). Results are the same.
"""

ENGINE = "in-memory"
