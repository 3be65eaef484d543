"""Pure training science: numpy arrays in, numbers out. No database, no network, no clock."""
