"""The bot's own routes (`/api/v1/bot/...`): everything the bot may do, for one conversation.

Every route names the conversation (the chat) the bot acts for; the portal works out which
customer, if any, that chat has proven to be (a channel identity bound by a one-time code)
and answers for that customer only. The bot can never name a customer, and its service
token opens no desk route.
"""
