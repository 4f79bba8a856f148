"""Quality scoring end to end: the span processor, records from other instrumentations' spans, the scorer,
the evaluators and the recorder of the quality histograms."""
