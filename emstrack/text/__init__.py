"""Words for people, shared by the pages, the bots, the mails and the API's problem documents.

`catalogue` loads the translations (Babel catalogues under `emstrack/locale`) for a `Lang`;
the modules beside it hold wording that more than one channel uses.
"""
