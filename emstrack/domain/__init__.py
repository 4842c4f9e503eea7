"""Pure domain logic: tracking numbers, event codes, times and status. No I/O, no frameworks."""
