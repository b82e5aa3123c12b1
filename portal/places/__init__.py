"""Places: addresses read into province / city / district with jionlp, and coverage compared
on those names."""
