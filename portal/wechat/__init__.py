"""The portal's side of the WeChat official account: followers and their phone binding, the
shared access token, delivery failures staff must see, and the decisions the channel
adapter (channels/wechat) leaves to the portal."""
