"""The public website: the demo page that embeds the chat widget."""
