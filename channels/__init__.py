"""Customer channels: each folder translates one wire format to and from ChannelMessage."""
