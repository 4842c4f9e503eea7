"""The chat bots, WeChat's and Telegram's: one conversation (`conversation`, its sentences in
`wording`), and for each platform its protocol, client, bot and the notices' sender."""
