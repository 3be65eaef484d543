"""The coach's services (each owns its transactions): what may reach its language model
(``ai_policy``), the language model's settings (``config``), every call to it — budget first,
each request recorded (``llm``, ``audit``) —, what the coach sees (``context``), the guideline
library and its retrieval (``library``), and the read models of Settings → Coach (``pages``)."""
