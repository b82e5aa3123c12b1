"""Staff administration: accounts, 2-step verification and agent teams."""
