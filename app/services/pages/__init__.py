"""What the pages read, one read model each: the dashboard, the activities, the insights
(``correlations``, ``insights``), the banners every page carries (``attention``) and what
/healthz and ``domestique check`` report (``status``)."""
