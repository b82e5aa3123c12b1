"""Standard jobs (SOP): steps, safety notes, standard parts and labour time per job kind."""
