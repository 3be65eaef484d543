"""The owner: first-run creation, sign-in and preferences (``account``), and the training
profile on the Settings page (``training_profile``)."""
