"""The agent console: queue, live chats with customers, tools, and supervision."""
