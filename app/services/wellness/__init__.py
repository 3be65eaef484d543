"""Daily wellness: every source's values and which one wins each metric group (``origins``), and
the trends the Wellness page and the dashboard's "last night" card read (``trends``)."""
