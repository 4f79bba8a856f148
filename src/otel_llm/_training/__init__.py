"""Training and measurement of the scoring backends on the public labelled data (numpy only).

`data` reads the labelled files, `logistic` fits the heads, `crossval` splits and scores,
`evaluate` measures every candidate and trains the shipped heads (`scripts/train_heads.py`,
`otel-llm evaluate`).
"""
